"""Device Bound Session Credentials (W3C WebAppSec, "DBSC"): trust bound to a key.

A browser that supports DBSC, trusted over HTTPS, is asked to register a
session (``Secure-Session-Registration``). It makes a key pair, keeps the
private key and proves it holds it; the server stores the public key on the
trusted device (``TrustedDevice.bound_key``) and keeps a short-lived *bound
cookie* alive, which only a browser holding that key can refresh. From then
on the device is recognized at sign-in only with a fresh bound cookie of its
own (``proven``): its trusted-device cookie copied to another machine no
longer stands in for a code. Browsers without DBSC never register and keep
the trusted-device cookie's behaviour (docs/risk.md).

Stateless on the server but for the stored key: challenges, session
identifiers and bound cookies are ``django.core.signing`` values, each under
its own salt, the ones that expire with a signed time checked here (never the
browser's expiry).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from .cookie import Presented
from .models import TrustedDevice

try:
    import jwt
    from jwt.algorithms import has_crypto as _VERIFIES_KEYS
except ImportError:  # the "dbsc" extra is not installed: no binding is offered
    jwt = None  # type: ignore[assignment]
    _VERIFIES_KEYS = False

REGISTER_URL_NAME = "trust:dbsc_register"
REFRESH_URL_NAME = "trust:dbsc_refresh"
# The proofs accepted: what the spec asks every browser to support. Never
# "none", never an HMAC (the JWK is public: it would be its own secret).
ALGORITHMS = ("ES256", "RS256")
# How long a bound cookie stands for the key; a copied value is good for at
# most this long. Chromium refreshes 2 minutes before expiry and signs at
# most 6 proofs per site in 9 minutes: much shorter, and its refreshes stop
# (docs/risk.md, "Why 10 minutes").
BOUND_LIFETIME = timedelta(minutes=10)
# How long a challenge may take to come back signed.
CHALLENGE_MAX_AGE = timedelta(minutes=5)
# SECURITY: "token" in the name makes Django's error reports hide its value;
# __Host- binds it to this host, Secure, Path=/. One cookie per device: a
# browser trusted for several users keeps a session (and a cookie) for each.
BOUND_COOKIE_PREFIX = "__Host-trustgate_bound_token_"
BOUND_COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Lax"
# Larger proofs are refused unread: an RSA-4096 proof with its JWK is ~1.5 kB.
MAX_PROOF_LENGTH = 4096
MAX_SESSION_ID_LENGTH = 128
MIN_RSA_BITS = 2048

_OFFER = "_trustgate_dbsc_offer"
_CHALLENGE_SALT = "trustgate.dbsc.challenge"
_SESSION_SALT = "trustgate.dbsc.session"
_BOUND_SALT = "trustgate.dbsc.bound"
# The public members of a JWK: only these are stored.
_PUBLIC = {"EC": ("kty", "crv", "x", "y"), "RSA": ("kty", "n", "e")}


def available() -> bool:
    """PyJWT with its ``cryptography`` backend (the "dbsc" extra) is there to
    verify proofs: PyJWT alone, which other packages may pull in, cannot
    verify ES256 or RS256."""
    return jwt is not None and _VERIFIES_KEYS


# --- offering a session --------------------------------------------------------


def offer(request: HttpRequest, device: TrustedDevice) -> None:
    """Ask this response's browser to bind ``device``, just trusted, to a key.

    Over HTTPS only: browsers register only over a connection they verified.
    """
    if request.is_secure() and available():
        setattr(request, _OFFER, device.pk)


def apply_offer(request: HttpRequest, response: HttpResponse) -> None:
    """Send the registration header a flow queued on ``request``, if any."""
    pk = getattr(request, _OFFER, None)
    if pk is None:
        return
    algorithms = " ".join(ALGORITHMS)
    response["Secure-Session-Registration"] = (
        f'({algorithms});path="{reverse(REGISTER_URL_NAME)}";challenge="{challenge(pk)}"'
    )


def challenge(pk: int) -> str:
    """A challenge for device ``pk``: signed, timed, unique (a random part)."""
    return signing.dumps([pk, secrets.token_urlsafe(8)], salt=_CHALLENGE_SALT)


def challenged_device(value: Any) -> int | None:
    """The device a challenge was issued for, while it is fresh."""
    if not isinstance(value, str) or len(value) > 256:
        return None
    try:
        pk, _nonce = signing.loads(value, salt=_CHALLENGE_SALT, max_age=CHALLENGE_MAX_AGE)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return pk if isinstance(pk, int) else None


def session_id(pk: int) -> str:
    """The DBSC session identifier of device ``pk``: signed, so not guessable."""
    return signing.Signer(salt=_SESSION_SALT, sep=".").sign(str(pk))


def session_device(value: str) -> int | None:
    if not value or len(value) > MAX_SESSION_ID_LENGTH:
        return None
    try:
        pk = signing.Signer(salt=_SESSION_SALT, sep=".").unsign(value)
    except signing.BadSignature:
        return None
    return int(pk) if pk.isdigit() else None


# --- the bound cookie ------------------------------------------------------------


def bound_cookie_name(pk: int) -> str:
    return f"{BOUND_COOKIE_PREFIX}{pk}"


@sensitive_variables()
def proven(request: HttpRequest, device: TrustedDevice) -> bool:
    """May ``device`` stand in for a code on this request, as far as its key goes?

    A device no browser bound: yes (today's rules). A bound one: only with
    its own bound cookie, issued less than ``BOUND_LIFETIME`` ago by the
    server's signed clock, whatever expiry the browser was told.
    """
    if device.bound_key is None:
        return True
    value = request.COOKIES.get(bound_cookie_name(device.pk))
    if not value or len(value) > 256:
        return False
    try:
        found = signing.loads(value, salt=_BOUND_SALT, max_age=BOUND_LIFETIME)
    except (signing.BadSignature, ValueError, TypeError):
        return False
    return isinstance(found, int) and found == device.pk


def _with_bound_cookie(request: HttpRequest, device: TrustedDevice) -> JsonResponse:
    """The session instructions (what the browser keeps alive), and the cookie."""
    name = bound_cookie_name(device.pk)
    response = JsonResponse(
        {
            "session_identifier": session_id(device.pk),
            "refresh_url": reverse(REFRESH_URL_NAME),
            "scope": {
                "origin": f"{request.scheme}://{request.get_host()}",
                "include_site": False,
                "scope_specification": [],
            },
            "credentials": [
                {"type": "cookie", "name": name, "attributes": BOUND_COOKIE_ATTRIBUTES}
            ],
        }
    )
    response.set_cookie(
        name,
        signing.dumps(device.pk, salt=_BOUND_SALT),
        max_age=int(BOUND_LIFETIME.total_seconds()),
        path="/",
        secure=True,
        httponly=True,
        samesite="Lax",
    )
    return response


# --- proofs --------------------------------------------------------------------


class Refused(Exception):
    """A proof, challenge or device that does not hold (a 4xx, never a 500).

    ``forged``: a well-formed proof over our challenge whose signature does
    not verify with the key (someone without the key tried).
    """

    def __init__(self, why: str, *, forged: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.forged = forged
        # The bound device a forged refresh proof was for (the caller logs it).
        self.device: TrustedDevice | None = None


@sensitive_variables()
def verify_proof(token: str, stored_key: dict[str, Any] | None) -> tuple[dict[str, str], int]:
    """Verify a ``Secure-Session-Response`` JWT: (its public JWK, the device it was for).

    Registration (``stored_key`` ``None``): verified against the JWK the JWT
    carries. Refresh: against the key stored at registration, whatever the JWT
    carries. Raises ``Refused``.
    """
    if jwt is None:
        raise Refused("unavailable")
    if not token or len(token) > MAX_PROOF_LENGTH or not token.isascii():
        raise Refused("malformed")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise Refused("malformed") from error
    alg = header.get("alg")
    # SECURITY: the algorithm comes from the attacker; only the two asymmetric
    # ones are ever tried ("none" and HS256-with-the-public-key are out).
    if alg not in ALGORITHMS or header.get("typ") != "dbsc+jwt":
        raise Refused("algorithm")
    jwk = stored_key if stored_key is not None else header.get("jwk")
    public = _public_jwk(jwk, alg)
    try:
        key = jwt.PyJWK(public, algorithm=alg)
        _check_strength(key)
        # The audience is this endpoint by construction (the challenge names
        # the device, the key is ours to check): an "aud" a browser adds is
        # not a reason to refuse.
        claims = jwt.decode(
            token, key, algorithms=[alg], options={"require": ["jti"], "verify_aud": False}
        )
    except jwt.InvalidSignatureError as error:
        raise Refused("signature", forged=True) from error
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise Refused("malformed") from error
    pk = challenged_device(claims.get("jti"))
    if pk is None:
        raise Refused("challenge")
    return public, pk


def _public_jwk(jwk: Any, alg: str) -> dict[str, str]:
    """The public members of ``jwk``, of the kind ``alg`` needs (a private ``d`` is dropped)."""
    kty = "EC" if alg == "ES256" else "RSA"
    if not isinstance(jwk, dict) or jwk.get("kty") != kty:
        raise Refused("key")
    if kty == "EC" and jwk.get("crv") != "P-256":
        raise Refused("key")
    public = {name: jwk.get(name) for name in _PUBLIC[kty]}
    if not all(isinstance(value, str) and 0 < len(value) < 1024 for value in public.values()):
        raise Refused("key")
    return public  # type: ignore[return-value]


def _check_strength(key: Any) -> None:
    size = getattr(key.key, "key_size", 0)
    if key.key_type == "RSA" and size < MIN_RSA_BITS:
        raise Refused("key")


# --- the two endpoints ------------------------------------------------------------


@sensitive_variables()
def register(request: HttpRequest) -> HttpResponse:
    """The browser's registration: bind the challenged device to the key it proves.

    The device must be one this very request's trusted-device cookie holds,
    live, and not bound yet (a key is bound once; a code re-trusts the
    browser as a new device, which registers anew).
    """
    if not request.is_secure():
        raise Refused("insecure")
    jwk, pk = verify_proof(request.headers.get("Secure-Session-Response", ""), None)
    device = next((d for d in Presented.read(request).secrets.values() if d.pk == pk), None)
    if device is None:
        raise Refused("not_presented")
    now = timezone.now()
    if device.revoked_at is not None or device.expires_at <= now or device.bound_key is not None:
        raise Refused("device")
    # SECURITY: a conditional UPDATE: of two registrations racing, one binds.
    bound = TrustedDevice.objects.filter(
        pk=pk, revoked_at__isnull=True, bound_key__isnull=True
    ).update(bound_key=jwk)
    if not bound:
        raise Refused("device")
    device.bound_key = jwk
    return _with_bound_cookie(request, device)


@sensitive_variables()
def refresh(request: HttpRequest) -> HttpResponse:
    """The browser's refresh: a challenge, then a proof with the stored key.

    Answers 403 with a challenge, 200 with a fresh bound cookie, or 200
    ``continue: false`` for a device that is over (the browser ends the
    session). Raises ``Refused`` for a bad proof.
    """
    if not request.is_secure():
        raise Refused("insecure")
    sid = request.headers.get("Sec-Secure-Session-Id", "")
    pk = session_device(sid)
    if pk is None:
        raise Refused("session")
    device = TrustedDevice.objects.filter(pk=pk).first()
    now = timezone.now()
    if (
        device is None
        or device.bound_key is None
        or device.revoked_at is not None
        or device.expires_at <= now
    ):
        return JsonResponse({"session_identifier": sid, "continue": False})
    token = request.headers.get("Secure-Session-Response")
    if not token:
        response = HttpResponse(status=403)
        response["Secure-Session-Challenge"] = f'"{challenge(pk)}";id="{sid}"'
        return response
    try:
        _jwk, for_pk = verify_proof(token, device.bound_key)
    except Refused as refused:
        refused.device = device if refused.forged else None
        raise
    if for_pk != pk:
        raise Refused("challenge")
    return _with_bound_cookie(request, device)
