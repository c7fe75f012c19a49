"""Request cost through whole middleware stacks, in this process.

Real sessions (signed in through the demo's own views with real TOTP codes)
replayed through ``WSGIHandler``s that differ only in their middleware, and
through ``ASGIHandler``s on one event loop (the async middleware path).
"""

from __future__ import annotations

import asyncio
import io
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.handlers.asgi import ASGIHandler
from django.core.handlers.wsgi import WSGIHandler
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from bench.timing import interleaved

TRUST = "trust.middleware.TrustMiddleware"
DJANGO_OTP = "django_otp.middleware.OTPMiddleware"
SESSION = "django.contrib.sessions.middleware.SessionMiddleware"
AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
IP = "203.0.113.7"
PASSWORD = "benchmarks are not tests"
HOSTILE_UA = CHROME + " " + ("(compatible; " * 10_000)[:100_000]
LONGEST_UA = HOSTILE_UA[:512]  # what MAX_USER_AGENT_LENGTH keeps of it
HOSTILE_XFF = ", ".join(f"198.51.{n // 250}.{n % 250 + 1}" for n in range(700))[:10_000]


def stacks() -> dict[str, list[str]]:
    demo = list(settings.MIDDLEWARE)
    django_only = [m for m in demo if m != TRUST]
    return {
        "django": django_only,
        "trustgate": demo,
        "django-otp": [DJANGO_OTP if m == TRUST else m for m in demo],
        "session+auth": [SESSION, AUTH],
        "session+auth+trustgate": [SESSION, AUTH, TRUST],
    }


def handler(middleware: list[str]) -> WSGIHandler:
    settings.MIDDLEWARE = middleware
    return WSGIHandler()  # loads the middleware chain now


def environ(cookie: str = "", user_agent: str = CHROME, **extra: str) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/bench/",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": IP,
        "HTTP_HOST": "127.0.0.1",
        "HTTP_USER_AGENT": user_agent,
        "HTTP_COOKIE": cookie,
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        **extra,
    }


def request(app: WSGIHandler, env: dict) -> str:
    status: list[str] = []
    body = app(dict(env, **{"wsgi.input": io.BytesIO()}), lambda s, h, e=None: status.append(s))
    for _chunk in body:
        pass
    body.close()
    return status[0]


@dataclass
class Sessions:
    trusted: str  # Cookie header of a session let in by a trusted device
    otp: str  # a session that entered a code
    pending: str  # a session that owes a code


def _code(device: TOTPDevice, at: float) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at
    return f"{totp.token():06d}"


def _cookie_header(client: Client) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def _signed_in(user_agent: str, client: Client | None = None) -> Client:
    client = client or Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=IP)
    response = client.post("/accounts/login/", {"username": "bench", "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def prepare() -> Sessions:
    """A user with 2FA and three real sessions made through the demo's views."""
    call_command("migrate", verbosity=0)
    settings.ROOT_URLCONF = "bench.urls"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_user("bench", "bench@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    now = time.time()

    trusted = _signed_in(CHROME)
    verified = trusted.post("/2fa/verify/", {"otp_token": _code(device, now), "trust_device": "on"})
    assert verified.status_code == 302
    trusted.post("/accounts/logout/")
    _signed_in(CHROME, trusted)  # the same browser: its trust cookie lets it in
    assert trusted.get("/bench/").wsgi_request.trust.method == "trusted_device"

    otp = _signed_in(FIREFOX)
    assert otp.post("/2fa/verify/", {"otp_token": _code(device, now + 30)}).status_code == 302
    assert otp.get("/bench/").wsgi_request.trust.method == "otp"

    pending = _signed_in(SAFARI)
    assert pending.get("/bench/").status_code == 302
    return Sessions(_cookie_header(trusted), _cookie_header(otp), _cookie_header(pending))


def queries(app: WSGIHandler, env: dict) -> int:
    request(app, env)
    with CaptureQueriesContext(connection) as captured:
        request(app, env)
    return len(captured)


def compare(
    apps: dict[str, WSGIHandler], env: dict, *, rounds: int, per_round: int
) -> dict[str, dict[str, float]]:
    calls: dict[str, Callable[[], object]] = {
        name: (lambda app=app: request(app, env)) for name, app in apps.items()
    }
    medians = interleaved(calls, rounds=rounds, per_round=per_round)
    return {
        name: {
            "us": medians[name] * 1e6,
            "queries": queries(apps[name], env),
            "status": request(apps[name], env).split()[0],
        }
        for name in apps
    }


# --- ASGI ---------------------------------------------------------------------

ASGI_STACKS = ("django", "trustgate")


def asgi_handler(middleware: list[str]) -> ASGIHandler:
    settings.MIDDLEWARE = middleware
    return ASGIHandler()  # loads the async middleware chain now


def scope(cookie: str = "", user_agent: str = CHROME) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/bench/",
        "raw_path": b"/bench/",
        "query_string": b"",
        "root_path": "",
        "client": (IP, 50000),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"user-agent", user_agent.encode("latin-1")),
            (b"cookie", cookie.encode("latin-1")),
        ],
    }


async def _asgi_request(app: ASGIHandler, request_scope: dict) -> int:
    sent: list[dict] = []
    body = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict:
        if body:
            return body.pop()
        # No disconnect: Django stops listening once the response is sent.
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: dict) -> None:
        sent.append(message)

    await app(dict(request_scope), receive, send)
    return int(sent[0]["status"])


