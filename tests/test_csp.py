"""A strict Content-Security-Policy: every page sends it and needs no inline script or style.

Each page is reached the way a person reaches it (signed in, codes from the
enrolled authenticator) and parsed with ``html.parser``: no ``<script>``
without ``src``, no ``<style>``, no ``style=``, no ``on*=`` handler, no
``javascript:`` URL, the QR code's SVG included.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from tests.conftest import Authenticator, browser, sign_in, step_up
from trust.flows.not_me import link
from trust.models import TrustedDevice

pytestmark = pytest.mark.django_db(transaction=False)

REPO = Path(__file__).resolve().parent.parent
# What the demo sends, at least; no 'unsafe-inline' or 'unsafe-eval' anywhere.
STRICT = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data"}


class InlineFinder(HTMLParser):
    """What in a page a strict CSP would refuse to run or apply."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script":
            if values.get("src"):
                self.scripts.append(values["src"] or "")
            else:
                self.problems.append("<script> without src")
        if tag == "style":
            self.problems.append("<style> block")
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style= on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name}= on <{tag}>")
            if name in URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")

    handle_startendtag = handle_starttag


def inline_problems(html: str) -> InlineFinder:
    finder = InlineFinder()
    finder.feed(html)
    finder.close()
    return finder


def policy(response) -> dict[str, set[str]]:
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def assert_strict(response) -> None:
    directives = policy(response)
    for name, sources in STRICT.items():
        assert directives.get(name) == sources, (name, response["Content-Security-Policy"])
    assert "unsafe" not in response["Content-Security-Policy"]


# Each page, reached as a user does. ``clock`` moves past the TOTP step a
# code was used in, so the next code is a new one.


def sign_in_page(make_user, clock):
    return browser().get("/accounts/login/")


def sign_in_refused(make_user, clock):
    account = make_user()
    account.password = "not the password"
    return sign_in(browser(), account)


def sign_up_page(make_user, clock):
    return browser().get("/accounts/signup/")


def sign_up_refused(make_user, clock):
    return browser().post("/accounts/signup/", {"username": "x", "password1": "a"})


def _verified(make_user, clock):
    account = make_user()
    client = browser()
    sign_in(client, account)
    assert step_up(client, account).status_code == 302
    return account, client


def home_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/")


def code_page(make_user, clock):
    client = browser()
    sign_in(client, make_user())
    return client.get("/2fa/verify/")


def code_page_refused(make_user, clock):
    client = browser()
    sign_in(client, make_user())
    return client.post("/2fa/verify/", {"otp_token": "000000"})


def _signed_in_without_2fa(make_user):
    client = browser()
    sign_in(client, make_user(totp=False))
    return client


def setup_page(make_user, clock):
    return _signed_in_without_2fa(make_user).get("/2fa/setup/")


def backup_codes_new_page(make_user, clock):
    client = _signed_in_without_2fa(make_user)
    page = client.get("/2fa/setup/")
    code = Authenticator.from_page(page).code()
    return client.post("/2fa/setup/", {"otp_token": code, "trust_device": "on"})


def backup_codes_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/2fa/backup-codes/")


def backup_codes_regenerated_page(make_user, clock):
    return _verified(make_user, clock)[1].post("/2fa/backup-codes/")


def enabled_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/2fa/setup/")


def disabled_page(make_user, clock):
    account, client = _verified(make_user, clock)
    clock.shift(timedelta(seconds=31))
    return client.post("/2fa/disable/", {"otp_token": account.code()})


def replace_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/2fa/replace/")


def devices_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/devices/")


def _not_me_path(make_user, clock) -> str:
    account, _ = _verified(make_user, clock)
    return link(account.user.pk, device=TrustedDevice.objects.get(user=account.user))


def not_me_page(make_user, clock):
    return browser().get(_not_me_path(make_user, clock))


def not_me_done_page(make_user, clock):
    return browser().post(_not_me_path(make_user, clock))


def not_me_invalid_page(make_user, clock):
    return browser().get("/devices/not-me/forged/")


def password_change_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/accounts/password/change/")


def password_change_done_page(make_user, clock):
    return _verified(make_user, clock)[1].get("/accounts/password/change/done/")


