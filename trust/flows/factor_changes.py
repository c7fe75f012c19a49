"""A second factor added or removed, by any path: logged, and what it backed undone.

Receivers of every django-otp device model (connected in ``TrustConfig.ready()``),
so the setup page, the admin, a shell, ``QuerySet.delete()`` and other apps
are all seen. Only confirmed devices are second factors:

- added (saved confirmed, or confirmed later): a ``second_factor_added``
  event (and so an alert); the user's sessions that never owed a code end;
- removed (deleted, or no longer confirmed): a ``second_factor_removed``
  event; the trust its codes created is revoked and the sessions it verified
  end (docs/security.md R27, R38).

A confirmed device given to another user is removed from one and added to
the other. Unconfirmed devices (an enrollment in progress) come and go
unlogged. A flow that records the change itself, under its own event kind,
and deals with trust and sessions itself (turning 2FA off, replacing the
authenticator, enrolling, passkeys) marks the device with
``accounted_for()``, so the change is not logged twice.

Limit: ``QuerySet.update(confirmed=...)`` sends no signal and is seen by
nobody here (a sign-in on trust that factor created still finds it gone and
revokes the trust). Change devices with ``save()`` and ``delete()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import transaction

from .. import flows
from ..models import TrustedDevice, TrustedSession
from ..rules import policy
from . import events, sessions

# Set by a flow on a device it is about to save or delete: it logs the change.
_ACCOUNTED = "_trustgate_factor_change_accounted"
# Set between pre_save and post_save: this save confirms the device / takes
# its confirmation away.
_ADDED = "_trustgate_factor_added"
_REMOVED = "_trustgate_factor_removed"
_WATCHED = frozenset({"confirmed", "user", "user_id"})

DeviceT = TypeVar("DeviceT")


def accounted_for(device: DeviceT) -> DeviceT:
    """The caller logs ``device``'s next change (the save or delete that adds
    or removes it) itself, and deals with the trust and sessions it backed:
    the receivers here stay silent.

    Call it before the save or delete, or after it inside the same
    transaction (a device some library created and handed back)."""
    setattr(device, _ACCOUNTED, True)
    return device


@dataclass(frozen=True)
class _Factor:
    """What is left to know of a device once it is gone."""

    user_id: Any
    persistent_id: str
    label: str
    name: str


def note_change(
    sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kwargs: Any
) -> None:
    """pre_save of a django-otp device: does this save confirm it, unconfirm it,
    or move it to another user (removed from one, added to the other)?"""
    if raw or (update_fields is not None and not _WATCHED.intersection(update_fields)):
        return
    confirmed = bool(getattr(instance, "confirmed", False))
    was, owner = False, None
    if instance.pk is not None and not instance._state.adding:
        stored = sender._default_manager.filter(pk=instance.pk)
        was, owner = stored.values_list("confirmed", "user_id").first() or (False, None)
    moved = owner is not None and owner != instance.user_id
    if confirmed and (not was or moved):
        setattr(instance, _ADDED, True)
    if was and (not confirmed or moved):
        setattr(instance, _REMOVED, owner)  # from whom


def after_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """post_save of a django-otp device."""
    added = instance.__dict__.pop(_ADDED, False)
    removed_from = instance.__dict__.pop(_REMOVED, None)
    if raw or not (added or removed_from is not None):
        return  # no factor came or went (a rename, a code's last_t): a mark waits
    if added:
        # SECURITY: sessions decided while the user had no second factor
        # never owed a code; they end, whoever turned the factor on.
        user_id = instance.user_id
        transaction.on_commit(lambda: sessions.end_password_only_sessions(user_id))
    if instance.__dict__.pop(_ACCOUNTED, False):
        return
    changes: list[tuple[Callable[[_Factor], None], Any]] = []
    if removed_from is not None:
        changes.append((_removed, removed_from))
    if added:
        changes.append((_added, instance.user_id))
    _after_commit(instance, changes)


def after_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    """post_delete of a django-otp device (``delete()`` and ``QuerySet.delete()``)."""
    if instance.__dict__.pop(_ACCOUNTED, False) or not getattr(instance, "confirmed", False):
        return
    _after_commit(instance, [(_removed, instance.user_id)])


def _after_commit(instance: Any, changes: list[tuple[Callable[[_Factor], None], Any]]) -> None:
    """Handle ``changes`` (handler, user id) of ``instance`` once the transaction commits.

    After the commit: a change rolled back changed nothing, and a device
    deleted with its user (a cascade) leaves no one to log it for. Until then
    a flow may still say it accounts for the change (django-otp-webauthn
    hands a new passkey back only once it saved it).
    """
    if not changes:
        return
    persistent_id = instance.persistent_id
    label, name = instance._meta.label_lower, str(getattr(instance, "name", "") or "")

    def run() -> None:
        if instance.__dict__.pop(_ACCOUNTED, False):
            return
        for handle, user_id in changes:
            handle(_Factor(user_id, persistent_id, label, name))

    transaction.on_commit(run)


def _user(user_id: Any) -> Any:
    return get_user_model()._default_manager.filter(pk=user_id).first()


def _added(factor: _Factor) -> None:
    user = _user(factor.user_id)
    if user is not None:
        events.record(
            user, events.SECOND_FACTOR_ADDED, device_name=factor.name, reasons=[factor.label]
        )


def _removed(factor: _Factor) -> None:
    """SECURITY: trust and sessions that rested on a factor now gone end with it."""
    user = _user(factor.user_id)
    if user is None:
        return
    with transaction.atomic():
        trusted = TrustedDevice.objects.filter(
            user=user, otp_device=factor.persistent_id, revoked_at__isnull=True
        )
        for device in trusted.select_for_update():
            flows.revoke(device, reason=policy.AUTHENTICATOR_REMOVED)
        sessions.end(TrustedSession.objects.filter(user=user, otp_device=factor.persistent_id))
        events.record(
            user, events.SECOND_FACTOR_REMOVED, device_name=factor.name, reasons=[factor.label]
        )
