"""The device cookie: its name, the secrets a request presents, the update.

Reads the cookie into the devices its secrets belong to (``Presented``),
and writes it back, once per response, when a flow queued a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .models import SupersededToken, TrustedDevice
from .rules import tokens

_COOKIE_UPDATE = "_trustgate_cookie"
# Users one browser can hold trust for: more secrets are dropped, oldest first.
MAX_USERS = 5
# The device cookie's name. SECURITY: "token" in it makes Django's error
# reports hide its value; on HTTPS the __Host- prefix binds it to this host.
COOKIE_NAME = "trustgate_token"


def cookie_name(request: HttpRequest) -> str:
    # SECURITY: the __Host- prefix makes the browser refuse the cookie unless
    # it is Secure, host-only and Path=/.
    return f"__Host-{COOKIE_NAME}" if request.is_secure() else COOKIE_NAME


def presented_secrets(request: HttpRequest) -> list[str]:
    return tokens.parse_cookie(request.COOKIES.get(cookie_name(request)), MAX_USERS)


def devices_by_hash(hashes: list[str]) -> list[TrustedDevice]:
    """The trusted devices whose secrets hash to ``hashes`` (a unique index)."""
    if not hashes:
        return []
    # No ORDER BY: the model's default one would only sort a handful of rows.
    return list(TrustedDevice.objects.filter(token_hash__in=hashes).order_by())


@dataclass
class Presented:
    """The devices the cookie's secrets belong to, whoever's they are."""

    secrets: dict[str, TrustedDevice]  # secret -> device
    unknown: list[str]
    # Secrets a rotation already replaced: secret -> the record of it.
    stale: dict[str, SupersededToken] = field(default_factory=dict)

    @classmethod
    @sensitive_variables()
    def read(cls, request: HttpRequest) -> Presented:
        found = presented_secrets(request)
        if not found:
            return cls({}, [])
        by_hash = {tokens.hash_secret(secret): secret for secret in found}
        devices = devices_by_hash(list(by_hash))
        matched = {by_hash[device.token_hash]: device for device in devices}
        unknown = [s for s in found if s not in matched]
        stale: dict[str, SupersededToken] = {}
        if unknown:
            # Only a cookie holding a secret no live record knows costs this
            # second query: a garbled or forgotten one, or a copied one.
            superseded = SupersededToken.objects.filter(
                token_hash__in=[tokens.hash_secret(s) for s in unknown]
            ).select_related("device")
            stale = {by_hash[record.token_hash]: record for record in superseded}
        return cls(matched, [s for s in unknown if s not in stale], stale)

    def for_user(self, user: Any) -> tuple[str | None, TrustedDevice | None]:
        for secret, device in self.secrets.items():
            if device.user_id == user.pk:
                return secret, device
        return None, None

    def stale_for_user(self, user: Any) -> tuple[str | None, SupersededToken | None]:
        for secret, record in self.stale.items():
            if record.device.user_id == user.pk:
                return secret, record
        return None, None


# --- the cookie ---------------------------------------------------------------


@sensitive_variables()
def queue_cookie(
    request: HttpRequest,
    presented: Presented,
    *,
    drop: str | None,
    add: tuple[str, TrustedDevice] | None = None,
) -> None:
    """Rewrite the device cookie: ``add`` in front, ``drop`` and dead secrets out.

    The cookie lives as long as the longest-lived trust it holds: use does
    not extend trust, so neither does rewriting the cookie.
    """
    now = timezone.now()
    live = [
        (secret, device)
        for secret, device in presented.secrets.items()
        if secret != drop and device.revoked_at is None and device.expires_at > now
    ]
    if add is not None:
        live.insert(0, add)
    # Superseded and unknown secrets are never written back.
    kept = [secret for secret, _ in live]
    expires = max((device.expires_at for _, device in live), default=now)
    setattr(request, _COOKIE_UPDATE, (kept, expires))


@sensitive_variables()
def apply_cookie(request: HttpRequest, response: HttpResponse) -> bool:
    """Write the cookie update a flow queued on ``request``, if any (then True)."""
    update = getattr(request, _COOKIE_UPDATE, None)
    if update is None:
        return False
    kept, expires = update
    name = cookie_name(request)
    max_age = int((expires - timezone.now()).total_seconds())
    if not kept or max_age <= 0:
        response.delete_cookie(name, path="/", samesite="Lax")
        return True
    response.set_cookie(
        name,
        tokens.build_cookie(kept, MAX_USERS),
        max_age=max_age,
        path="/",
        secure=request.is_secure(),
        httponly=True,
        samesite="Lax",
    )
    return True
