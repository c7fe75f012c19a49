"""Attacks on the flow itself: skipping the code, naming another user,
fixing the session, redirecting off-site, telling failures apart."""

from __future__ import annotations

import re
import uuid
from importlib import import_module
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.resolvers import RegexPattern, RoutePattern
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, sign_in, step_up
from trust.models import TrustedDevice

pytestmark = pytest.mark.django_db(transaction=False)

SESSION = django_settings.SESSION_COOKIE_NAME


# --- a pending session reaches nothing but the code page -------------------------

SAMPLES = {"int": "1", "str": "x", "slug": "x", "uuid": str(uuid.UUID(int=1)), "path": "x/y"}
_CONVERTER = re.compile(r"<(?:(?P<conv>[^>:]+):)?(?P<name>[^>]+)>")
_GROUP = re.compile(r"\(\?P<(?P<name>\w+)>(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)\)")


def _fill_route(route: str) -> str:
    return _CONVERTER.sub(lambda m: SAMPLES[m.group("conv") or "str"], route)


def _fill_regex(regex: str) -> str:
    def group(match: re.Match) -> str:
        body = match.group("body")
        words = body.split("|")
        if all(re.fullmatch(r"[\w-]+", word) for word in words):
            return words[0]  # an alternation of names: take one
        return "1"

    text = _GROUP.sub(group, regex)
    return re.sub(r"^\^|\$$|\\Z$", "", text).replace("\\", "")


def _piece(pattern) -> str:
    if isinstance(pattern, RoutePattern):
        return _fill_route(str(pattern))
    assert isinstance(pattern, RegexPattern), pattern
    return _fill_regex(pattern.regex.pattern)


