"""The sudo admin's rule, ``holds_credentials``, on real model classes."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.test.utils import isolate_apps
from django_otp.models import Device
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential
from rest_framework.authtoken.models import Token, TokenProxy

from otp_flow.credential_models import (
    credential_like_fields,
    credential_like_options,
    holds_credentials,
    site_named_labels,
)
from otp_flow.models import BackupCode, BackupCodeDevice
from trust.models import (
    PasswordThrottle,
    SecurityEvent,
    SignInAttempt,
    SupersededToken,
    TrustedDevice,
    TrustedSession,
)

User = get_user_model()

COVERED = [
    Token,  # API tokens, in clear
    TokenProxy,
    TOTPDevice,
    EmailDevice,
    WebAuthnCredential,
    WebAuthnAttestation,
    BackupCodeDevice,
    BackupCode,
    Session,
    User,
    User.groups.through,  # who is in which group
    User.user_permissions.through,
    Group,
    Group.permissions.through,
    Permission,
    TrustedDevice,
    TrustedSession,
    SupersededToken,
    SecurityEvent,
    SignInAttempt,
    PasswordThrottle,
]


@pytest.mark.parametrize("model", COVERED, ids=lambda model: model._meta.label)
def test_credential_models_are_covered(model):
    assert holds_credentials(model)


@pytest.mark.parametrize("model", [LogEntry, ContentType], ids=lambda model: model._meta.label)
def test_models_that_hold_no_credential_are_not(model):
    assert not holds_credentials(model)


def test_a_site_names_its_own_models_by_label_in_any_case(settings):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["admin.LogEntry"]
    assert holds_credentials(LogEntry, site_named_labels())
    assert not holds_credentials(ContentType, site_named_labels())


def test_the_setting_as_a_tuple_names_its_models(settings):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ("admin.logentry",)
    assert site_named_labels() == {"admin.logentry"}


@pytest.mark.parametrize("value", ["admin.LogEntry", None, [42]])
def test_the_setting_malformed_is_refused_not_guessed_at(settings, value):
    # SECURITY: a malformed list guards nothing more, silently: it is refused.
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = value
    with pytest.raises(ImproperlyConfigured, match="OTP_FLOW_ADMIN_SUDO_MODELS"):
        site_named_labels()


@isolate_apps("project")
def test_proxies_children_and_relations_of_covered_models_are_covered():
    class ShopToken(Token):  # a proxy, in another app
        class Meta:
            proxy = True
            app_label = "project"

    class Staff(User):  # a child table of the user model
        class Meta:
            app_label = "project"

    class Role(models.Model):  # grants permissions: a privilege
        grants = models.ManyToManyField(Permission)

        class Meta:
            app_label = "project"

    class HardwareKey(Device):  # a django-otp device of a plugin not listed
        class Meta:
            app_label = "project"

    class Reading(models.Model):  # points at a user: not a credential by itself
        user = models.ForeignKey(User, on_delete=models.CASCADE)
        value = models.IntegerField()

        class Meta:
            app_label = "project"

    class LogProxy(LogEntry):
        class Meta:
            proxy = True
            app_label = "project"

    for model in [ShopToken, Staff, Role, Role.grants.through, HardwareKey]:
        assert holds_credentials(model), model
    for model in [Reading, LogProxy]:
        assert not holds_credentials(model), model
    assert holds_credentials(LogProxy, {"admin.logentry"})  # named: its proxies too


@isolate_apps("project")
def test_credential_like_names():
    class Partner(models.Model):
        api_key = models.CharField(max_length=64)
        webhook_secret = models.CharField(max_length=64)
        keyboard = models.CharField(max_length=10)
        monkey = models.CharField(max_length=10)
        owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "project"

    assert credential_like_fields(Partner) == ["api_key", "webhook_secret"]

    class PartnerAdmin:
        list_display = ["owner", "monkey"]
        search_fields = ["^owner__auth_token__key", "owner__username"]
        fields = [("owner", "keyboard"), "password_hint"]

    assert credential_like_options(PartnerAdmin) == ["owner__auth_token__key", "password_hint"]
