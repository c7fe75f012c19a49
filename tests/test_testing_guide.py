"""The testing guide's helper, read from docs/guides/testing.md, works as it says."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.test_integration_guide import REPO, page_blocks

GUIDE = REPO / "docs" / "guides" / "testing.md"


@pytest.fixture
def helpers() -> dict:
    """The guide's block, run as the module a site would paste it into."""
    (block,) = page_blocks(GUIDE)
    namespace: dict = {}
    exec(compile(block.code, str(GUIDE), "exec"), namespace)
    return namespace


@pytest.mark.django_db
def test_a_user_with_2fa_signed_in_by_force_login_owes_a_code(django_user_model):
    from django.test import Client

    user = django_user_model.objects.create_user("alice", password="a long passphrase 1")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = Client()
    client.force_login(user)
    assert client.get("/")["Location"].startswith("/2fa/verify/")
    answer = client.get("/", HTTP_ACCEPT="application/json")
    assert answer.status_code == 401 and answer.json()["error"] == "step_up_required"


@pytest.mark.django_db
def test_the_guides_verified_client_reaches_the_views(helpers, django_user_model, clock):
    user = django_user_model.objects.create_user("alice", password="a long passphrase 1")
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = helpers["verified_client"](user)
    home = client.get("/")
    assert home.status_code == 200 and "alice" in home.content.decode()
    assert home.wsgi_request.trust.method == "otp"
    assert home.wsgi_request.user.is_verified()


@pytest.mark.django_db
def test_a_user_without_2fa_needs_only_force_login(django_user_model):
    from django.test import Client

    user = django_user_model.objects.create_user("bob", password="a long passphrase 1")
    client = Client()
    client.force_login(user)
    home = client.get("/")
    assert home.status_code == 200 and home.wsgi_request.trust.method == "password"
