"""The admin pages of other apps' credentials (run by tests/test_credential_apps.py).

A superuser signed in on a trusted device with the password alone, no code
entered, opens none of them until a fresh code (otp_flow.admin_site).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.utils import timezone

from otp_flow import checks
from otp_flow.credential_models import holds_credentials
from tests.conftest import trusted_browser
from tests.test_admin_guard import asked_for_code, fresh_code, trusted_admin

pytestmark = pytest.mark.django_db

APP_LABELS = ["knox", "token_blacklist", "account", "mfa", "socialaccount"]


def test_every_model_of_these_apps_is_covered_by_the_rule():
    for label in APP_LABELS:
        models = list(apps.get_app_config(label).get_models())
        assert models, label
        for model in models:
            assert holds_credentials(model), model._meta.label


def test_no_credential_like_model_is_left_open():
    assert checks.check_admin_credential_models() == []


@pytest.fixture
def rows(make_user):
    """A row of each model, the superuser's."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
    from knox.models import AuthToken
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    root = make_user("root", is_staff=True, is_superuser=True)
    user = root.user
    AuthToken.objects.create(user)
    outstanding = OutstandingToken.objects.create(
        user=user,
        jti="jti-1",
        token="header.payload.signature",
        expires_at=timezone.now() + timedelta(days=1),
    )
    BlacklistedToken.objects.create(token=outstanding)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Authenticator.objects.create(user=user, type="totp", data={"secret": "JBSWY3DPEHPK3PXP"})
    app = SocialApp.objects.create(
        provider="github", name="GitHub", client_id="id", secret="the client secret"
    )
    account = SocialAccount.objects.create(user=user, provider="github", uid="1")
    SocialToken.objects.create(app=app, account=account, token="the access token")
    return root


def test_their_admin_pages_and_actions_need_a_fresh_code(rows, clock):
    laptop = trusted_admin(rows, trusted_browser(rows, clock))
    registered = [
        model for model in admin.site.registered_models() if model._meta.app_label in APP_LABELS
    ]
    assert {model._meta.label for model in registered} >= {
        "knox.AuthToken",
        "token_blacklist.OutstandingToken",
        "token_blacklist.BlacklistedToken",
        "account.EmailAddress",
        "mfa.Authenticator",
        "socialaccount.SocialApp",
        "socialaccount.SocialToken",
        "socialaccount.SocialAccount",
    }
    for model in registered:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        pages = [base, f"{base}add/"]
        pk = model._default_manager.values_list("pk", flat=True).first()
        if pk is not None:
            pages += [f"{base}{pk}/change/", f"{base}{pk}/delete/", f"{base}{pk}/history/"]
            action = {"action": "delete_selected", "_selected_action": [pk], "post": "yes"}
            assert asked_for_code(laptop.post(base, action), base), base
            assert model._default_manager.filter(pk=pk).exists(), base
        for page in pages:
            response = laptop.get(page)
            assert asked_for_code(response, page), page
            assert b"the client secret" not in response.content

    base = "/admin/socialaccount/socialapp/"
    fresh_code(laptop, rows, base)
    assert laptop.get(base).status_code == 200
