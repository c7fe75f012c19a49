"""The DRF guide's stories, run inside the project ``test_integration_guide``
built from the quickstart and docs/guides/drf.md: a password alone gets no
token, a session that entered its code gets one, and the guide's sensitive
view takes a recent code from the session, never a token. Started as a
script with that project's settings; exits non-zero on a failure."""

from __future__ import annotations

import time

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402
from guide_stories import CHROME, PASSWORD, code, sign_in  # noqa: E402  (beside this script)

JSON = {"HTTP_ACCEPT": "application/json"}


def main() -> None:
    setup_test_environment()
    user = get_user_model().objects.create_user("guide", "guide@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="Phone", confirmed=True)
    now = time.time()

    script = Client(HTTP_USER_AGENT=CHROME)
    refused = script.post("/api/token/", {"username": "guide", "password": PASSWORD}, **JSON)
    assert refused.status_code in (401, 403), refused.content[:300]
    assert "token" not in refused.json(), refused.json()
    sign_in(script)
    owed = script.post("/api/token/", **JSON)
    assert owed.status_code == 401 and owed.json()["error"] == "step_up_required", owed.content
    print("token: refused to a password alone and to a session that owes its code")

    passed = script.post("/2fa/verify/", {"otp_token": code(device, now)}, **JSON)
    assert passed.status_code == 200, passed.content[:300]
    minted = script.post("/api/token/", **JSON)
    assert minted.status_code == 200, minted.content[:300]
    token = minted.json()["token"]
    print("token: minted for the session that entered its code")

    with_token = Client(HTTP_USER_AGENT=CHROME, HTTP_AUTHORIZATION=f"Token {token}")
    assert with_token.post("/api/payouts/", **JSON).status_code == 403
    assert script.post("/api/payouts/", **JSON).status_code == 200
    print("payouts: a recent code in the session, never the token alone")


if __name__ == "__main__":
    main()
