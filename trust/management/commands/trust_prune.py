"""``manage.py trust_prune``: forget what outlived its use.

Run it beside Django's ``clearsessions`` (a daily cron job): it drops the
session index entries of sessions that expired or were flushed, the
old-secret hashes of devices whose trust is over, the wrapped successors
kept for a double submit once their few seconds are over, and the
password-throttle records whose failures are forgotten (a day without one),
sign-in history older than ``TRUST_SIGN_IN_HISTORY_MAX_AGE`` (180 days),
and the risk counts of months no sign-in reads any more (the current month
and the six before it are read: ``trust.rules.risk.decay``).
Revoked and expired devices themselves are kept: the devices page and the
admin show history.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db.models import Q
from django.utils import timezone

from trust.flows import password_throttle, risk_counts, rotation, sign_in_history
from trust.models import SupersededToken, TrustedSession


class Command(BaseCommand):
    help = "Drop session-index rows of ended sessions and old secrets of ended trust."

    def handle(self, *args: Any, **options: Any) -> None:
        store = import_module(settings.SESSION_ENGINE).SessionStore()
        gone = [
            record.pk
            for record in TrustedSession.objects.only("pk", "session_key").iterator()
            if not store.exists(record.session_key)
        ]
        sessions, _ = TrustedSession.objects.filter(pk__in=gone).delete()
        now = timezone.now()
        tokens, _ = SupersededToken.objects.filter(
            Q(device__revoked_at__isnull=False) | Q(device__expires_at__lte=now)
        ).delete()
        rotation.wipe_successors(now)
        self.stdout.write(f"Pruned {sessions} session index entries and {tokens} old secrets.")
        throttles = password_throttle.prune()
        self.stdout.write(f"Pruned {throttles} password-throttle records.")
        history = sign_in_history.prune(now)
        self.stdout.write(f"Pruned {history} sign-in history records.")
        counts = risk_counts.prune(now)
        self.stdout.write(f"Pruned {counts} risk counts of months past the window.")
