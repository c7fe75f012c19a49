"""Authentication backends that throttle password guessing.

Most sites replace Django's ``ModelBackend`` with this one, and keep one
backend, so a plain ``login(request, user)`` (a sign-up view, Django's
``PasswordResetConfirmView(post_reset_login=True)``) still knows which
backend signed the user in::

    AUTHENTICATION_BACKENDS = ["trust.backends.ModelBackend"]

Backends that check passwords go after it (allauth's, LDAP ...). A site
without ``ModelBackend`` lists ``PasswordThrottleBackend`` first instead.
``trust.E030`` and ``trust.E031`` say when neither comes first.

Every login view calls ``django.contrib.auth.authenticate()``: Django's
``LoginView``, the admin's, allauth's, a site's own API.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import backends, get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from .flows import password_throttle


@sensitive_variables("password")
def throttle(
    request: HttpRequest | None, username: object, password: str | None, credentials: Any
) -> None:
    """Raise ``PermissionDenied`` when this password attempt must be refused
    unchecked (its accounts or its address are throttled).

    ``authenticate()`` then stops before any backend checks the password,
    returns ``None`` and sends ``user_login_failed``, exactly as for a wrong
    password, so every login view answers a throttled attempt as it answers
    a wrong one, whether the account exists or not.
    """
    if password is None:
        return  # not a password sign-in: not ours to throttle
    named = password_throttle.typed_username(username, credentials)
    if password_throttle.refuses(request, named):
        # SECURITY: as slow as a checked password, so the response time does
        # not tell a throttled attempt apart.
        _hash_anyway(password)
        raise PermissionDenied


class ModelBackend(backends.ModelBackend):
    """Django's ``ModelBackend``, refusing password attempts while their
    account or address is throttled, before it checks the password.

    In place of ``django.contrib.auth.backends.ModelBackend``, not beside it:
    a site with one backend keeps a plain ``login(request, user)`` working.
    """

    @sensitive_variables("password")
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        throttle(request, username, password, kwargs)
        if _unstorable(username, kwargs):
            return _as_unknown_user(password)
        return super().authenticate(request, username, password, **kwargs)

    @sensitive_variables("password")
    async def aauthenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        await sync_to_async(throttle)(request, username, password, kwargs)
        if _unstorable(username, kwargs):
            return await sync_to_async(_as_unknown_user)(password)
        return await super().aauthenticate(request, username, password, **kwargs)


def _unstorable(username: object, credentials: dict[str, Any]) -> bool:
    """A name no account can have, which some databases refuse to compare.

    SECURITY: PostgreSQL raises on a NUL character in a text parameter, so
    Django's look-up would answer a site's own JSON login with a 500 (its
    forms refuse NUL before ``authenticate()``). No such account exists.
    """
    if username is None:
        username = credentials.get(get_user_model().USERNAME_FIELD)
    return isinstance(username, str) and "\x00" in username


@sensitive_variables("password")
def _as_unknown_user(password: object) -> None:
    """What Django's ``ModelBackend`` does for a name no account has: hash the
    password all the same (the answer takes as long), and sign in no one."""
    _hash_anyway(password)
    return None


@sensitive_variables("password")
def _hash_anyway(password: object) -> None:
    """Hash ``password`` as a check would, for nothing (Django's
    ``ModelBackend`` does the same for a name no account has)."""
    if isinstance(password, bytes):
        password = password.decode(errors="replace")
    if isinstance(password, str):
        make_password(password)


class PasswordThrottleBackend:
    """Only the throttle, for a site whose password backends are not Django's
    ``ModelBackend`` (LDAP, a backend of its own): list it first.

    It never signs anyone in, so it has no ``get_user()`` (nor permissions):
    Django's test client ``force_login()`` never picks it as the backend of a
    session. Beside another backend, ``login(request, user)`` needs ``backend=``.
    """

    @sensitive_variables("password")
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **credentials: Any,
    ) -> None:
        throttle(request, username, password, credentials)
        return None

    async def aauthenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        """``authenticate()`` for Django's ``aauthenticate()``."""
        return await sync_to_async(self.authenticate)(request, **credentials)
