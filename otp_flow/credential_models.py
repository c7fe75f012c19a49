"""Which models hold or mint a credential, or grant privileges: the sudo admin's rule.

``SudoAdminSite`` opens every page of such a model only to a session that
entered a code lately (docs/security.md R38: the admin is no side door). The
rule is one function, ``holds_credentials(model)``, true when the model, a
model it derives from (a proxy's, a child's parents), or the model that owns
it (the hidden table of a many-to-many field) is:

1. of a known credential app (``CREDENTIAL_APPS``, by Python package: API
   tokens, second factors, django-otp and its plugins, social logins' client
   secrets and tokens, e-mail addresses, sessions, and Trustgate's own trusted
   devices, security log and password throttle);
2. a django-otp device (``django_otp.models.Device``), whatever its app;
3. the user model (a password, ``is_staff``, ``is_superuser``, groups);
4. ``auth.Permission``, or a model with a field pointing at it (``auth.Group``,
   the user model, their permission tables): who may do what is a privilege;
5. named by the site in ``OTP_FLOW_ADMIN_SUDO_MODELS``.

Check ``otp_flow.W003`` names each model registered in a sudo admin site that
has a field named like a credential and that this rule does not cover.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Model
from django_otp.models import Device

from .conf import conf

# By the app's Python package (``AppConfig.name``): unlike a label, a site's
# own app cannot take it by chance (many sites have an app labelled "account").
CREDENTIAL_APPS: frozenset[str] = frozenset(
    {
        "rest_framework.authtoken",  # DRF: Token, TokenProxy (API keys in clear)
        "knox",  # django-rest-knox: AuthToken
        "rest_framework_simplejwt.token_blacklist",  # OutstandingToken, BlacklistedToken
        "oauth2_provider",  # django-oauth-toolkit: applications' secrets, tokens, grants
        "allauth.mfa",  # Authenticator (TOTP secrets, recovery codes, passkeys)
        "allauth.socialaccount",  # SocialApp (client secrets), SocialToken, SocialAccount
        "allauth.account",  # EmailAddress (a verified address resets the password)
        "social_django",  # python-social-auth: UserSocialAuth (tokens, a linked login)
        "rest_framework_api_key",  # djangorestframework-api-key: APIKey (minted keys)
        "django_rest_passwordreset",  # ResetPasswordToken
        "axes",  # django-axes: lock-outs (as Trustgate's password throttles)
        "django.contrib.sessions",  # a session key is a bearer credential
        "django_otp",  # and each of its plugins, django_otp.plugins.*
        "django_otp_webauthn",  # passkeys and their attestations
        "trust",  # trusted devices, their sessions, the security log, password throttles
        "otp_flow",  # backup codes
    }
)

# A field whose name says it holds a credential (check otp_flow.W003).
_CREDENTIAL_NAME = re.compile(
    r"token|secret|passw|passphrase|credential|apikey|(?:^|_)keys?(?:_|$)", re.IGNORECASE
)


def holds_credentials(model: type[Model], named: Collection[str] = ()) -> bool:
    """Does ``model`` hold or mint a credential, or grant privileges (the rule above)?

    ``named``: more models, as lower-case labels (``"shop.payout"``); the
    site's are ``site_named_labels()``.
    """
    return any(_holds(each, named) for each in _lineage(model))


def _lineage(model: type[Model]) -> list[type[Model]]:
    """The model, the models it derives from, and the model that owns it if
    it is a many-to-many field's hidden table."""
    lineage = [model, *model._meta.get_parent_list()]
    owner = model._meta.auto_created
    if isinstance(owner, type) and issubclass(owner, Model):
        lineage += _lineage(owner)
    return lineage


def _holds(model: type[Model], named: Collection[str]) -> bool:
    meta = model._meta
    return (
        _is_credential_app(meta.app_config.name if meta.app_config else "")
        or issubclass(model, Device)
        or issubclass(model, get_user_model())
        or model is Permission
        or any(
            field.related_model is Permission and not field.auto_created
            for field in meta.get_fields()
        )
        or meta.label_lower in named
    )


def _is_credential_app(app_name: str) -> bool:
    """One of ``CREDENTIAL_APPS``, or a plugin of django-otp's (``django_otp.plugins.otp_totp``)."""
    return app_name in CREDENTIAL_APPS or app_name.startswith("django_otp.")


def site_named_labels() -> frozenset[str]:
    """The models of ``OTP_FLOW_ADMIN_SUDO_MODELS``, as lower-case labels."""
    return frozenset(label.lower() for label in conf.ADMIN_SUDO_MODELS)


def credential_like_fields(model: type[Model]) -> list[str]:
    """The names of ``model``'s own fields (not relations) that sound like a
    credential: token, secret, password, passphrase, credential, key."""
    return [
        field.name
        for field in model._meta.get_fields()
        if not field.is_relation and _CREDENTIAL_NAME.search(field.name)
    ]


def credential_like_options(model_admin: object) -> list[str]:
    """What a model admin (or inline) shows, searches or filters by (``list_display``,
    ``search_fields``...) whose name sounds like a credential: another
    model's, reached through a relation (``user__auth_token__key``), or a
    method's."""
    names: list[str] = []
    for option in ("list_display", "list_filter", "search_fields", "readonly_fields", "fields"):
        for name in _flat(getattr(model_admin, option, None) or ()):
            name = name.lstrip("^=@")
            if _CREDENTIAL_NAME.search(name) and name not in names:
                names.append(name)
    return names


def _flat(values: object) -> list[str]:
    """The names in an admin option, its tuples (``fields`` rows,
    ``list_filter`` pairs) opened, a callable by its name."""
    if isinstance(values, str):
        return [values]
    if callable(values):
        return [getattr(values, "__name__", "")]
    if isinstance(values, list | tuple):
        return [name for value in values for name in _flat(value)]
    return []
