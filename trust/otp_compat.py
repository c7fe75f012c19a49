"""django-otp's side of the gate: ``request.user.otp_device`` and ``is_verified()``,
and ``django_otp.login()`` read as the verification it means.

The gate stands in for django-otp's ``OTPMiddleware``, so ``otp_required``
and ``OTPAdminSite`` work unchanged. It wraps the user as that middleware
does (a ``SimpleLazyObject`` around whatever ``request.user`` was, decorated
when first read), with one difference: the answer comes from the session's
record, not from a query, and the device is loaded only if something uses
it (``LazyDevice``). Only Django's public API is used.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import django_otp
from django.apps import apps
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from django_otp.models import Device

from .state import SessionState


def install(request: HttpRequest, state: SessionState | None) -> None:
    """Wrap ``request.user`` and ``request.auser`` as django-otp's middleware does.

    Nothing is loaded here: the user is read (and decorated) when a view
    first reads it, so a view that never does pays no query, and the
    verdict is taken at that moment, whatever came before the gate.
    """
    user = getattr(request, "user", None)
    if user is not None:
        request.user = SimpleLazyObject(functools.partial(decorate, user, state))  # type: ignore[assignment]
    auser = getattr(request, "auser", None)
    if auser is not None:
        # Async views (and Django's async login_required / user_passes_test)
        # read the user through request.auser(): same attributes there.
        request.auser = functools.partial(_decorated_auser, auser, state)  # type: ignore[attr-defined]


async def _decorated_auser(auser: Callable[[], Awaitable[Any]], state: SessionState | None) -> Any:
    return decorate(await auser(), state)


def decorate(user: Any, state: SessionState | None) -> Any:
    """django-otp's ``otp_device`` and ``is_verified()``, from the decision.

    Set through ``user`` (a lazy user forwards them to what it loads). Both
    pickle (code that caches a user or hands it to a task queue), as
    django-otp's do: a ``partial`` of a module-level function, no lambda.
    """
    verified = bool(state is not None and state.verified and user.is_authenticated)
    if verified and state is not None and state.otp_device:
        user.otp_device = LazyDevice(state.otp_device)
    else:
        user.otp_device = None
    user.is_verified = functools.partial(_is_verified, verified)
    return user


def _is_verified(verified: bool) -> bool:
    return verified


class LazyDevice:
    """``user.otp_device``: the device loaded on first use (one query), not before.

    It answers ``isinstance()`` with the device's model, known from the
    persistent id without a query; any other attribute loads the device.
    Pickled, it is its persistent id again (no query, and works in async
    code too). In async code, read its attributes through ``sync_to_async``:
    loading is a query.
    """

    __slots__ = ("_device", "_persistent_id")

    def __init__(self, persistent_id: str) -> None:
        object.__setattr__(self, "_persistent_id", persistent_id)
        object.__setattr__(self, "_device", None)

    def _loaded(self) -> Any:
        device = object.__getattribute__(self, "_device")
        if device is None:
            device = Device.from_persistent_id(object.__getattribute__(self, "_persistent_id"))
            object.__setattr__(self, "_device", device)
        return device

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # type: ignore[override]
        device = object.__getattribute__(self, "_device")
        if device is not None:
            return type(device)
        # The model named by the persistent id, without a query (and not
        # on every request: only isinstance() asks).
        try:
            return apps.get_model(object.__getattribute__(self, "_persistent_id").rsplit("/", 1)[0])
        except (ValueError, LookupError):
            return Device

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loaded(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._loaded(), name, value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyDevice):
            other = other._loaded()
        return bool(self._loaded() == other)

    def __hash__(self) -> int:
        return hash(self._loaded())

    def __str__(self) -> str:
        return str(self._loaded())

    def __repr__(self) -> str:
        return f"<LazyDevice {object.__getattribute__(self, '_persistent_id')}>"

    def __reduce__(self) -> Any:
        return (LazyDevice, (object.__getattribute__(self, "_persistent_id"),))


def device_in_session(request: HttpRequest, user: Any) -> Device | None:
    """The device ``django_otp.login()`` recorded in this session, if it counts.

    Only a confirmed device of ``user`` counts, as django-otp's own
    middleware decides; anything else (another user's, unconfirmed, gone,
    garbled) is no verification and no error.
    """
    persistent_id = request.session.get(django_otp.DEVICE_ID_SESSION_KEY)
    if not persistent_id or not isinstance(persistent_id, str):
        return None
    try:
        # Older django-otp wrote the device's import path ("app.models.Class/1");
        # its middleware reads that as "app.class/1", and so do we.
        if persistent_id.count(".") > 1:
            parts = persistent_id.split(".")
            persistent_id = f"{parts[-3]}.{parts[-1]}"
        device = Device.from_persistent_id(persistent_id)
    except AttributeError:
        # SECURITY: django-otp fails so on a model that is no device
        # ("auth.user/1"): such a session is not verified, and no 500.
        return None
    if device is None or device.user_id != user.pk or not device.confirmed:
        return None
    return device


def recorded_device_id(request: HttpRequest) -> object:
    """What ``django_otp.login()`` last wrote in this (loaded) session: no I/O."""
    return request.session.get(django_otp.DEVICE_ID_SESSION_KEY)
