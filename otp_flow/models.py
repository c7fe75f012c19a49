"""Backup codes as a django-otp device, stored hashed.

django-otp's own ``StaticToken`` keeps codes in clear; NIST SP 800-63B
(look-up secrets) wants a salted password hash. Each code is kept as:

- ``code_hash``: Django's ``make_password`` (the site's password hasher,
  salted), checked with ``check_password``;
- ``lookup``: a keyed HMAC (``SECRET_KEY``) of the code, which finds the one
  row to check. Checking every hash instead would cost ten password hashes
  per attempt. Without the key the HMAC tells nothing; with it, 80-bit codes
  are still far beyond brute force.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import models, transaction
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from django_otp.models import Device, ThrottlingMixin, TimestampMixin

from . import codes
from .conf import conf

_LOOKUP_SALT = "otp_flow.BackupCode.lookup"


def code_lookup(code: str, secret: str | bytes | None = None) -> str:
    return salted_hmac(_LOOKUP_SALT, code, secret=secret, algorithm="sha256").hexdigest()


def _lookups(code: str) -> list[str]:
    # Codes made before a SECRET_KEY rotation are found through the fallbacks.
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return [code_lookup(code, key) for key in keys]


class BackupCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A set of one-time backup codes; verifies any one of them, once."""

    class Meta(Device.Meta):
        verbose_name = _("backup code set")

    def get_throttle_factor(self) -> float:
        return conf.TOTP_THROTTLE_FACTOR

    @property
    def remaining(self) -> int:
        return self.codes.count()

    @sensitive_variables()
    def replace_codes(self) -> list[str]:
        """Void every code of the set and make a new set; return it in clear, once."""
        fresh = [codes.new_backup_code() for _ in range(codes.BACKUP_CODES_PER_SET)]
        with transaction.atomic():
            self.codes.all().delete()
            BackupCode.objects.bulk_create(
                BackupCode(device=self, lookup=code_lookup(code), code_hash=make_password(code))
                for code in fresh
            )
        return fresh

    @sensitive_variables()
    def verify_token(self, token: object) -> bool:
        """django-otp's contract: call with this row locked (through
        ``django_otp.verify_token()``, or ``verification.verify``, which reads
        it locked), so a code cannot be used twice by racing requests."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        code = codes.canonical_backup(token)
        match = self._match(code) if code is not None else None
        if match is None:
            self.throttle_increment()
            return False
        match.delete()
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True

    @sensitive_variables()
    def _match(self, code: str) -> BackupCode | None:
        candidates: Iterable[BackupCode] = self.codes.filter(lookup__in=_lookups(code))
        found = None
        checked = 0
        for candidate in candidates:
            checked += 1
            if check_password(code, candidate.code_hash) and found is None:
                found = candidate
        if not checked:
            # SECURITY: hash once anyway, so a miss costs what a hit costs.
            make_password(code)
        return found


class BackupCode(models.Model):
    """One unused backup code, hashed. A used code is deleted."""

    device = models.ForeignKey(BackupCodeDevice, on_delete=models.CASCADE, related_name="codes")
    lookup = models.CharField(max_length=64, db_index=True, editable=False)
    code_hash = models.CharField(max_length=256, editable=False)

    def __str__(self) -> str:
        return f"backup code of device {self.device_id}"
