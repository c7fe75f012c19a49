"""A browser as the check drives it: a cookie jar, a user-agent string and
the client address the site's proxy reports (``X-Forwarded-For``). It
reads every outcome from the site's HTTP answers only:

- let in: the sign-in ends on the home page (200);
- asked: it ends on the code page (``/2fa/verify/``);
- refused: the sign-in form again, a 403, or back to the sign-in page.
"""

from __future__ import annotations

import base64
import html
import re
import time
from urllib.parse import urlsplit

import requests
from django_otp.oath import TOTP

IN, ASKED, REFUSED = "in", "asked", "refused"
VERIFY = "/2fa/verify/"
LOGIN = "/accounts/login/"
TRUST_COOKIE = "trustgate_token"  # the trusted-device cookie over plain HTTP
TIMEOUT = 60


def path_of(response: requests.Response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


class Browser:
    def __init__(self, base: str, user_agent: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.http.headers["User-Agent"] = user_agent
        self.address = ""
        self.reasons: list[str] = []  # what the code page last said it asks for

    @property
    def user_agent(self) -> str:
        return str(self.http.headers["User-Agent"])

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.http.headers["User-Agent"] = value

    def _headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self.address}

    def get(self, path: str) -> requests.Response:
        return self.http.get(
            self.base + path, allow_redirects=False, timeout=TIMEOUT, headers=self._headers()
        )

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        token = self.http.cookies.get("csrftoken") or ""
        return self.http.post(
            self.base + path,
            data={"csrfmiddlewaretoken": token, **data},
            allow_redirects=False,
            timeout=TIMEOUT,
            headers={**self._headers(), "Referer": self.base + path},
        )

    def form(self, path: str, data: dict[str, str]) -> requests.Response:
        """Load the page (its CSRF cookie), then post the form."""
        page = self.get(path)
        if page.status_code not in (200, 302):
            raise RuntimeError(f"GET {path}: {page.status_code}")
        return self.post(path, data)

    def outcome(self, answer: requests.Response) -> str:
        """Where a sign-in's answer leads: IN, ASKED or REFUSED."""
        for _ in range(5):  # bounded: a sign-in redirects at most a few times
            if answer.status_code == 200:
                url = urlsplit(answer.url).path if answer.url else ""
                if url.startswith(VERIFY):
                    return ASKED
                return REFUSED if url.startswith(LOGIN) else IN
            if answer.status_code != 302:
                return REFUSED  # 403, 401, 429: not let in
            target = path_of(answer)
            if target.startswith(VERIFY):
                self._read_reasons(answer.headers["Location"])
                return ASKED
            if target.startswith(LOGIN):
                return REFUSED
            answer = self.get(target or "/")
        raise RuntimeError("too many redirects after signing in")

    def _read_reasons(self, location: str) -> None:
        """Load the code page, as the browser does, and read its "Why we ask"."""
        split = urlsplit(location)
        page = self.get(split.path + (f"?{split.query}" if split.query else ""))
        found = REASONS.search(page.text)
        text = html.unescape(found.group(1)) if found else ""
        self.reasons = [reason.strip() for reason in text.split(", ") if reason.strip()]

    def sign_in(self, username: str, password: str) -> str:
        self.reasons = []
        answer = self.form(LOGIN, {"username": username, "password": password})
        if answer.status_code == 200:
            return REFUSED  # the form again: Trustgate refused, or the password was wrong
        return self.outcome(answer)

    def enter_code(self, code: str, trust: bool = False) -> bool:
        data = {"otp_token": code, **({"trust_device": "on"} if trust else {})}
        answer = self.post(VERIFY, data)
        return answer.status_code == 302 and not path_of(answer).startswith((VERIFY, LOGIN))

    def sign_out(self) -> None:
        self.post("/accounts/logout/", {})
        self.http.cookies.pop("sessionid", None)

    def trust_cookie(self) -> str | None:
        return self.http.cookies.get(TRUST_COOKIE)


class Authenticator:
    """An authenticator app: TOTP codes from the key the setup page showed,
    each time step used once (django-otp refuses a step already used)."""

    def __init__(self, secret: str) -> None:
        self.totp = TOTP(base64.b32decode(secret))
        self.last_step = 0

    def code(self) -> str:
        now = int(time.time() // 30)
        step = max(now, self.last_step + 1)
        if step > now + 1:  # one step ahead is within django-otp's tolerance
            time.sleep(max(0.0, (step - 1) * 30 - time.time()) + 0.5)
        self.last_step = step
        self.totp.time = step * 30 + 1
        return f"{self.totp.token():06d}"


REASONS = re.compile(r'<p class="reasons">[^:<]*:\s*(.*?)</p>', re.S)
SECRET = re.compile(r'<code class="secret">([A-Z2-7 ]+)</code>')
