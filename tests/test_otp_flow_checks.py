"""otp_flow's system checks: one test per id."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from otp_flow import checks


def ids(messages):
    return [m.id for m in messages]


def test_clean_settings_pass():
    assert [m for m in run_checks() if m.id and m.id.startswith("otp_flow.")] == []


@pytest.mark.parametrize(
    "missing", ["OTP_WEBAUTHN_RP_ID", "OTP_WEBAUTHN_RP_NAME", "OTP_WEBAUTHN_ALLOWED_ORIGINS"]
)
def test_e020_relying_party_not_configured(settings, missing):
    setattr(settings, missing, [] if missing.endswith("ORIGINS") else "")
    assert ids(checks.check_passkeys()) == ["otp_flow.E020"]


def test_e021_rp_id_not_a_host_of_this_site(settings):
    settings.OTP_WEBAUTHN_RP_ID = "example.com"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["https://example.com"]
    settings.ALLOWED_HOSTS = ["trustgate.example.org"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E021"]
    settings.ALLOWED_HOSTS = ["login.example.com"]  # a parent domain is fine
    assert ids(checks.check_passkeys()) == []


@pytest.mark.parametrize("origin", ["https://evil.example", "https://notlocalhost:8000"])
def test_e022_origin_not_on_the_rp_id(settings, origin):
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000", origin]
    assert ids(checks.check_passkeys()) == ["otp_flow.E022"]


def rp_name_of(request):
    """An OTP_WEBAUTHN_RP_NAME_CALLABLE (or _ID_CALLABLE): decided per request."""
    return request.get_host()


CALLABLE = "tests.test_otp_flow_checks.rp_name_of"


@pytest.mark.parametrize(
    "settings_",
    [
        {"OTP_WEBAUTHN_RP_NAME": "", "OTP_WEBAUTHN_RP_NAME_CALLABLE": CALLABLE},
        {"OTP_WEBAUTHN_RP_ID": "", "OTP_WEBAUTHN_RP_ID_CALLABLE": CALLABLE},
        {
            "OTP_WEBAUTHN_RP_ID": "",
            "OTP_WEBAUTHN_RP_NAME": "",
            "OTP_WEBAUTHN_RP_ID_CALLABLE": CALLABLE,
            "OTP_WEBAUTHN_RP_NAME_CALLABLE": CALLABLE,
        },
    ],
    ids=["name-callable", "id-callable", "both-callable"],
)
def test_e020_accepts_the_callable_form_of_each_setting(settings, settings_):
    for name, value in settings_.items():
        setattr(settings, name, value)
    assert ids(checks.check_passkeys()) == []


def test_e020_a_callable_does_not_stand_in_for_the_origins(settings):
    settings.OTP_WEBAUTHN_RP_ID_CALLABLE = CALLABLE
    settings.OTP_WEBAUTHN_RP_NAME_CALLABLE = CALLABLE
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = []
    assert ids(checks.check_passkeys()) == ["otp_flow.E020"]


MULTI_DOMAIN = {
    "ALLOWED_HOSTS": ["example.com", "example.co.uk"],
    "OTP_WEBAUTHN_RP_ID": "example.com",
    "OTP_WEBAUTHN_ALLOWED_ORIGINS": ["https://example.com", "https://example.co.uk"],
    "OTP_WEBAUTHN_RP_RELATED_ORIGINS": ["https://example.com", "https://EXAMPLE.co.uk/"],
}


def test_e022_accepts_an_origin_on_another_domain_listed_as_a_related_origin(settings):
    for name, value in MULTI_DOMAIN.items():
        setattr(settings, name, value)
    assert ids(checks.check_passkeys()) == []
    # The .co.uk deployment on its own: its host is a related origin of the RP ID.
    settings.ALLOWED_HOSTS = ["example.co.uk"]
    assert ids(checks.check_passkeys()) == []


@pytest.mark.parametrize(
    "origins",
    [
        ["https://example.com", "https://evil.example"],  # related origins are no wildcard
        ["https://example.com", "http://example.co.uk"],  # another scheme: another origin
        ["https://example.com", "https://example.co.uk:8443"],  # another port
        ["https://example.com", "https://[::1"],  # no origin at all
    ],
)
def test_e022_still_refuses_an_origin_neither_on_the_rp_id_nor_related(settings, origins):
    for name, value in MULTI_DOMAIN.items():
        setattr(settings, name, value)
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = origins
    assert ids(checks.check_passkeys()) == ["otp_flow.E022"]


def test_e021_still_refuses_a_site_none_of_whose_hosts_the_rp_id_or_related_origins_name(
    settings,
):
    for name, value in MULTI_DOMAIN.items():
        setattr(settings, name, value)
    settings.ALLOWED_HOSTS = ["example.org"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E021"]


@pytest.mark.parametrize("related", ["https://example.co.uk", None, [42, "junk"], ["junk"]])
def test_malformed_related_origins_are_no_500_and_no_pass(settings, related):
    settings.OTP_WEBAUTHN_RP_RELATED_ORIGINS = related
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000", "junk"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E022"]


def test_e023_passwordless_without_the_backend(settings):
    settings.OTP_FLOW_PASSKEY_PASSWORDLESS = True
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E023"]


def test_e023_is_checked_under_an_rp_id_callable_too(settings):
    settings.OTP_WEBAUTHN_RP_ID_CALLABLE = CALLABLE
    settings.OTP_FLOW_PASSKEY_PASSWORDLESS = True
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
    assert ids(checks.check_passkeys()) == ["otp_flow.E023"]


def test_e003_admin_sudo_models_naming_no_installed_model(settings):
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["auth.Group", "nowhere.Model", "auth.Gruop"]
    found = checks.check_admin_sudo_models()
    assert ids(found) == ["otp_flow.E003"]
    assert "'nowhere.Model', 'auth.Gruop'" in found[0].msg
    settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["auth.Group", "contenttypes.ContentType"]
    assert checks.check_admin_sudo_models() == []


def test_w001_an_admin_site_without_sudo_mode():
    from django.contrib.admin import AdminSite

    plain = AdminSite(name="plain")
    found = checks.check_admin_sites()
    assert ids(found) == ["otp_flow.W001"]
    assert "'plain'" in found[0].msg
    assert plain.name == "plain"  # kept alive until here: the check sees live sites


def test_w003_a_credential_like_model_the_sudo_rule_leaves_open(settings):
    from django.db import models
    from django.test.utils import isolate_apps

    from otp_flow.admin_site import SudoAdminSite

    with isolate_apps("project"):

        class Partner(models.Model):
            name = models.CharField(max_length=50)
            api_key = models.CharField(max_length=64)
            owner = models.ForeignKey("auth.User", on_delete=models.CASCADE)

            class Meta:
                app_label = "project"

        class Note(models.Model):  # nothing that sounds like a credential
            monkey = models.CharField(max_length=50)

            class Meta:
                app_label = "project"

        class Remark(models.Model):  # shows another model's credential
            author = models.ForeignKey("auth.User", on_delete=models.CASCADE)

            class Meta:
                app_label = "project"

        def author_token(remark):
            return remark.author.auth_token.key

        site = SudoAdminSite(name="partners")
        site.register([Partner, Note])
        site.register(Remark, list_display=["author", author_token])
        try:
            found = checks.check_admin_credential_models()
            assert ids(found) == ["otp_flow.W003", "otp_flow.W003"]
            partner, remark = found
            assert "project.Partner" in partner.msg and "api_key" in partner.msg
            assert "'partners'" in partner.msg
            assert '"project.Partner"' in partner.hint
            assert "project.Remark" in remark.msg and "author_token" in remark.msg
            settings.OTP_FLOW_ADMIN_SUDO_MODELS = ["project.Partner", "project.remark"]
            assert checks.check_admin_credential_models() == []
        finally:
            site.unregister([Partner, Note, Remark])  # the site may outlive the test


def test_w003_is_silent_on_the_demo_site():
    assert checks.check_admin_credential_models() == []