def asgi_compare(
    loop: asyncio.AbstractEventLoop,
    apps: dict[str, ASGIHandler],
    request_scope: dict,
    *,
    rounds: int,
    per_round: int,
) -> dict[str, dict[str, float]]:
    def call(app: ASGIHandler) -> int:
        return loop.run_until_complete(_asgi_request(app, request_scope))

    calls: dict[str, Callable[[], object]] = {
        name: (lambda app=app: call(app)) for name, app in apps.items()
    }
    medians = interleaved(calls, rounds=rounds, per_round=per_round)
    return {name: {"us": medians[name] * 1e6, "status": str(call(apps[name]))} for name in apps}


def run_asgi(sessions: Sessions, rounds: int, per_round: int) -> dict:
    """The same requests through the ASGI handler, with and without Trustgate.

    One event loop for the run, as a server keeps it; the database work the
    stack hands to ``sync_to_async`` runs on asgiref's one sync thread."""
    original = list(settings.MIDDLEWARE)
    all_stacks = stacks()
    apps = {name: asgi_handler(all_stacks[name]) for name in ASGI_STACKS}
    settings.MIDDLEWARE = original
    loop = asyncio.new_event_loop()
    try:
        return {
            scenario: asgi_compare(
                loop, apps, scope(cookie, user_agent), rounds=rounds, per_round=per_round
            )
            for scenario, cookie, user_agent in [
                ("trusted session", sessions.trusted, CHROME),
                ("session that entered a code", sessions.otp, FIREFOX),
                ("anonymous", "", CHROME),
            ]
        }
    finally:
        loop.close()


def run(rounds: int = 31, per_round: int = 60) -> dict:
    sessions = prepare()
    original = list(settings.MIDDLEWARE)
    apps = {name: handler(middleware) for name, middleware in stacks().items()}
    settings.MIDDLEWARE = original
    results = {
        scenario: compare(apps, environ(cookie, user_agent), rounds=rounds, per_round=per_round)
        for scenario, cookie, user_agent in [
            ("trusted session", sessions.trusted, CHROME),
            ("session that entered a code", sessions.otp, FIREFOX),
            ("session mid-step-up", sessions.pending, SAFARI),
            ("anonymous", "", CHROME),
        ]
    }
    return {
        "scenarios": results,
        "asgi": run_asgi(sessions, rounds, per_round),
        "worst_case": worst_case(apps["trustgate"], sessions, rounds, per_round),
    }


def worst_case(app: WSGIHandler, sessions: Sessions, rounds: int, per_round: int) -> dict:
    """A 100 KB user agent and a 10 KB X-Forwarded-For (read: one proxy is
    configured) against the same requests with ordinary headers."""
    with override_settings(TRUST_PROXY_COUNT=1):
        out = {}
        for scenario, cookie in [
            ("trusted session", sessions.trusted),
            ("anonymous", ""),
        ]:
            normal = environ(cookie, CHROME, HTTP_X_FORWARDED_FOR="198.51.100.1")
            longest = environ(cookie, LONGEST_UA, HTTP_X_FORWARDED_FOR="198.51.100.1")
            hostile = environ(cookie, HOSTILE_UA, HTTP_X_FORWARDED_FOR=HOSTILE_XFF)
            medians = interleaved(
                {
                    "normal": lambda env=normal: request(app, env),
                    "longest": lambda env=longest: request(app, env),
                    "hostile": lambda env=hostile: request(app, env),
                },
                rounds=rounds,
                per_round=per_round,
            )
            out[scenario] = _compared(medians)
            out[scenario]["hostile_status"] = request(app, hostile).split()[0]
        out["sign-in decision"] = _decision_inputs(rounds, per_round * 3)
        return out


def _decision_inputs(rounds: int, per_round: int) -> dict:
    """What a sign-in reads from the headers (client IP, fingerprint), the
    user-agent cache cleared before every call."""
    from django.test import RequestFactory

    from trust.browser import request_fingerprint
    from trust.rules.fingerprint import clear_caches

    factory = RequestFactory()
    normal = factory.get("/", HTTP_USER_AGENT=CHROME, HTTP_X_FORWARDED_FOR="198.51.100.1")
    longest = factory.get("/", HTTP_USER_AGENT=LONGEST_UA, HTTP_X_FORWARDED_FOR="198.51.100.1")
    hostile = factory.get("/", HTTP_USER_AGENT=HOSTILE_UA, HTTP_X_FORWARDED_FOR=HOSTILE_XFF)

    def cold(req):
        clear_caches()
        return request_fingerprint(req)

    medians = interleaved(
        {
            "normal": lambda: cold(normal),
            "longest": lambda: cold(longest),
            "hostile": lambda: cold(hostile),
        },
        rounds=rounds,
        per_round=per_round,
    )
    return _compared(medians)


def _compared(medians: dict[str, float]) -> dict:
    return {
        "normal_us": medians["normal"] * 1e6,
        "longest_us": medians["longest"] * 1e6,
        "hostile_us": medians["hostile"] * 1e6,
        "ratio": medians["hostile"] / medians["normal"],
        "ratio_to_longest": medians["hostile"] / medians["longest"],
    }
