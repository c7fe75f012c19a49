"""Screenshots of the reworked pages in Chromium (artifacts/e2e/pages/):
the confirmation steps of destructive actions, the sudo code page with its
action and Cancel, a used backup code's error, the signed-out browser's
message, and a page in German. Each step also checks what the page says.

The user and its authenticator are made with ``manage.py shell``; codes are
computed from the stored key (the full story through the QR code and an
independent authenticator is ``test_browser.py``).
"""

from __future__ import annotations

import json
import time
from binascii import unhexlify
from pathlib import Path

import pytest

from e2e.servers import CHROMIUM, free_port, manage, runserver, serving, site_env

PASSWORD = "a long passphrase for the screenshots"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Safari/605.1.15"
)
MAKE_USER = """
import json
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from otp_flow.models import BackupCodeDevice
user = get_user_model().objects.create_user("pages", "pages@example.com", PASSWORD)
device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
codes = BackupCodeDevice.objects.create(user=user, name="Backup codes").replace_codes()
print(json.dumps({"key": device.key, "codes": codes}))
""".replace("PASSWORD", repr(PASSWORD))

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def site(tmp_path_factory, artifacts):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"missing {CHROMIUM} (make test-e2e installs it)")
    db = tmp_path_factory.mktemp("pages-db") / "site.sqlite3"
    env = site_env(DATABASE_URL=f"sqlite:///{db}", DJANGO_DEBUG="1")
    manage(env, "migrate", "--noinput")
    secrets = json.loads(manage(env, "shell", "-c", MAKE_USER).strip().splitlines()[-1])
    port = free_port()
    with serving(runserver(port), env, port, artifacts / "pages-server.log") as base:
        yield base, secrets


@pytest.fixture(scope="module")
def chromium():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        yield browser
        browser.close()


class Authenticator:
    """Codes from the stored key, each used once (a code is refused twice)."""

    def __init__(self, key: str) -> None:
        self.key = unhexlify(key)
        self.used: set[str] = set()

    def code(self) -> str:
        from django_otp.oath import totp

        while True:
            code = f"{totp(self.key, step=30, t0=0, digits=6):06d}"
            if code not in self.used:
                self.used.add(code)
                return code
            time.sleep(1)


def test_the_reworked_pages(site, chromium, artifacts):
    base, secrets = site
    folder = artifacts / "pages"
    folder.mkdir(exist_ok=True)
    authenticator = Authenticator(secrets["key"])

    def context(user_agent: str | None = None, language: str = "en"):
        return chromium.new_context(
            viewport={"width": 900, "height": 760},
            user_agent=user_agent,
            extra_http_headers={"Accept-Language": language},
        )

    def sign_in(page):
        page.goto(base + "/accounts/login/")
        page.fill("input[name=username]", "pages")
        page.fill("input[name=password]", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_load_state()

    def shot(page, name: str) -> str:
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        return page.inner_text("main")

    laptop = context().new_page()
    sign_in(laptop)
    assert "This browser is new to us" in shot(laptop, "01-code-page")
    laptop.fill("input[name=otp_token]", authenticator.code())
    laptop.check("input[name=trust_device]")
    laptop.click("text=Verify")
    laptop.wait_for_load_state()

    phone = context(FIREFOX_WINDOWS).new_page()
    sign_in(phone)
    phone.fill("input[name=otp_token]", secrets["codes"][0])
    phone.check("input[name=trust_device]")
    phone.click("text=Verify")
    phone.wait_for_load_state()

    laptop.goto(base + "/devices/")
    assert "Revoke all other devices…" in shot(laptop, "02-devices")
    laptop.click("li.device:not(:has(.badge)) a.button.danger")
    laptop.wait_for_load_state()
    assert "Revoke Firefox on Windows?" in shot(laptop, "03-revoke-confirm")
    laptop.goto(base + "/devices/revoke-others/")
    assert "1 other device is signed out" in shot(laptop, "04-revoke-others-confirm")

    laptop.goto(base + "/2fa/setup/")
    shot(laptop, "05-two-factor-on")
    laptop.click("text=Turn off two-factor authentication…")
    laptop.wait_for_load_state()
    assert laptop.evaluate("document.activeElement.name") != "otp_token"  # no autofocus
    assert "protected by your password alone" in shot(laptop, "06-disable-confirm")

    stranger = context(SAFARI_MAC).new_page()
    sign_in(stranger)
    stranger.fill("input[name=otp_token]", secrets["codes"][0])  # the phone used it
    stranger.click("text=Verify")
    stranger.wait_for_load_state()
    assert "Each backup code works once" in shot(stranger, "07-used-backup-code")

    laptop.click("header button.link")  # sign out; the trust stays
    laptop.wait_for_load_state()
    sign_in(laptop)
    laptop.goto(base + "/2fa/replace/")
    laptop.wait_for_load_state()
    said = shot(laptop, "08-sudo-page")
    assert "To replace your authenticator app, confirm it's you" in said
    laptop.click("#cancel")
    laptop.wait_for_load_state()
    assert laptop.url == base + "/2fa/setup/"

    laptop.goto(base + "/devices/")
    laptop.click("li.device:has(.badge) a.button.danger")
    laptop.wait_for_load_state()
    assert "you will be signed out too" in shot(laptop, "09-revoke-this-confirm")
    laptop.click("main form button.danger")
    laptop.wait_for_load_state()
    assert "You revoked this device" in shot(laptop, "10-signed-out-message")

    german = context(language="de").new_page()
    sign_in(german)
    german.fill("input[name=otp_token]", authenticator.code())
    german.click("main form button[type=submit] >> nth=0")
    german.wait_for_load_state()
    german.goto(base + "/2fa/disable/")
    assert "Zwei-Faktor-Authentifizierung ausschalten?" in shot(german, "11-disable-confirm-de")
