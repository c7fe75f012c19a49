"""A trusted browser bound to its key (DBSC), in a real Chromium over real HTTPS.

The demo site under gunicorn on ``https://127.0.0.1`` with a self-signed
certificate made here. Debian's Chromium is told to trust that certificate
(``--ignore-certificate-errors-spki-list``: an *ignored* certificate error
is still an error, and Chromium then never registers) and to run DBSC with
software keys (docs/risk.md, "Device Bound Session Credentials"). The bound
cookie lives ``BOUND_SECONDS`` here (``e2e/dbsc_wsgi.py``), so waiting it
out is seconds. Codes come from ``oathtool``; the site's database is read
through ``manage.py shell``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import json
import re
import secrets
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from e2e.servers import (
    BIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    TEST_HOST,
    free_port,
    manage,
    serving,
    site_env,
)

# DBSC with software keys; and without Chromium's signing quota (6 proofs per
# site in 9 minutes, sized for cookies of minutes: with a cookie of seconds
# every page load is within its 2-minute proactive-refresh window, and the
# test's few sign-ins would exhaust it). The quota is a feature parameter in
# recent Chromium, a feature of its own in older ones: both are switched off.
DBSC_FEATURES = (
    "DeviceBoundSessions:RefreshQuota/false,"
    "EnableBoundSessionCredentialsSoftwareKeysForManualTesting"
)
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
USERNAME = "dbsc-walker"
PASSWORD = "a long passphrase for the bound browser"
BOUND_SECONDS = 20
TIMEOUT_MS = 30_000
TRUST_COOKIE = "__Host-trustgate_token"

pytestmark = pytest.mark.timeout(300)


def _missing_tools() -> list[str]:
    missing = [name for name in ("oathtool",) if not shutil.which(name)]
    if not Path(CHROMIUM).exists():
        missing.append(CHROMIUM)
    if not (BIN / "gunicorn").exists():
        missing.append("gunicorn")
    return missing


def make_certificate(folder: Path) -> tuple[Path, Path, str]:
    """A self-signed P-256 certificate for the test host: (cert, key, SPKI pin)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TEST_HOST)])
    try:
        san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(TEST_HOST))
    except ValueError:
        san = x509.DNSName(TEST_HOST)
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cert_path, key_path, base64.b64encode(hashlib.sha256(spki).digest()).decode()


class Site:
    def __init__(self, base: str, env: dict[str, str], totp_key: str) -> None:
        self.base, self.env, self.totp_key = base, env, totp_key

    def code(self) -> str:
        """The code an independent authenticator shows now (a fresh 30 s step)."""
        argv = ["oathtool", "--totp", self.totp_key]
        found = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
        assert re.fullmatch(r"\d{6}", found), found
        return found

    def devices(self) -> list[dict]:
        """The user's live trusted devices as the database has them."""
        script = (
            "import json;from trust.models import TrustedDevice as T;"
            f"print(json.dumps([{{'pk': d.pk, 'bound': d.bound_key is not None}} "
            f"for d in T.objects.active().filter(user__username={USERNAME!r})]))"
        )
        return json.loads(manage(self.env, "shell", "-c", script).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def site(tmp_path_factory, artifacts):
    if missing := _missing_tools():
        pytest.skip(f"missing {', '.join(missing)} (make test-real installs them)")
    folder = tmp_path_factory.mktemp("e2e-dbsc")
    cert, key, spki = make_certificate(folder)
    env = site_env(
        DATABASE_URL=f"sqlite:///{folder / 'site.sqlite3'}",
        DJANGO_DEBUG="1",
        TRUSTGATE_E2E_BOUND_SECONDS=str(BOUND_SECONDS),
    )
    manage(env, "migrate", "--noinput")
    totp_key = secrets.token_hex(20)
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model;"
        "from django_otp.plugins.otp_totp.models import TOTPDevice;"
        f"u = get_user_model().objects.create_user({USERNAME!r}, password={PASSWORD!r});"
        f"TOTPDevice.objects.create(user=u, name='app', key={totp_key!r}, confirmed=True)",
    )
    port = free_port()
    command = [
        str(BIN / "gunicorn"),
        "e2e.dbsc_wsgi:application",
        "--bind",
        f"{TEST_HOST}:{port}",
        "--workers",
        "2",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--certfile",
        str(cert),
        "--keyfile",
        str(key),
        # Each request in the log: the registration and refreshes are seen there.
        "--access-logfile",
        "-",
    ]
    log = artifacts / "dbsc" / "server.log"
    with serving(command, env, port, log, https=True) as base:
        yield Site(base, env, totp_key), spki


