"""Receivers of Django's signals, connected in ``TrustConfig.ready()``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.hashers import is_password_usable
from django.http import HttpRequest

from . import flows
from .flows import sessions

# Set on a user instance between pre_save and post_save: its password changed.
_CHANGED = "_trustgate_password_changed"
# Set by a password view on the user it is about to save (mark_password_change).
_RESET = "_trustgate_password_reset"
_REQUEST = "_trustgate_request"
# Set by mark_password_change: whatever the new hash looks like, it is new.
_MARKED = "_trustgate_password_marked"
# Set between pre_save and post_save: the account was just deactivated.
_DEACTIVATED = "_trustgate_deactivated"


def forget_session(sender: Any, request: HttpRequest | None = None, **kwargs: Any) -> None:
    """A signed-out session needs no index entry: it is flushed right after."""
    if request is not None and hasattr(request, "session"):
        sessions.forget(request.session.session_key)


def mark_password_change(
    user: Any, request: HttpRequest | None = None, *, reset: bool = False
) -> None:
    """Say, before saving ``user``, that its password is being set on purpose.

    Optional for ``set_password()`` + ``save()`` (detected either way), but
    the security log then gets the request's IP and browser, a reset is
    logged as one, and the session changing its own password is the one
    kept. Needed when code assigns a hash itself (``user.password = ...``):
    without it, that looks like the hash upgrade Django does at sign-in.
    After ``QuerySet.update(password=...)``, which sends no signal, call
    ``trust.flows.password_changed(user)`` instead.
    """
    setattr(user, _MARKED, True)
    setattr(user, _REQUEST, request)
    setattr(user, _RESET, reset)


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
    upgrade = getattr(instance, "_password", None) is None and is_password_usable(instance.password)
    if upgrade and not getattr(instance, _MARKED, False):
        return
    setattr(instance, _CHANGED, True)


def revoke_on_password_change(
    sender: Any, instance: Any, created: bool = False, raw: bool = False, **kwargs: Any
) -> None:
    """post_save of the user model: a new password ends all trust and all sessions.

    SECURITY: trust is bound to the credentials (docs/security.md). Every
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
    # What a view said of this save is about this save only.
    changed, reset, request = (
        instance.__dict__.pop(attr, default)
        for attr, default in ((_CHANGED, False), (_RESET, False), (_REQUEST, None))
    )
    instance.__dict__.pop(_MARKED, None)
    if changed:
        keep = _own_session(request, instance)
        flows.password_changed(instance, request=request, reset=bool(reset), keep=keep)


def _own_session(request: HttpRequest | None, user: Any) -> str | None:
    """The session changing ``user``'s own password is kept; no other."""
    if request is None or getattr(request.user, "pk", None) != user.pk:
        return None
    return request.session.session_key


def geoip_dir_changed(*, setting: str, **kwargs: Any) -> None:
    """``override_settings(TRUST_GEOIP_DIR=...)``: look addresses up in that data."""
    if setting == "TRUST_GEOIP_DIR":
        from .conf import conf
        from .rules.risk import geo

        geo.use_directory(conf.GEOIP_DIR)