PAGES: dict[str, tuple[Callable, int]] = {
    "sign-in": (sign_in_page, 200),
    "sign-in refused": (sign_in_refused, 200),
    "sign-up": (sign_up_page, 200),
    "sign-up refused": (sign_up_refused, 200),
    "home": (home_page, 200),
    "code page": (code_page, 200),
    "code page refused": (code_page_refused, 200),
    "setup": (setup_page, 200),
    "backup codes new": (backup_codes_new_page, 200),
    "backup codes": (backup_codes_page, 200),
    "backup codes regenerated": (backup_codes_regenerated_page, 200),
    "enabled": (enabled_page, 200),
    "disabled": (disabled_page, 200),
    "replace": (replace_page, 200),
    "devices": (devices_page, 200),
    "not me": (not_me_page, 200),
    "not me done": (not_me_done_page, 200),
    "not me invalid": (not_me_invalid_page, 400),
    "password change": (password_change_page, 200),
    "password change done": (password_change_done_page, 200),
}


@pytest.mark.parametrize("name", PAGES)
def test_every_page_sends_a_strict_policy_and_needs_no_inline_script_or_style(
    name, make_user, clock
):
    make_page, status = PAGES[name]
    response = make_page(make_user, clock)
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    assert_strict(response)
    found = inline_problems(response.content.decode())
    assert found.problems == []
    # The only scripts are this site's static files.
    assert all(src.startswith(static("")) for src in found.scripts), found.scripts


def test_every_shipped_template_is_free_of_inline_script_and_style():
    """The templates themselves, branches no page above reaches included."""
    templates = [
        *REPO.glob("trust/templates/**/*.html"),
        *REPO.glob("otp_flow/templates/**/*.html"),
        *REPO.glob("templates/**/*.html"),
    ]
    assert len(templates) > 10  # the glob found them
    for template in templates:
        found = inline_problems(template.read_text())
        assert found.problems == [], template


def test_the_setup_qr_code_is_inline_svg_without_style(make_user, clock):
    page = setup_page(make_user, clock).content.decode()
    figure = page[page.index('<figure class="qr"') : page.index("</figure>")]
    assert "<svg" in figure and "<path" in figure
    assert inline_problems(figure).problems == []
    assert "style" not in figure


def test_the_copy_button_is_a_static_file_and_the_page_works_without_it(make_user, clock):
    page = backup_codes_new_page(make_user, clock)
    html = page.content.decode()
    found = inline_problems(html)
    src = static("otp_flow/copy_codes.js")
    assert found.scripts == [src]
    path = finders.find("otp_flow/copy_codes.js")
    assert path is not None, "otp_flow/copy_codes.js is not a static file"
    script = Path(path).read_text()
    assert "navigator.clipboard.writeText" in script and 'getElementById("copy-codes")' in script
    # Without script the button, which could do nothing, stays hidden; the
    # codes are on the page and in the download link.
    assert 'id="copy-codes"' in html and " hidden>Copy</button>" in html
    assert html.count("<li><code>") == 10
    assert 'download="backup-codes.txt" href="data:text/plain' in html


# A site's own policy on the pages that hold secrets (SECURITY R18): those
# pages add frame-ancestors 'none' to it, never replace it.


def site_policy(settings, directives: dict[str, list[str]]) -> None:
    if django.VERSION >= (6, 0):
        settings.SECURE_CSP = directives
    else:
        settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": directives}


def test_sensitive_pages_keep_the_site_policy_and_add_frame_ancestors(make_user, clock, settings):
    site_policy(settings, {"default-src": ["'self'"], "frame-ancestors": ["'self'"]})
    _, client = _verified(make_user, clock)
    for path in ("/devices/", "/2fa/backup-codes/", "/2fa/setup/"):
        directives = policy(client.get(path))
        assert directives == {"default-src": {"'self'"}, "frame-ancestors": {"'none'"}}, path
    # Pages that hold no secret get the site's policy as it is.
    assert policy(client.get("/")) == {"default-src": {"'self'"}, "frame-ancestors": {"'self'"}}


def test_sensitive_pages_forbid_framing_on_a_site_without_a_policy(make_user, clock, settings):
    settings.MIDDLEWARE = [entry for entry in settings.MIDDLEWARE if "csp" not in entry.lower()]
    _, client = _verified(make_user, clock)
    for path in ("/devices/", "/2fa/backup-codes/", "/2fa/setup/", "/2fa/replace/"):
        response = client.get(path)
        assert response["Content-Security-Policy"] == "frame-ancestors 'none'", path
        assert response["X-Frame-Options"] == "DENY"
    assert "Content-Security-Policy" not in client.get("/")
