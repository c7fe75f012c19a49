"""Rotating a trusted device's secret, and telling a double submit from a copy
(docs/security.md R23, R40).

Each sign-in that trust lets through replaces the device's secret
(theft-evident tokens): a compare-and-swap on the old hash, so that of
requests racing with one secret only one rotates it, and a
``SupersededToken`` keeps the old hash so that the old secret coming back
is noticed (``admission._stale``).

One browser can send one sign-in twice at once: a double click, or a submit
it aborted and sent again. Both carry the old secret S0; the first rotates
it to S1, and the second, coming back with S0, looks like a copy. It is
not one when it comes within ``GRACE`` of the rotation, from the same kind
of browser on the same network, while the device still holds S1 (S1 was
presented nowhere since) and before any session handed S1 made a request:
it is then answered with S1 too, so every answer sets the same cookie and
whichever the browser keeps is live.

The grace ends at the first request of a session that was handed S1
(``end_grace``, called by the gate): the browser has its answer then, so
no click of it is still in flight, and S0 coming back can only be a copy.

SECURITY: the record holds S1 only wrapped under S0
(``tokens.wrap_successor``), so a leaked table yields no cookie; only a
request presenting S0 unwraps it, and only for ``GRACE``. A copy of S0
presented within the window from the owner's network and kind of browser,
before the owner's browser made its next request, gets S1 as well: the two
browsers then share S1, and the next rotation by either one gives the other
away. The evidence of a theft comes one sign-in later, never not at all.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

from django.db import transaction
from django.views.decorators.debug import sensitive_variables

from ..models import SupersededToken, TrustedDevice
from ..rules import tokens
from ..rules.fingerprint import Fingerprint

# How long after a rotation the rotating browser may present the old secret
# again, at most: a double submit arrives within a second or two; a copy from
# the same network and kind of browser inside this window, before the
# owner's browser made its next request, is the risk taken.
GRACE = timedelta(seconds=3)


def context_digest(fp: Fingerprint) -> str:
    """What a double submit must share with the request that rotated."""
    parts = (fp.agent.browser, fp.agent.os, fp.agent.device_class, fp.network)
    return hashlib.sha256("\x00".join(parts).encode("utf-8", "replace")).hexdigest()


@sensitive_variables()
def rotate(
    device: TrustedDevice,
    old_secret: str,
    new_secret: str,
    fp: Fingerprint,
    *,
    session_digest: str,
    now: datetime,
) -> SupersededToken | None:
    """Replace ``old_secret`` (the device's) by ``new_secret``, if still current.

    The record of ``old_secret`` (holding ``new_secret`` for the grace), or
    ``None`` if another request rotated it first.
    """
    with transaction.atomic():
        rotated = TrustedDevice.objects.filter(
            pk=device.pk, token_hash=device.token_hash, revoked_at__isnull=True
        ).update(token_hash=tokens.hash_secret(new_secret), last_seen_at=now, last_ip=fp.ip or None)
        if not rotated:
            return None
        # One successor kept per device: the previous one was just rotated away.
        SupersededToken.objects.filter(device=device).exclude(successor="").update(
            successor="", rotated_by=""
        )
        return SupersededToken.objects.create(
            device=device,
            token_hash=device.token_hash,
            session_digest=session_digest,
            superseded_at=now,
            successor=tokens.wrap_successor(old_secret, new_secret),
            rotated_by=context_digest(fp),
        )


def record_of(device: TrustedDevice) -> SupersededToken | None:
    """The record of the secret ``device`` held when it was read, if since replaced.

    After a lost compare-and-swap: the winner's commit is visible now (the
    UPDATE waited for it), and so is its record.
    """
    return (
        SupersededToken.objects.select_related("device")
        .filter(device=device, token_hash=device.token_hash)
        .first()
    )


@sensitive_variables()
def successor(
    record: SupersededToken, old_secret: str, fp: Fingerprint, now: datetime
) -> str | None:
    """The secret that replaced ``old_secret``, if this is a double submit of
    the browser that rotated it; ``None`` for anything else."""
    if not record.successor or abs(now - record.superseded_at) > GRACE:
        return None
    if not hmac.compare_digest(record.rotated_by, context_digest(fp)):
        return None  # another kind of browser, or another network
    # Whether the device still holds it (presented nowhere since), ``hold``
    # tells, under the row lock.
    return tokens.unwrap_successor(old_secret, record.successor)


@sensitive_variables()
def hold(device: TrustedDevice, secret: str, fp: Fingerprint, now: datetime) -> bool:
    """Is ``secret`` still the live device's? (A compare-and-swap that rotates nothing.)"""
    return bool(
        TrustedDevice.objects.filter(
            pk=device.pk, token_hash=tokens.hash_secret(secret), revoked_at__isnull=True
        ).update(last_seen_at=now, last_ip=fp.ip or None)
    )


def grace_still_open(record: SupersededToken) -> bool:
    """Does ``record`` still hold its successor? Read again under the row lock.

    SECURITY: ``end_grace`` may have run since ``record`` was read; this
    read waits for it (or makes it wait for this sign-in's transaction), so
    an owner's request that was answered first always wins. Called after
    ``hold`` took the device row, in the order ``rotate`` takes them both.
    """
    return (
        SupersededToken.objects.select_for_update()
        .filter(pk=record.pk)
        .exclude(successor="")
        .exists()
    )


def end_grace(record_pk: int) -> None:
    """A session handed the successor made its first request: the grace is over.

    The browser has its answer, so no click of it is in flight any more; from
    now on the old secret is a copy's (``admission._stale``). One UPDATE.
    """
    SupersededToken.objects.filter(pk=record_pk).update(successor="", rotated_by="")


def wipe_successors(now: datetime) -> int:
    """Forget the wrapped successors whose window is over (``trust_prune``)."""
    return (
        SupersededToken.objects.filter(superseded_at__lt=now - GRACE)
        .exclude(successor="")
        .update(successor="", rotated_by="")
    )


def session_digest(session_key: str | None) -> str:
    """What a ``SupersededToken`` keeps of the session that rotated it."""
    return hashlib.sha256((session_key or "").encode("ascii", "replace")).hexdigest()
