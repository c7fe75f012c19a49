"""Which accounts a typed sign-in identifier names.

A login view hands ``authenticate()`` what was typed: a username in any
case or width, an e-mail address. The password throttle must charge the
account behind it, whichever of its names was typed, so it asks here, in
one query that is the same whether an account answers or not.

It looks the identifier up as the login backends do, a little wider:

- the username field as Django's ``ModelBackend`` matches it (exactly, as
  typed or NFKC-normalized as its forms do), or lower-cased (allauth's
  stored usernames); allauth with ``ACCOUNT_PRESERVE_USERNAME_CASING``
  (its default) matches it case-insensitively, and so does this;
- an identifier with an "@", where a backend may sign in by e-mail: the
  e-mail field case-insensitively when a backend of the site's own is
  listed (the usual "username or e-mail" backends); with allauth's e-mail
  login, the field and allauth's ``EmailAddress`` rows (every address of an
  account, not only the main one) in lower case, as allauth stores them.
  A site whose backends are Django's (or Trustgate's) alone signs in by
  username only, and its e-mail column, which Django does not index, is
  never read.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q

from ..rules import backoff

# An identifier naming more accounts than this (one address shared by many)
# charges the first ones: a bound on what one typed name costs to look up.
MAX_ACCOUNTS = 10


def accounts_named(identifier: object) -> list[Any]:
    """The primary keys of the accounts ``identifier`` names (at most
    ``MAX_ACCOUNTS``), in one query.

    SECURITY: the query depends only on what was typed, never on whether an
    account answers it: an unknown name costs the same as a known one.
    """
    forms = backoff.spellings(identifier)
    if not forms:
        return []
    model = get_user_model()
    match = Q(**{f"{model.USERNAME_FIELD}__in": forms})
    allauth = _allauth_login_methods()
    if allauth is not None and "username" in allauth.methods and allauth.username_field:
        lookup = "iexact" if allauth.preserves_case else "in"
        value: object = forms[0] if allauth.preserves_case else [f.lower() for f in forms]
        match |= Q(**{f"{allauth.username_field}__{lookup}": value})
    email_field = _email_field(model) if "@" in forms[0] else None
    if email_field is not None and _own_backend():
        # SECURITY: a backend of the site's own may sign in by e-mail, as the
        # usual "username or e-mail" backends do, case-insensitively.
        for form in forms[:2]:  # as typed, normalized: the rest are their cases
            match |= Q(**{f"{email_field}__iexact": form})
    if "@" in forms[0] and allauth is not None and "email" in allauth.methods:
        lowered = [form.lower() for form in forms]  # allauth stores and looks up lower case
        if allauth.email_field:
            match |= Q(**{f"{allauth.email_field}__in": lowered})
        addresses = apps.get_model("account", "EmailAddress")._default_manager
        match |= Q(pk__in=addresses.filter(email__in=lowered).values("user_id"))
    # No ORDER BY: with one, PostgreSQL may walk the primary key instead of
    # the indexes the conditions use.
    return list(
        model._default_manager.filter(match).order_by().values_list("pk", flat=True)[:MAX_ACCOUNTS]
    )


# Backends known to look accounts up by the username field alone (or not by
# a typed name at all): with only these, an e-mail address names no account.
_BY_USERNAME = {
    "django.contrib.auth.backends.ModelBackend",
    "django.contrib.auth.backends.AllowAllUsersModelBackend",
    "django.contrib.auth.backends.RemoteUserBackend",
    "django.contrib.auth.backends.AllowAllUsersRemoteUserBackend",
    "trust.backends.ModelBackend",
    "trust.backends.PasswordThrottleBackend",
    "django_otp_webauthn.backends.WebAuthnBackend",
    "allauth.account.auth_backends.AuthenticationBackend",  # read by its settings
}


def _own_backend() -> bool:
    """Is a backend listed that may sign in by e-mail (any but the known ones)?

    The e-mail look-up reads a column Django's user table does not index: a
    site whose backends sign in by username only does not pay for it.
    """
    return any(path not in _BY_USERNAME for path in settings.AUTHENTICATION_BACKENDS)


def _email_field(model: Any) -> str | None:
    name = model.get_email_field_name()
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return str(name)


class _Allauth(NamedTuple):
    methods: set[str]  # "username", "email"
    username_field: str | None
    email_field: str | None
    preserves_case: bool


def _allauth_login_methods() -> _Allauth | None:
    """How allauth's login looks accounts up, when its account app is installed
    (its documented ``ACCOUNT_*`` settings, read through its own defaults)."""
    if not apps.is_installed("allauth.account"):
        return None
    from allauth.account import app_settings

    return _Allauth(
        {str(getattr(method, "value", method)) for method in app_settings.LOGIN_METHODS},
        app_settings.USER_MODEL_USERNAME_FIELD,
        app_settings.USER_MODEL_EMAIL_FIELD,
        bool(app_settings.PRESERVE_USERNAME_CASING),
    )
