"""The whole story in a real browser with a real authenticator.

Chromium (Debian's, driven by Playwright) against the demo site served by
``manage.py runserver`` on a fresh SQLite database. The QR code is read off a
screenshot by ``zbarimg`` and the codes come from ``oathtool``: nothing on the
authenticator side shares code with the site.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

from e2e.servers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    manage,
    runserver,
    serving,
    site_env,
)

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
USERNAME = "e2e-walker"
PASSWORD = "a long passphrase for the browser test"
TIMEOUT_MS = 20_000

pytestmark = pytest.mark.timeout(300)


def _missing_tools() -> list[str]:
    tools = [CHROMIUM, shutil.which("oathtool"), shutil.which("zbarimg")]
    names = [CHROMIUM, "oathtool", "zbarimg"]
    return [
        name
        for name, found in zip(names, tools, strict=True)
        if not found or not Path(found).exists()
    ]


@pytest.fixture(scope="module")
def site(tmp_path_factory, artifacts):
    if missing := _missing_tools():
        pytest.skip(f"missing {', '.join(missing)} (make test-e2e installs them)")
    db = tmp_path_factory.mktemp("e2e-db") / "site.sqlite3"
    env = site_env(DATABASE_URL=f"sqlite:///{db}", DJANGO_DEBUG="1")
    manage(env, "migrate", "--noinput")
    port = free_port()
    with serving(runserver(port), env, port, artifacts / "server.log") as base:
        yield base


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def oathtool(secret: str, at: float | None = None) -> str:
    """The code an independent authenticator shows for ``secret`` at ``at``."""
    argv = ["oathtool", "--totp", "-b", secret]
    if at is not None:
        argv.append(f"--now=@{int(at)}")
    code = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    assert re.fullmatch(r"\d{6}", code), code
    return code


def read_qr(image: Path) -> str:
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(image)], capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


class Steps:
    """Screenshots of each step, numbered in order, kept as artifacts."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        for old in folder.glob("[0-9][0-9]-*.png"):
            old.unlink()

    def shot(self, page, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


# Every Content-Security-Policy violation a page meets, as a console line:
# Chromium logs its own refusals ("... violates the following Content
# Security Policy directive ..."), and this listener, run by the browser
# before any page script and outside the page's policy, logs the rest.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI}`);
});
"""


def watch_csp(context, violations: list[str]) -> list[str]:
    """Collects into ``violations`` the CSP violations of every page of ``context``."""
    context.add_init_script(CSP_LISTENER)

    def on_console(message) -> None:
        if "Content Security Policy" in message.text or "CSP violation" in message.text:
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    context.on("console", on_console)
    return violations


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/accounts/login/'] button[type=submit]")


def enter_code(page, code: str) -> None:
    page.fill("input[name=otp_token]", code)
    page.check("input[name=trust_device]")
    page.click("form:has(input[name=otp_token]) button[type=submit]")


class Story:
    """One user's story across the tests below, which run in file order: each
    test is one step, and a step whose earlier step failed is skipped."""

    def __init__(self, site: str, chromium, artifacts: Path) -> None:
        self.site, self.chromium = site, chromium
        self.steps = Steps(artifacts)
        self.artifacts = artifacts
        self.home = re.compile(re.escape(site) + r"/$")
        self.violations: list[str] = []
        self.contexts: list = []
        self.done: set[str] = set()

    def browser(self, user_agent: str):
        context = self.chromium.new_context(user_agent=user_agent)
        context.set_default_timeout(TIMEOUT_MS)
        watch_csp(context, self.violations)
        self.contexts.append(context)
        return context

    def after(self, *steps: str) -> None:
        missing = [step for step in steps if step not in self.done]
        if missing:
            pytest.skip(f"an earlier step failed: {', '.join(missing)}")


@pytest.fixture(scope="module")
def story(site, chromium, artifacts):
    told = Story(site, chromium, artifacts)
    yield told
    for context in told.contexts:
        context.close()


def test_sign_up_and_scan_the_qr_code(story):
    from playwright.sync_api import expect

    site, steps = story.site, story.steps
    first = story.browser(CHROME_LINUX)
    first.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = story.first = first.new_page()
    page.goto(f"{site}/accounts/signup/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    steps.shot(page, "sign-up")
    page.click("main form button[type=submit]")
    expect(page).to_have_url(story.home)
    setup = page.goto(f"{site}/2fa/setup/")
    assert "script-src 'self'" in setup.headers["content-security-policy"]
    qr = page.locator("figure.qr")
    expect(qr).to_be_visible()
    steps.shot(page, "setup-page")

    # The authenticator scans the QR code: the picture, not the page's text.
    qr_image = story.artifacts / f"{steps.count + 1:02d}-qr-code.png"
    qr.screenshot(path=str(qr_image))
    steps.count += 1
    uri = read_qr(qr_image)
    parsed = urlparse(uri)
    assert parsed.scheme == "otpauth" and parsed.netloc == "totp", uri
    assert USERNAME in unquote(parsed.path)
    story.secret = parse_qs(parsed.query)["secret"][0]
    shown = page.locator("code.secret").inner_text().replace(" ", "")
    assert story.secret == shown, "the QR code and the key shown for typing differ"
    story.done.add("scanned")


def test_enrolling_shows_the_backup_codes_once_and_copies_them(story):
    from playwright.sync_api import expect

    story.after("scanned")
    page, steps = story.first, story.steps
    story.enrolled_at = time.time()
    enter_code(page, oathtool(story.secret, story.enrolled_at))
    # The answer is the one page that ever shows the backup codes.
    expect(page.locator("main")).to_contain_text("Two-factor authentication is on")
    expect(page.locator("main li code")).to_have_count(10)
    # The Copy button's script (a static file, under script-src 'self') runs.
    copy = page.locator("#copy-codes")
    expect(copy).to_be_visible()
    copy.click()
    expect(copy).to_have_text("Copied")
    codes = page.locator("main li code").all_inner_texts()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    steps.shot(page, "enrolled-backup-codes")
    page.click("text=I saved them, continue")
    expect(page).to_have_url(story.home)
    expect(page.locator("main")).to_contain_text("Two-factor authentication is")
    steps.shot(page, "enrolled")
    story.done.add("enrolled")


def test_a_familiar_browser_signs_in_without_a_code(story):
    from playwright.sync_api import expect

    story.after("enrolled")
    page = story.first
    page.click("nav form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    sign_in(page, story.site)
    expect(page).to_have_url(story.home)
    expect(page.locator("main")).to_contain_text("let in as a trusted device")
    story.steps.shot(page, "familiar-browser-no-code")
    story.done.add("familiar")


def test_a_new_device_is_held_at_the_code_page_until_a_code(story):
    from playwright.sync_api import expect

    story.after("enrolled")
    site = story.site
    # Another kind of browser. The code is the one for the next 30 s step: the
    # server takes one step of drift, refuses any step at or before the last
    # one used, and nobody has to wait for the clock.
    other = story.second = story.browser(FIREFOX_WINDOWS).new_page()
    sign_in(other, site)
    expect(other).to_have_url(re.compile(r"/2fa/verify/"))
    expect(other.locator("input[name=otp_token]")).to_be_visible()
    story.steps.shot(other, "new-device-challenged")
    other.goto(f"{site}/devices/")  # the gate holds until the code
    expect(other).to_have_url(re.compile(r"/2fa/verify/\?next=/devices/"))
    enter_code(other, oathtool(story.secret, max(time.time(), story.enrolled_at) + 30))
    expect(other).to_have_url(re.compile(r"/devices/$"))
    story.steps.shot(other, "new-device-passed")
    story.done.add("second")


def test_a_revoked_browser_is_signed_out_and_challenged_again(story):
    from playwright.sync_api import expect

    story.after("familiar", "second")
    page, other, steps = story.first, story.second, story.steps
    # From the second browser, revoke the first.
    devices = other.locator("li.device")
    expect(devices).to_have_count(2)
    first_device = devices.filter(has_not=other.locator(".badge"))
    expect(first_device).to_contain_text("Chrome on Linux")
    first_device.locator("a.button.danger").click()  # to the confirmation step
    expect(other.locator("h1")).to_contain_text("Revoke Chrome on Linux?")
    steps.shot(other, "revoke-confirm")
    other.locator("main form button.danger").click()
    expect(other.locator("li.device")).to_have_count(1)
    expect(other.locator("li.device")).to_contain_text("Firefox on Windows")
    steps.shot(other, "first-revoked")

    # The first browser is signed out on its next page...
    page.goto(f"{story.site}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator(".messages")).to_contain_text("signed out from another of your devices")
    steps.shot(page, "revoked-browser-signed-out")
    # ...and its next sign-in asks for a code again.
    sign_in(page, story.site)
    expect(page).to_have_url(re.compile(r"/2fa/verify/"))
    steps.shot(page, "revoked-browser-challenged")
    story.done.add("revoked")


def test_no_page_of_the_story_ran_anything_the_policy_refused(story):
    story.after("scanned")
    # Every page above, under the demo's strict policy.
    assert story.violations == []


def test_csp_violations_are_seen(site, chromium):
    """The watch above sees a violation when there is one: an inline script."""
    context = chromium.new_context(user_agent=CHROME_LINUX)
    context.set_default_timeout(TIMEOUT_MS)
    violations = watch_csp(context, [])
    page = context.new_page()
    page.goto(f"{site}/accounts/login/")
    refused = page.expect_console_message(lambda message: "CSP violation" in message.text)
    # Playwright may report the refusal as an error too.
    with refused, contextlib.suppress(Exception):
        page.add_script_tag(content="document.title = 'inline ran'")
    assert page.title() != "inline ran"
    context.close()
    assert violations, "an inline script ran or its refusal went unseen"


# --- passkeys ---------------------------------------------------------------------

# Chromium's virtual authenticator (CDP WebAuthn domain): a platform passkey
# with user verification, as a phone or a laptop's screen lock makes.
VIRTUAL_AUTHENTICATOR = {
    "protocol": "ctap2",
    "transport": "internal",
    "hasResidentKey": True,
    "hasUserVerification": True,
    "isUserVerified": True,
}
PASSKEY_USER = "e2e-passkey"


@pytest.fixture(scope="module")
def localhost_site(tmp_path_factory, artifacts):
    """The demo on http://localhost:PORT: WebAuthn needs a domain as RP ID."""
    if not Path(CHROMIUM).exists():
        pytest.skip("missing chromium (make test-e2e installs it)")
    db = tmp_path_factory.mktemp("e2e-passkey-db") / "site.sqlite3"
    port = free_port()
    env = site_env(
        DATABASE_URL=f"sqlite:///{db}",
        DJANGO_DEBUG="1",
        DJANGO_WEBAUTHN_RP_ID="localhost",
        DJANGO_WEBAUTHN_ORIGINS=f"http://localhost:{port}",
    )
    manage(env, "migrate", "--noinput")
    with serving(runserver(port), env, port, artifacts / "server-passkeys.log"):
        yield f"http://localhost:{port}"