def every_url(patterns=None, prefix="/", namespace=""):
    """(path, view name) for every URL pattern of the URLconf, arguments filled in."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        path = prefix + _piece(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from every_url(entry.url_patterns, path, ns)
        else:
            assert isinstance(entry, URLPattern)
            yield path, f"{namespace}{entry.name}" if entry.name else path


ALL_URLS = sorted(set(every_url()))
# The code page, sign-out, and the one-time "this wasn't me" link, which can
# only take access away (exempt by the app itself; the demo lists nothing).
# The passkey's options and answer are the code page in another shape
# (trust.http.step_up_view; tests/test_passkeys.py checks they grant nothing else).
EXEMPT = {
    "otp_flow:verify",
    "otp_flow:passkey_verify",
    "otp_flow:passkey_verify_options",
    "logout",
    "trust:not_me",
    # The DBSC browser's own calls: they act only on a key's proof
    # (tests/test_dbsc.py: a session owing a code still refreshes).
    "trust:dbsc_register",
    "trust:dbsc_refresh",
}


def test_the_walk_covers_the_whole_urlconf():
    names = {name for _path, name in ALL_URLS}
    assert {
        "home",
        "login",
        "signup",
        "password_change",
        "otp_flow:setup",
        "trust:devices",
        "trust:revoke",
        "trust:revoke_others",
        "admin:index",
        "admin:login",
        "admin:trust_trusteddevice_change",
    } <= names
    assert len(ALL_URLS) > 30
    for path, _name in ALL_URLS:
        resolve(path)  # each filled-in path is a real route


@pytest.fixture
def pending(account):
    client = browser()
    sign_in(client, account)
    return client


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_pending_session_is_gated_on_every_url(pending, method):
    tried = 0
    for path, name in ALL_URLS:
        if name in EXEMPT:
            continue
        response = getattr(pending, method)(path)
        assert response.status_code == 302, (method, path, response.status_code)
        assert response["Location"].startswith("/2fa/verify/?next="), (method, path)

        response = getattr(pending, method)(path, HTTP_ACCEPT="application/json")
        assert response.status_code == 401, (method, path)
        assert response.json()["error"] == "step_up_required"
        tried += 1
    assert tried > 30
    assert pending.get("/2fa/verify/").status_code == 200  # still pending, still here


def test_pending_session_reaches_static_files_and_sign_out(pending):
    # Never gated: the test server serves no static files (DEBUG is off), so
    # the URL resolver's 404 answers, not the gate's redirect.
    assert pending.get("/static/site.css").status_code == 404
    assert pending.post("/accounts/logout/").status_code == 302
    assert pending.get("/").status_code == 302
    assert pending.get("/")["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        # Under /static/: never the admin, the resolver finds nothing.
        ("/static/../admin/", 404),
        ("/static/%2e%2e/admin/", 404),
        ("/static/..%2fadmin/", 404),
        ("/static//admin/", 404),
        # Not under an exempt prefix: gated.
        ("/staticadmin/", 302),
        ("/2fa/verify/../../admin/", 302),
        ("/2fa/verify/%2e%2e/%2e%2e/devices/", 302),
        ("/accounts/logout/../../devices/", 302),
    ],
)
def test_exempt_prefixes_and_names_cannot_be_stretched(pending, path, answer):
    for method in ("get", "post"):
        response = getattr(pending, method)(path)
        assert response.status_code == answer, (method, path, response.status_code)
        if answer == 302:
            assert response["Location"].startswith("/2fa/verify/?next="), (method, path)
    assert pending.get("/", HTTP_ACCEPT="application/json").status_code == 401


# --- the code is checked for the session's user only ------------------------------


def test_form_fields_naming_another_user_are_ignored(account, make_user, clock):
    bob = make_user("bob")
    bob_device = TOTPDevice.objects.get(user=bob.user)
    client = browser()
    sign_in(client, account)
    naming_bob = {
        "user": str(bob.user.pk),
        "user_id": str(bob.user.pk),
        "username": "bob",
        "device_id": str(bob_device.pk),
        "persistent_id": bob_device.persistent_id,
        "otp_device": bob_device.persistent_id,
    }

    # Bob's code in Alice's session: checked against Alice's device, wrong.
    response = client.post("/2fa/verify/", {"otp_token": bob.code(), **naming_bob})
    assert response.status_code == 200
    assert client.get("/").status_code == 302
    bob_device.refresh_from_db()
    assert (bob_device.last_t, bob_device.throttling_failure_count) == (-1, 0)

    # Alice's own code passes, for Alice, whatever the fields say.
    response = step_up(client, account, trust=True, **naming_bob)
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200 and page.wsgi_request.user == account.user
    assert TrustedDevice.objects.filter(user=account.user).count() == 1
    assert not TrustedDevice.objects.filter(user=bob.user).exists()
    bob_device.refresh_from_db()
    assert bob_device.last_t == -1


# --- session fixation ------------------------------------------------------------


def _store():
    return import_module(django_settings.SESSION_ENGINE).SessionStore


def test_planted_session_cookie_does_not_survive_sign_in(account):
    planted = _store()()
    planted["attacker"] = True
    planted.create()
    victim = browser()
    victim.cookies[SESSION] = planted.session_key

    sign_in(victim, account)
    assert victim.cookies[SESSION].value != planted.session_key
    attacker = browser()
    attacker.cookies[SESSION] = planted.session_key
    assert attacker.get("/")["Location"].startswith("/accounts/login/")


def test_made_up_session_cookie_does_not_survive_sign_in(account):
    victim = browser()
    victim.cookies[SESSION] = "a" * 32
    sign_in(victim, account)
    assert victim.cookies[SESSION].value != "a" * 32


def test_session_key_changes_when_the_code_passes(account):
    client = browser()
    sign_in(client, account)
    pending_key = client.cookies[SESSION].value
    assert step_up(client, account).status_code == 302
    assert client.cookies[SESSION].value != pending_key

    # Whoever learnt the pending key holds nothing now.
    other = browser()
    other.cookies[SESSION] = pending_key
    assert other.get("/")["Location"].startswith("/accounts/login/")


# --- next never leaves the site -------------------------------------------------

OFFSITE = [
    "https://evil.example/",
    "//evil.example",
    "///evil.example",
    "https:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "%2F%2Fevil.example",
    " //evil.example",
    "\t//evil.example",
    "\n//evil.example",
    "/\t/evil.example",
    "http:999999999",
    "https://testserver@evil.example",
    "https://evil.example\\@testserver",
    "data:text/html,<script>alert(1)</script>",
]


def assert_on_site(location: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https") and parts.netloc in ("", "testserver"), location
    assert not location.startswith(("//", "/\\", "\\")), location
    assert not re.match(r"^\s", location), location


@pytest.mark.parametrize("target", OFFSITE)
def test_next_stays_on_site_through_sign_in_and_the_code_page(account, target):
    client = browser()
    response = sign_in(client, account, next_url=target)
    # The sign-in answers with the code page itself, carrying next along.
    assert response.status_code == 302
    assert_on_site(response["Location"])
    assert response["Location"].startswith("/2fa/verify/?next=")
    assert client.get(response["Location"]).status_code == 200
    gated = client.get("/")
    assert gated.status_code == 302
    assert_on_site(gated["Location"])
    page = client.get(f"/2fa/verify/?next={target}")
    assert page.status_code == 200
    final = client.post(f"/2fa/verify/?next={target}", {"otp_token": account.code()})
    assert final.status_code == 302
    assert_on_site(final["Location"])


def test_next_on_site_is_kept_through_the_whole_flow(account):
    client = browser()
    response = sign_in(client, account, next_url="/devices/?tab=1")
    page = client.get(response["Location"])
    assert 'value="/devices/?tab=1"' in page.content.decode()
    final = client.post("/2fa/verify/", {"otp_token": account.code(), "next": "/devices/?tab=1"})
    assert final["Location"] == "/devices/?tab=1"


# --- failures look the same ------------------------------------------------------


def _normalized(response, username: str) -> str:
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return html.replace(username, "USERNAME")


def _failed_sign_in(username: str, password: str = "wrong password 1"):
    client = browser()
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_unknown_user_and_wrong_password_look_the_same(account, make_user):
    no_2fa = make_user("carol00", totp=False)
    cases = {  # username tried -> response
        "mallory": _failed_sign_in("mallory"),  # no such user
        "alice": _failed_sign_in(account.user.get_username()),  # 2FA on
        "carol00": _failed_sign_in(no_2fa.user.get_username()),  # 2FA off
    }
    responses = cases
    bodies = {name: _normalized(response, name) for name, response in cases.items()}
    statuses = {r.status_code for r in responses.values()}
    assert statuses == {200}
    assert len(set(bodies.values())) == 1, "failures can be told apart"
    for response in responses.values():
        assert "/2fa/" not in response.content.decode()  # no hint of a second factor


def test_two_factor_shows_only_after_the_right_password(account, make_user):
    client = browser()
    assert client.get("/2fa/verify/")["Location"].startswith("/accounts/login/")
    response = _failed_sign_in(account.user.get_username())
    assert response.status_code == 200
    assert "code" not in response.content.decode().lower()
    right = sign_in(browser(FIREFOX_WINDOWS), account)
    assert right.status_code == 302  # only now the code page comes
