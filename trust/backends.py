"""The authentication backend that throttles password guessing.

List it first in ``AUTHENTICATION_BACKENDS``, before the backends that
check passwords (``trust.E030``, ``trust.E031`` say when it is not)::

    AUTHENTICATION_BACKENDS = [
        "trust.backends.PasswordThrottleBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]

Every login view calls ``django.contrib.auth.authenticate()``: Django's
``LoginView``, the admin's, allauth's, a site's own API.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from .flows import password_throttle


class PasswordThrottleBackend:
    """Refuses password attempts while their account or address is throttled.

    It never signs anyone in, so it has no ``get_user()`` (nor permissions):
    Django's test client ``force_login()`` and ``login()`` then never pick it
    as the backend of a session. While throttled it raises ``PermissionDenied``:
    ``authenticate()`` then stops before any backend checks the password,
    returns ``None`` and sends ``user_login_failed``, exactly as for a wrong
    password, so every login view answers a throttled attempt as it answers
    a wrong one, whether the account exists or not.
    """

    @sensitive_variables("password")
    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **credentials: Any,
    ) -> None:
        if password is None:
            return None  # not a password sign-in: not ours to throttle
        named = password_throttle.typed_username(username, credentials)
        if password_throttle.refuses(request, named):
            if isinstance(password, str | bytes):
                # SECURITY: as slow as a checked password (Django's
                # ModelBackend does the same for unknown users), so the
                # response time does not tell a throttled attempt apart.
                get_user_model()().set_password(password)
            raise PermissionDenied
        return None

    async def aauthenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        """``authenticate()`` for Django's ``aauthenticate()``."""
        return await sync_to_async(self.authenticate)(request, **credentials)


class ModelBackend(PasswordThrottleBackend, DjangoModelBackend):
    """Django's ``ModelBackend`` behind the password throttle, as one entry.

    ``AUTHENTICATION_BACKENDS = ["trust.backends.ModelBackend"]`` in place of
    Django's: a throttled attempt is refused before the password is compared,
    any other is Django's ``ModelBackend`` unchanged (``get_user()`` and
    permissions included).
    """

    @sensitive_variables("password")
    def authenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **credentials: Any,
    ) -> Any:
        PasswordThrottleBackend.authenticate(self, request, username, password, **credentials)
        return DjangoModelBackend.authenticate(self, request, username, password, **credentials)

    async def aauthenticate(  # type: ignore[override]
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **credentials: Any,
    ) -> Any:
        """``authenticate()`` for Django's ``aauthenticate()``: the throttle reads the database."""
        return await sync_to_async(self.authenticate)(request, username, password, **credentials)