def virtual_authenticator(page) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": VIRTUAL_AUTHENTICATOR})
    return cdp, made["authenticatorId"]


def test_passkey_register_step_up_trust_remove(localhost_site, chromium, artifacts):
    """Register a passkey, pass a new device's step-up with it (and trust the
    browser), sign in there again without a prompt, remove the passkey and
    see that browser's trust gone. No CSP violation on the way."""
    site = localhost_site
    folder = artifacts / "passkeys"
    folder.mkdir(exist_ok=True)
    steps = Steps(folder)
    violations: list[str] = []

    first = chromium.new_context(user_agent=CHROME_LINUX)
    watch_csp(first, violations)
    page = first.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    cdp, authenticator = virtual_authenticator(page)
    page.goto(f"{site}/accounts/signup/")
    page.fill("input[name=username]", PASSKEY_USER)
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{site}/")

    page.goto(f"{site}/2fa/passkeys/")
    page.fill("input[name=name]", "Laptop")
    page.click("#passkey-add")
    page.wait_for_selector("ol.backup-codes code")  # the first factor: 2FA is on
    assert len(page.locator("ol.backup-codes code").all()) == 10
    steps.shot(page, "passkey-added-backup-codes")
    page.goto(f"{site}/2fa/passkeys/")
    assert "Laptop" in page.content()
    steps.shot(page, "passkey-listed")

    # The same passkey on a new device (synced, as passkeys are): a fresh
    # context with its own virtual authenticator holding the credential.
    (credential,) = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})[
        "credentials"
    ]
    second = chromium.new_context(user_agent=FIREFOX_WINDOWS)
    watch_csp(second, violations)
    phone = second.new_page()
    phone.set_default_timeout(TIMEOUT_MS)
    cdp2, authenticator2 = virtual_authenticator(phone)
    cdp2.send(
        "WebAuthn.addCredential", {"authenticatorId": authenticator2, "credential": credential}
    )

    def sign_in_as_passkey_user():
        phone.goto(f"{site}/accounts/login/")
        phone.fill("input[name=username]", PASSKEY_USER)
        phone.fill("input[name=password]", PASSWORD)
        phone.click("form[action$='/accounts/login/'] button[type=submit]")

    sign_in_as_passkey_user()
    phone.wait_for_url(re.compile(r".*/2fa/verify/.*"))
    assert phone.is_checked("input[name=trust_device]")
    steps.shot(phone, "new-device-asked")
    phone.click("#passkey-verify")
    phone.wait_for_url(f"{site}/")
    steps.shot(phone, "stepped-up-with-passkey")

    phone.click("form[action$='/accounts/logout/'] button")
    sign_in_as_passkey_user()
    phone.wait_for_url(f"{site}/")  # trusted: no prompt
    steps.shot(phone, "trusted-no-prompt")

    page.goto(f"{site}/2fa/passkeys/")
    page.click("form[action*='/remove/'] button")
    page.wait_for_load_state()
    steps.shot(page, "passkey-removed")

    phone.goto(f"{site}/")
    assert "/accounts/login/" in phone.url  # its session ended
    sign_in_as_passkey_user()
    phone.wait_for_url(re.compile(r".*/2fa/verify/.*"))  # its trust is gone
    assert "Use a passkey" not in phone.content()
    steps.shot(phone, "trust-gone")

    first.close()
    second.close()
    assert violations == []
