from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import reason_labels
from .rules.fingerprint import DEVICE_CLASSES, Agent
from .rules.risk import decay


def this_month() -> date:
    """The month a sign-in now is counted in (``RiskCount.month``)."""
    return decay.bucket(timezone.now())


class TrustedDeviceQuerySet(models.QuerySet["TrustedDevice"]):
    def active(self, now=None) -> TrustedDeviceQuerySet:
        """Neither revoked nor past its absolute lifetime (idle is the policy's)."""
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, expires_at__gt=now)


class TrustedDevice(models.Model):
    """A browser a user verified a code on and chose to trust.

    A *trusted browser* (the glossary's word; the model keeps the older name):
    never a django-otp device. Only the hash of its cookie's secret is kept. The fingerprint
    fields are what the secret must come with to be recognized.
    """

    # No index of its own: the composite index in ``Meta`` leads with it, for
    # a user's trusted browsers and their deletion.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="trusted_devices",
        db_index=False,
    )
    # Found by equality only: unique through a constraint in ``Meta``, not
    # ``unique=True``, which on PostgreSQL also builds a ``varchar_pattern_ops``
    # twin for LIKE (119 MB at 1 M devices, an entry on every rotation).
    token_hash = models.CharField(max_length=64, editable=False)
    # The django-otp device (second factor; persistent id) whose code created this trust: a
    # session let in by trust counts as verified by it.
    otp_device = models.CharField(max_length=255, editable=False)

    browser = models.CharField(max_length=64)
    os = models.CharField(max_length=64)
    device_class = models.CharField(max_length=16, choices=[(c, c) for c in DEVICE_CLASSES])
    user_agent = models.CharField(max_length=512, blank=True)
    network = models.CharField(max_length=64, blank=True)
    first_ip = models.GenericIPAddressField(null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    # The countries this browser signed in from (ISO codes, space-separated,
    # the latest last): the risk model's ``new_country_on_device`` rule.
    countries = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The operators (ASNs) it signed in from, as 8-digit digests (space-
    # separated, the latest 16, the latest last): ``new_network_on_device``.
    asns = models.CharField(max_length=144, blank=True, default="", editable=False)

    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)
    # The public key (a JWK) this browser registered for a Device Bound
    # Session (``trust.dbsc``): ``None`` until it does. Once set, the device
    # is recognized only with a fresh bound cookie, which only the browser
    # holding the private key can keep alive (docs/risk.md).
    bound_key = models.JSONField(null=True, blank=True, default=None, editable=False)

    objects = TrustedDeviceQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "revoked_at", "expires_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"], name="trust_trusteddevice_token_hash_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user_id})"

    @property
    def agent(self) -> Agent:
        return Agent(self.browser, self.os, self.device_class)

    @property
    def name(self) -> str:
        return self.agent.name


class SupersededToken(models.Model):
    """The hash of a trusted browser's secret that a rotation replaced.

    Each trusted sign-in gives the trusted browser a new secret; the old one must
    never come back. If it does, two browsers hold copies of one cookie, so the
    trusted browser is revoked (theft-evident tokens, docs/security.md R23). Rows
    live as long as their trusted browser: they go when it is revoked or expires.

    Except from the rotating browser itself, for a few seconds: a double
    submit of one sign-in presents the old secret twice. For that window
    only, the row keeps the new secret wrapped under the old one and a
    digest of the rotating request's fingerprint and network
    (``trust.flows.rotation``); both are wiped after it, or as soon as a
    session handed the new secret makes its first request.
    """

    device = models.ForeignKey(
        TrustedDevice, on_delete=models.CASCADE, related_name="superseded_tokens"
    )
    # As ``TrustedDevice.token_hash``: unique through a constraint in ``Meta``.
    token_hash = models.CharField(max_length=64, editable=False)
    # Digest of the session key of the sign-in that rotated the secret: the
    # same session presenting it again is the benign race (admission._stale).
    session_digest = models.CharField(max_length=64, blank=True, editable=False)
    superseded_at = models.DateTimeField(default=timezone.now)
    # The secret that replaced this one, wrapped under this one
    # (``tokens.wrap_successor``): useless without the old secret itself.
    successor = models.CharField(max_length=64, blank=True, editable=False)
    # Digest of the kind of browser and the network that rotated it.
    rotated_by = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"], name="trust_supersededtoken_token_hash_key"
            )
        ]

    def __str__(self) -> str:
        return f"superseded secret of device {self.device_id}"


