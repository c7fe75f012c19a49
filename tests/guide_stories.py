"""The quickstart's stories (its home page, a new device, a familiar browser,
a revoke) and the admin's sudo mode, run inside the project
``test_integration_guide`` built from docs/quickstart.md. Started as a script
with that project's settings; exits non-zero (AssertionError) when a story
fails."""

from __future__ import annotations

import re
import time

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.tokens import default_token_generator  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django.utils.encoding import force_bytes  # noqa: E402
from django.utils.http import urlsafe_base64_encode  # noqa: E402
from django_otp.oath import TOTP  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
PASSWORD = "the guide works as written"


def code(device: TOTPDevice, at: float) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at
    return f"{totp.token():06d}"


def sign_in(client: Client, username: str = "guide"):
    response = client.post("/accounts/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return response


def location(response) -> str:
    return response.headers.get("Location", "")


def home_page(client: Client) -> None:
    """The quickstart's home page: its links and its sign-out form."""
    home = client.get("/")
    assert home.status_code == 200, home
    for link in ('href="/2fa/setup/"', 'href="/devices/"', 'action="/accounts/logout/"'):
        assert link in home.text, (link, home.text)
    print("home: links to 2FA and trusted devices, and signs out")


def main() -> None:
    setup_test_environment()  # the test client's host, like Django's test runner
    user = get_user_model().objects.create_user("guide", "guide@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    now = time.time()

    # New device: the password leads to the code page and nowhere else.
    laptop = Client(HTTP_USER_AGENT=CHROME)
    sign_in(laptop)
    gated = laptop.get("/devices/")
    assert gated.status_code == 302 and location(gated).startswith("/2fa/verify/"), gated
    passed = laptop.post("/2fa/verify/", {"otp_token": code(device, now), "trust_device": "on"})
    assert passed.status_code == 302, passed.content[:500]
    # Without ?next=, LOGIN_REDIRECT_URL as the guide sets it (not Django's
    # /accounts/profile/), to the quickstart's home page.
    assert location(passed) == "/", location(passed)
    home_page(laptop)
    listing = laptop.get("/devices/")
    assert listing.status_code == 200 and "Chrome on Windows" in listing.text
    print("new device: challenged, passed with a code, trusted")

    # Familiar browser: signed out and in again, no code.
    assert laptop.post("/accounts/logout/").status_code in (200, 302)
    assert laptop.get("/devices/").status_code == 302  # signed out
    sign_in(laptop)
    again = laptop.get("/devices/")
    assert again.status_code == 200, location(again)
    assert again.wsgi_request.trust.method == "trusted_device"
    assert again.wsgi_request.user.is_verified()
    print("familiar browser: signed in with the password alone")

    # Another browser is challenged; from it, revoke the laptop.
    other = Client(HTTP_USER_AGENT=FIREFOX)
    sign_in(other)
    assert location(other.get("/devices/")).startswith("/2fa/verify/")
    other_passed = other.post("/2fa/verify/", {"otp_token": code(device, now + 30)})
    assert other_passed.status_code == 302, other_passed.content[:500]
    page = other.get("/devices/").text
    laptop_id = re.search(r'id="device-(\d+)"', page).group(1)
    assert other.post(f"/devices/{laptop_id}/revoke/").status_code == 302
    after = laptop.get("/devices/")
    assert after.status_code == 302 and location(after).startswith("/accounts/login/"), after
    sign_in(laptop)
    assert location(laptop.get("/devices/")).startswith("/2fa/verify/")
    print("revoke: the laptop was signed out, and its next sign-in asks for a code")

    # The admin: a session let in by a trusted device enters a code before it
    # may add an authenticator.
    staff = get_user_model().objects.create_superuser("staff", "staff@example.com", PASSWORD)
    staff_device = TOTPDevice.objects.create(user=staff, name="Phone", confirmed=True)
    desk = Client(HTTP_USER_AGENT=CHROME)
    sign_in(desk, "staff")
    desk.post("/2fa/verify/", {"otp_token": code(staff_device, now), "trust_device": "on"})
    desk.post("/accounts/logout/")
    sign_in(desk, "staff")
    add = "/admin/otp_totp/totpdevice/add/"
    asked = desk.get(add)
    assert location(asked) == f"/2fa/verify/?next={add}", location(asked)
    desk.post("/2fa/verify/", {"otp_token": code(staff_device, now + 30)})
    assert desk.get(add).status_code == 200
    print("admin: a trusted-device session entered a code before adding an authenticator")

    # The site's own views that call a plain login(request, user).
    newcomer = Client(HTTP_USER_AGENT=CHROME)
    joined = newcomer.post("/signup/", {"username": "newcomer", "password": PASSWORD})
    assert joined.status_code == 302, joined.status_code
    assert newcomer.get("/devices/").status_code == 200  # no 2FA: nothing owed
    print("sign-up: login(request, user) signed the new user in")

    reset = Client(HTTP_USER_AGENT=FIREFOX)
    user.refresh_from_db()  # the token covers its last sign-in
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    form = reset.get(f"/reset/{uid}/{default_token_generator.make_token(user)}/")
    new = "the guide resets a password"
    done = reset.post(location(form), {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and location(done).startswith("/2fa/verify/"), location(done)
    assert location(reset.get("/devices/")).startswith("/2fa/verify/")  # still owes a code
    print("reset: post_reset_login signed in, and the gate still asks for the code")


if __name__ == "__main__":
    main()
