"""The quickstart's stories through django-allauth's pages, run inside the
project ``test_integration_guide`` built from the quickstart and
docs/guides/allauth.md. Started as a script with that project's settings;
exits non-zero on a failure."""

from __future__ import annotations

import re
import time

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402
from guide_stories import CHROME, PASSWORD, code, home_page, location  # noqa: E402  (beside this script)


def sign_in(client: Client) -> object:
    # allauth's sign-in form: "login" (the username here) and "password".
    response = client.post("/accounts/login/", {"login": "guide", "password": PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return response


def main() -> None:
    setup_test_environment()
    user = get_user_model().objects.create_user("guide", "guide@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    now = time.time()

    laptop = Client(HTTP_USER_AGENT=CHROME)
    assert location(sign_in(laptop)).startswith("/2fa/verify/")
    # The code page offers allauth's sign-out, and it works while a code is owed.
    page = laptop.get("/2fa/verify/").content.decode()
    assert re.search(r'<form[^>]+action="/accounts/logout/"', page), page[:2000]
    laptop.post("/accounts/logout/")
    assert location(laptop.get("/devices/")).startswith("/accounts/login/")
    sign_in(laptop)
    passed = laptop.post("/2fa/verify/", {"otp_token": code(device, now), "trust_device": "on"})
    assert passed.status_code == 302, passed.content[:500]
    assert laptop.get("/devices/").status_code == 200
    print("new device: signed out from the code page through allauth, then passed and trusted")

    laptop.post("/accounts/logout/")
    assert location(sign_in(laptop)) == "/", "a familiar browser goes straight on"
    again = laptop.get("/devices/")
    assert again.status_code == 200 and again.wsgi_request.trust.method == "trusted_device"
    print("familiar browser: signed in through allauth with the password alone")
    home_page(laptop)


if __name__ == "__main__":
    main()