class TrustedSession(models.Model):
    """A session of a user, so that revoking can end it from anywhere.

    Written when a session is first seen signed in (and when its key
    rotates), never on steady-state requests.
    """

    session_key = models.CharField(max_length=40, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    device = models.ForeignKey(
        TrustedDevice, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )
    # Decided while the user had no second factor: ended when one is turned on.
    password_only = models.BooleanField(default=False)
    # The django-otp device (persistent id) that verified the session, by a
    # code here or through the trust it created: removing it ends the session.
    otp_device = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"session of {self.user_id}"


class EventKind(models.TextChoices):
    DEVICE_TRUSTED = "device_trusted", _("Device trusted")
    DEVICE_REVOKED = "device_revoked", _("Device revoked")
    SIGNED_IN_TRUSTED = "signed_in_trusted_device", _("Signed in on a trusted device")
    STEP_UP_PASSED = "step_up_passed", _("Code accepted")
    STEP_UP_FAILED = "step_up_failed", _("Code rejected")
    SUSPICIOUS_COOKIE = "copied_cookie_suspected", _("Copied cookie suspected")
    TWO_FACTOR_ENABLED = "two_factor_enabled", _("Two-factor authentication turned on")
    TWO_FACTOR_DISABLED = "two_factor_disabled", _("Two-factor authentication turned off")
    AUTHENTICATOR_REPLACED = "authenticator_replaced", _("Authenticator replaced")
    SECOND_FACTOR_ADDED = "second_factor_added", _("Second factor added")
    SECOND_FACTOR_REMOVED = "second_factor_removed", _("Second factor removed")
    BACKUP_CODE_USED = "backup_code_used", _("Backup code used")
    BACKUP_CODES_REGENERATED = "backup_codes_regenerated", _("Backup codes regenerated")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    PASSWORD_RESET = "password_reset", _("Password reset")
    TRUST_REFUSED = "trust_refused", _("Revoked or expired trusted device used")
    SESSION_REPORTED = "session_reported", _("Session signed out from an alert link")
    PASSKEY_ADDED = "passkey_added", _("Passkey added")
    PASSKEY_REMOVED = "passkey_removed", _("Passkey removed")
    PASSKEY_SIGN_IN = "passkey_sign_in", _("Signed in with a passkey alone")
    PASSWORD_FAILURES = "password_failures", _("Signed in after many wrong passwords")
    NEW_COUNTRY = "new_country_sign_in", _("Signed in from a new country")
    RISKY_SIGN_IN_PASSED = "risky_sign_in_passed", _("Unusual sign-in confirmed with a code")
    RISKY_SIGN_IN_UNCHECKED = "risky_sign_in_unchecked", _("Unusual sign-in let in without a code")
    SIGN_IN_REFUSED = "sign_in_refused", _("Sign-in refused")


class SecurityEvent(models.Model):
    """One entry of a user's security log."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="security_events"
    )
    kind = models.CharField(max_length=40, choices=EventKind.choices, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    device_name = models.CharField(max_length=140, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    # The trusted browser the event is about, if any: what a "this wasn't me"
    # link revokes.
    device = models.ForeignKey(
        TrustedDevice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} ({self.user_id})"

    @property
    def reason_labels(self) -> list[str]:
        """The reasons as a person reads them, in the active language."""
        return reason_labels.labels(self.reasons or [])


class PasswordThrottle(models.Model):
    """Failed password sign-ins against one account, or from one client address.

    Counted with atomic updates, so any number of servers and parallel
    requests share one count (``trust.password_throttle``). Rows are
    forgotten a day after their last failure (``manage.py trust_prune``).
    """

    ACCOUNT = "account"
    ADDRESS = "address"

    scope = models.CharField(
        max_length=8, choices=[(ACCOUNT, _("account")), (ADDRESS, _("address"))]
    )
    # Account: a keyed hash of the account's primary key, whichever of its
    # names was typed, or of the normalized name when it names no account
    # (never the typed text: people type passwords into username fields).
    # Address: the IP, or the /64 of an IPv6 address.
    key = models.CharField(max_length=64, editable=False)
    # The account whose budget this is (none: a name that is no account's).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField(default=timezone.now)
    # Set while one attempt past the free allowance is being checked: the
    # attempts racing it wait, so a flood cannot slip through one opening.
    probe_until = models.DateTimeField(null=True, blank=True)
    # Accounts: times (epoch seconds) of the latest failures, to spot a burst.
    recent = models.JSONField(default=list, blank=True, editable=False)
    # Accounts: a burst of failures was last seen then; a sign-in owes a
    # code until one is entered after it.
    burst_at = models.DateTimeField(null=True, blank=True)
    burst_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="trust_password_throttle_key")
        ]
        indexes = [models.Index(fields=["last_failure_at"])]

    def __str__(self) -> str:
        return f"{self.scope} {self.key if self.scope == self.ADDRESS else self.user_id or '?'}"


class RiskCount(models.Model):
    """A count of successful password sign-ins in one month, kept for the risk score.

    One row per feature value and month for the whole site (``user``
    empty) and one per user, feature value and month; a few bookkeeping
    rows beside them (see ``trust.flows.risk_counts``: totals, distinct values,
    users with history). A sign-in reads the months of the window
    (``trust.rules.risk.decay``); ``trust_prune`` deletes older ones.
    Incremented by atomic statements on each successful sign-in, never
    recomputed. IP addresses and networks are stored as keyed digests, user
    agents as digests (``trust.rules.risk.features``): the table holds no
    address and no header.
    """

    # No index of its own: ``trust_riskcount_user_month`` leads
    # with it, for a user's rows and their deletion.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    feature = models.CharField(max_length=16)
    value = models.CharField(max_length=80)
    # The first day of the month counted (rows made before months were kept
    # start in the month of the migration that added them).
    month = models.DateField(default=this_month)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            # Two partial unique indexes (NULLs are distinct in a plain
            # one): also the indexes the score's read uses, a range of
            # months a (feature, value) pair.
            models.UniqueConstraint(
                fields=["feature", "value", "month"],
                condition=models.Q(user__isnull=True),
                name="trust_riskcount_site_month",
            ),
            models.UniqueConstraint(
                fields=["user", "feature", "value", "month"],
                condition=models.Q(user__isnull=False),
                name="trust_riskcount_user_month",
            ),
        ]
        # No index of the month: ``trust_prune``'s daily delete of the
        # months past the window reads the table, but with one, PostgreSQL
        # may read a sign-in's counts through it (every row of the window)
        # instead of the pairs' probes.

    def __str__(self) -> str:
        owner = self.user_id or "site"
        return f"{self.feature}={self.value} in {self.month:%Y-%m}: {self.count} ({owner})"


class SignInOutcome(models.TextChoices):
    ALLOWED = "allowed", _("Signed in")
    STEPPED_UP = "stepped_up", _("Code asked")
    PASSED = "passed", _("Code passed")
    DENIED = "denied", _("Refused")
    FAILED_PASSWORD = "failed_password", _("Wrong password")


SUCCESSFUL_OUTCOMES = (SignInOutcome.ALLOWED, SignInOutcome.PASSED)


class SignInAttempt(models.Model):
    """One password sign-in attempt past the username: the user's sign-in history.

    Pruned after ``TRUST_SIGN_IN_HISTORY_MAX_AGE`` by ``trust_prune``.
    """

    # No index of its own: ``trust_signin_user_at`` leads
    # with it, for a user's attempts and their deletion.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sign_in_attempts",
        db_index=False,
    )
    at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    network = models.CharField(max_length=64, blank=True)
    asn = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True)
    device_name = models.CharField(max_length=140, blank=True)
    outcome = models.CharField(max_length=16, choices=SignInOutcome.choices)
    reasons = models.JSONField(default=list, blank=True)
    score = models.FloatField(null=True, blank=True)
    # What the risk model decided ("allow", "step_up", "deny"; blank: not
    # weighed). In shadow mode (``TRUST_RISK_SHADOW``) it is what would have
    # happened; ``outcome`` is what did.
    risk_action = models.CharField(max_length=16, blank=True, default="")
    shadow = models.BooleanField(default=False)
    # The score's factors, so support staff can explain a prompt:
    # {"factors": [["user", f], ["ip", f], ["user_agent", f]], "levels":
    # [[level, site's term, user's share], ...]} (docs/risk.md, "The score").
    contributions = models.JSONField(default=dict, blank=True)
    # What the sign-in added to the risk counts, so that a "this wasn't me"
    # report takes it back once (``trust.flows.risk_counts.uncount``): the month
    # counted (``None``: not counted, or taken back) and the (feature,
    # stored value) pairs.
    counted_in = models.DateField(null=True, blank=True, editable=False)
    counted = models.JSONField(default=list, blank=True, editable=False)
    # What a report reaches it by: the trusted browser it came with or that
    # its code trusted, and the session it opened. No constraint and no
    # index: only ever read among one user's attempts (``trust_signin_user_at``),
    # and deleting a trusted browser or a session's row leaves the history alone.
    device = models.ForeignKey(
        "TrustedDevice",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        editable=False,
    )
    session = models.ForeignKey(
        "TrustedSession",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [
            # The devices page and the admin: a user's latest attempts.
            models.Index(fields=["user", "-at"], name="trust_signin_user_at"),
            # Impossible travel: the user's last successful sign-in, however
            # many failed attempts came after it.
            models.Index(
                fields=["user", "-at"],
                condition=models.Q(outcome__in=["allowed", "passed"]),
                name="trust_signin_user_success",
            ),
            # trust_prune.
            models.Index(fields=["at"], name="trust_signin_at"),
        ]

    def __str__(self) -> str:
        return f"{self.outcome} ({self.user_id}, {self.at:%Y-%m-%d %H:%M})"

    @property
    def reason_labels(self) -> list[str]:
        return reason_labels.labels(self.reasons or [])
