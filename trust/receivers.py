"""Receivers of Django's signals, connected in ``TrustConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import is_password_usable
from django.db import transaction
from django.http import HttpRequest

from . import events, flows, sessions
from .models import EventKind

# Set on a user instance between pre_save and post_save: its password changed.
_CHANGED = "_trustgate_password_changed"
# Set by a password view on the user it is about to save (mark_password_change).
_RESET = "_trustgate_password_reset"
_REQUEST = "_trustgate_request"
# Set between pre_save and post_save: the account was just deactivated.
_DEACTIVATED = "_trustgate_deactivated"


def forget_session(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """A signed-out session needs no index entry: it is flushed right after."""
    if request is not None and hasattr(request, "session"):
        sessions.forget(request.session.session_key)


def mark_password_change(user: Any, request: HttpRequest, *, reset: bool = False) -> None:
    """Tell the receivers which request sets ``user``'s password, and whether it
    is a reset: the security log gets its IP and browser, and the session
    changing its own password is the one kept. Optional: without it, a new
    password still revokes all trust and ends every session."""
    setattr(user, _REQUEST, request)
    setattr(user, _RESET, reset)


def mark_password_reset(user: Any, request: HttpRequest | None = None) -> None:
    """Call before saving a password set by a reset, to log it as a reset."""
    setattr(user, _RESET, True)
    if request is not None:
        setattr(user, _REQUEST, request)


def note_password_change(
    sender: Any,
    instance: Any,
    raw: bool = False,
    update_fields: Any = None,
    **kwargs: Any,
) -> None:
    """pre_save of the user model: a new password, or an account switched off?

    Compares with the stored row, so every path counts: Django's password
    change and reset views, the admin, ``set_password()`` + ``save()``.
    """
    if raw or instance.pk is None or instance._state.adding:
        return
    stored = (
        sender._default_manager.filter(pk=instance.pk).values_list("password", "is_active").first()
    )
    if stored is None:
        return
    stored_password, was_active = stored
    if was_active and not getattr(instance, "is_active", True):
        setattr(instance, _DEACTIVATED, True)
    if update_fields is not None and "password" not in update_fields:
        return
    if stored_password == instance.password:
        return
    # A hash upgraded at sign-in (same password, stronger hasher) is no
    # change: check_password()'s setter clears ``_password`` before saving,
    # set_password() leaves it set until after the save.
    if getattr(instance, "_password", None) is None and is_password_usable(instance.password):
        return
    setattr(instance, _CHANGED, True)


def revoke_on_password_change(
    sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    """post_save of the user model: a new password ends all trust and all sessions.

    SECURITY: trust is bound to the credentials (SECURITY.md R7, R27). Every
    session of the user is ended but the one changing its own password, if a
    view said which (``mark_password_change``); otherwise Django's
    PasswordChangeView still keeps its own alive by rotating its key
    (update_session_auth_hash) right after. A deactivated account loses all
    trust and every session.
    """
    if created or raw:
        return
    if instance.__dict__.pop(_DEACTIVATED, False):
        flows.revoke_all(instance, reason="account_deactivated")
        sessions.end_user_sessions(instance)
    if not getattr(instance, _CHANGED, False):
        return
    kind = (
        EventKind.PASSWORD_RESET if getattr(instance, _RESET, False) else EventKind.PASSWORD_CHANGED
    )
    request = instance.__dict__.pop(_REQUEST, None)
    for attr in (_CHANGED, _RESET):
        instance.__dict__.pop(attr, None)
    keep = _own_session(request, instance)
    flows.revoke_all(instance, reason=str(kind))
    sessions.end_user_sessions(instance, keep=keep)
    events.record(instance, kind, request=request)


def _own_session(request: HttpRequest | None, user: Any) -> str | None:
    """The session changing ``user``'s own password is kept; no other."""
    if request is None or getattr(request.user, "pk", None) != user.pk:
        return None
    return request.session.session_key


# Set between pre_save and post_save of a django-otp device: it just became
# confirmed, so its user's second factor is on.
_CONFIRMED = "_trustgate_just_confirmed"


def note_confirmation(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """pre_save of a django-otp device: is it becoming confirmed?"""
    if raw or not getattr(instance, "confirmed", False):
        return
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "confirmed" not in update_fields:
        return
    if instance.pk is None or instance._state.adding:
        setattr(instance, _CONFIRMED, True)
        return
    was = sender._default_manager.filter(pk=instance.pk).values_list("confirmed", flat=True).first()
    if not was:
        setattr(instance, _CONFIRMED, True)


def end_sessions_without_second_factor(
    sender: Any, instance: Any, raw: bool = False, **kwargs: Any
) -> None:
    """post_save of a django-otp device: a second factor was just turned on.

    SECURITY: sessions decided while the user had none never owed a code;
    they end (after the transaction commits), whichever way the factor was
    added: Trustgate's setup page, the admin, a shell, another app.
    """
    if raw or not instance.__dict__.pop(_CONFIRMED, False):
        return
    user_id = instance.user_id
    transaction.on_commit(lambda: sessions.end_password_only_sessions(user_id))