@pytest.fixture(scope="module")
def chromium(site):
    sync_api = pytest.importorskip("playwright.sync_api")
    _site, spki = site
    args = [
        *CHROMIUM_ARGS,
        f"--enable-features={DBSC_FEATURES}",
        "--disable-features=DeviceBoundSessionsRefreshQuota",
        # Trusted, not ignored: DBSC registers only over a verified connection.
        f"--ignore-certificate-errors-spki-list={spki}",
    ]
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield browser
        browser.close()


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return predicate()


def sign_in(page, base: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action$='/accounts/login/'] button[type=submit]")


def sign_out(page) -> None:
    page.click("nav form button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/login/"))


def test_a_bound_browser_stays_trusted_and_a_copy_of_its_cookies_does_not(site, chromium):
    from playwright.sync_api import expect

    site, _spki = site
    home = re.compile(re.escape(site.base) + r"/$")
    owner = chromium.new_context(user_agent=CHROME_LINUX)
    owner.set_default_timeout(TIMEOUT_MS)
    page = owner.new_page()

    # 1. A code, and "trust this device": the browser registers its key.
    sign_in(page, site.base)
    expect(page).to_have_url(re.compile(r"/2fa/verify/"))
    page.fill("input[name=otp_token]", site.code())
    page.check("input[name=trust_device]")
    page.click("form:has(input[name=otp_token]) button[type=submit]")
    expect(page).to_have_url(home)
    assert wait_for(lambda: any(d["bound"] for d in site.devices()), 20), site.devices()
    bound_name = f"__Host-trustgate_bound_token_{site.devices()[0]['pk']}"

    # 2. Past the bound cookie's lifetime, the browser refreshes it with its
    # key, and the next sign-in is a trusted browser's: no code.
    sign_out(page)
    time.sleep(BOUND_SECONDS + 3)
    sign_in(page, site.base)
    expect(page).to_have_url(home)
    expect(page.locator("main")).to_contain_text("let in as a trusted device")
    cookies = {c["name"]: c for c in owner.cookies() if c["name"] in (TRUST_COOKIE, bound_name)}
    assert set(cookies) == {TRUST_COOKIE, bound_name}, [c["name"] for c in owner.cookies()]

    # 3. Both cookies copied to a browser without the key, kept past the
    # bound value's lifetime as a thief would: the sign-in there owes a code.
    thief = chromium.new_context(user_agent=CHROME_LINUX)
    thief.set_default_timeout(TIMEOUT_MS)
    copies = []
    for cookie in cookies.values():
        copy = dict(cookie)
        copy["expires"] = time.time() + 3600
        copies.append(copy)
    thief.add_cookies(copies)
    time.sleep(BOUND_SECONDS + 3)
    stolen = thief.new_page()
    sign_in(stolen, site.base)
    expect(stolen).to_have_url(re.compile(r"/2fa/verify/"))
    expect(stolen.locator("input[name=otp_token]")).to_be_visible()
    # Why: the trusted-device cookie was recognized, its binding was not.
    owed = stolen.evaluate(
        """async () => {
            const r = await fetch("/", {headers: {Accept: "application/json"}});
            return {status: r.status, body: await r.json()};
        }"""
    )
    assert owed["status"] == 401 and owed["body"]["reasons"] == ["unbound"], owed
    # Nothing was revoked: the owner's browser, holding the key, is still trusted.
    sign_out(page)
    sign_in(page, site.base)
    expect(page).to_have_url(home)
    assert [d["bound"] for d in site.devices()] == [True]
    thief.close()
    owner.close()
