"""Trusted browsers bound to a browser key (W3C Device Bound Session Credentials).

The browser's side of the protocol is played for real: a P-256 (or RSA) key
made with ``cryptography``, its proofs signed with PyJWT, exactly the JWTs a
browser sends (header ``typ: dbsc+jwt``, ``alg``, ``jwk`` at registration;
payload ``jti`` = the server's challenge). Hostile cases first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.test import Client

from tests.agents import CHROME_WINDOWS
from tests.conftest import sign_in, step_up
from trust import dbsc, flows
from trust.models import SecurityEvent, TrustedDevice

pytestmark = pytest.mark.django_db(transaction=False)

REGISTER = "/devices/dbsc/register/"
REFRESH = "/devices/dbsc/refresh/"
TRUST_COOKIE = "__Host-trustgate_token"


class HttpsClient(Client):
    """A browser on the site's HTTPS origin (DBSC needs a secure connection)."""

    def generic(self, *args, secure=True, **kwargs):
        return super().generic(*args, secure=True, **kwargs)


class BrowserKey:
    """The key pair a DBSC browser makes, and the proofs it signs."""

    def __init__(self, kind: str = "EC", bits: int = 2048) -> None:
        if kind == "EC":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.alg = "ES256"
            self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            self.alg = "RS256"
            self.jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))

    def proof(self, challenge: str, *, jwk: dict | None = None, registration: bool = True) -> str:
        headers = {"typ": "dbsc+jwt"}
        if registration:
            headers["jwk"] = jwk if jwk is not None else self.jwk
        return jwt.encode({"jti": challenge}, self.private, algorithm=self.alg, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict, payload: dict, signature: bytes = b"") -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(signature)}"


def token_with(header: dict) -> str:
    """A JWT-shaped value with ``header``, an empty payload and a junk signature."""
    return hand_made(header, {}, b"junk")


def https_browser(user_agent: str = CHROME_WINDOWS) -> HttpsClient:
    return HttpsClient(HTTP_USER_AGENT=user_agent)


def trust_over_https(client: Client, account) -> tuple[TrustedDevice, str]:
    """Sign in, pass a code, tick "trust this device": (the device, the challenge offered)."""
    sign_in(client, account)
    response = step_up(client, account, trust=True)
    assert response.status_code == 302
    offered = response.headers["Secure-Session-Registration"]
    match = re.fullmatch(r'\(ES256 RS256\);path="([^"]+)";challenge="([^"]+)"', offered)
    assert match, offered
    assert match.group(1) == REGISTER
    return TrustedDevice.objects.get(user=account.user, revoked_at=None), match.group(2)


def register(client: Client, token: str):
    return client.post(REGISTER, HTTP_SECURE_SESSION_RESPONSE=token)


def refused(response, why: str) -> bool:
    """Refused for ``why``, with no bound cookie set."""
    assert response.status_code == 400, response.status_code
    assert not [name for name in response.cookies if name.startswith(dbsc.BOUND_COOKIE_PREFIX)]
    return response.json() == {"error": why}


def assert_unbound(device: TrustedDevice) -> None:
    device.refresh_from_db()
    assert device.bound_key is None


def bound_browser(account, clock, key: BrowserKey | None = None):
    """A browser trusted over HTTPS that registered its key, then signed out."""
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    key = key or BrowserKey()
    assert register(client, key.proof(challenge)).status_code == 200
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    device.refresh_from_db()
    return client, device, key


def let_in(client: Client, account) -> tuple[int, list[str]]:
    """A sign-in with the password alone: (status of the next page, reasons owed)."""
    assert sign_in(client, account).status_code == 302
    response = client.get("/", HTTP_ACCEPT="application/json")
    reasons = response.json().get("reasons", []) if response.status_code == 401 else []
    return response.status_code, reasons


def bound_cookie(client: Client, device: TrustedDevice) -> str:
    return client.cookies[dbsc.bound_cookie_name(device.pk)].value


# --- the offer ----------------------------------------------------------------


def test_trusting_over_plain_http_offers_no_binding(account, clock):
    client = Client(HTTP_USER_AGENT=CHROME_WINDOWS)
    sign_in(client, account)
    response = step_up(client, account, trust=True)
    assert response.status_code == 302
    assert "Secure-Session-Registration" not in response.headers


def test_a_sign_in_without_trusting_offers_no_binding(account, clock):
    client = https_browser()
    sign_in(client, account)
    response = step_up(client, account, trust=False)
    assert "Secure-Session-Registration" not in response.headers


def test_trusting_over_https_offers_a_challenge_for_the_new_device(account, clock):
    device, challenge = trust_over_https(https_browser(), account)
    assert dbsc.challenged_device(challenge) == device.pk
    assert device.bound_key is None


# --- registration: hostile first ---------------------------------------------------


def test_a_proof_with_alg_none_is_refused(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    key = BrowserKey()
    token = hand_made({"alg": "none", "typ": "dbsc+jwt", "jwk": key.jwk}, {"jti": challenge})
    assert refused(register(client, token), "algorithm")
    assert_unbound(device)


def test_a_proof_hmac_signed_with_the_public_key_as_secret_is_refused(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    key = BrowserKey()
    header = {"alg": "HS256", "typ": "dbsc+jwt", "jwk": key.jwk}
    unsigned = hand_made(header, {"jti": challenge}).rsplit(".", 1)[0]
    for secret in (json.dumps(key.jwk).encode(), key.jwk["x"].encode()):
        signature = hmac.new(secret, unsigned.encode(), hashlib.sha256).digest()
        assert refused(register(client, f"{unsigned}.{b64(signature)}"), "algorithm")
    assert_unbound(device)


def test_a_proof_signed_by_another_key_than_the_one_it_carries_is_refused(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    shown, signer = BrowserKey(), BrowserKey()
    assert refused(register(client, signer.proof(challenge, jwk=shown.jwk)), "signature")
    assert_unbound(device)


def test_a_proof_without_the_dbsc_type_is_refused(account, clock):
    client = https_browser()
    _device, challenge = trust_over_https(client, account)
    key = BrowserKey()
    token = jwt.encode({"jti": challenge}, key.private, algorithm="ES256", headers={"jwk": key.jwk})
    assert refused(register(client, token), "algorithm")


def test_a_challenge_not_ours_is_refused(account, clock):
    client = https_browser()
    device, _challenge = trust_over_https(client, account)
    assert refused(register(client, BrowserKey().proof("made-up-challenge")), "challenge")
    assert refused(register(client, BrowserKey().proof(str(device.pk))), "challenge")
    assert_unbound(device)


def test_an_expired_challenge_is_refused(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    clock.shift(dbsc.CHALLENGE_MAX_AGE + timedelta(seconds=1))
    assert refused(register(client, BrowserKey().proof(challenge)), "challenge")
    assert_unbound(device)


def test_a_challenge_for_another_browsers_device_is_refused(account, make_user, clock):
    mine = https_browser()
    my_device, _mine = trust_over_https(mine, account)
    bob = make_user("bob")
    other = https_browser()
    bobs_device, bobs_challenge = trust_over_https(other, bob)
    # Bob's challenge, proved from Alice's browser (whose cookie holds only hers).
    assert refused(register(mine, BrowserKey().proof(bobs_challenge)), "not_presented")
    bobs_device.refresh_from_db()
    my_device.refresh_from_db()
    assert bobs_device.bound_key is None and my_device.bound_key is None


def test_a_registration_without_the_trusted_device_cookie_is_refused(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    stranger = https_browser()
    assert refused(register(stranger, BrowserKey().proof(challenge)), "not_presented")
    assert_unbound(device)


def test_a_revoked_device_cannot_be_bound(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    flows.revoke(device, reason="revoked_by_user")
    assert refused(register(client, BrowserKey().proof(challenge)), "device")
    assert_unbound(device)


def test_a_device_is_bound_once(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    first = BrowserKey()
    assert register(client, first.proof(challenge)).status_code == 200
    assert refused(register(client, BrowserKey().proof(challenge)), "device")
    device.refresh_from_db()
    assert device.bound_key == first.jwk


def test_a_registration_over_plain_http_is_refused(account, clock):
    client = https_browser()
    _device, challenge = trust_over_https(client, account)
    plain = Client(HTTP_USER_AGENT=CHROME_WINDOWS)
    plain.cookies[TRUST_COOKIE] = client.cookies[TRUST_COOKIE].value
    proof = BrowserKey().proof(challenge)
    assert refused(plain.post(REGISTER, HTTP_SECURE_SESSION_RESPONSE=proof), "insecure")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_weak_rsa_key_is_refused(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    assert refused(register(client, BrowserKey("RSA", 1024).proof(challenge)), "key")
    assert_unbound(device)


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("", "malformed"),
        ("x" * 100_000, "malformed"),
        ("é.é.é", "malformed"),
        ("a.b.c", "malformed"),
        ("...", "malformed"),
        ("eyJ", "malformed"),
        (b64(b"[1,2]") + "." + b64(b"{}") + ".", "malformed"),
        (token_with({"alg": "ES256", "typ": "dbsc+jwt", "jwk": "not a dict"}), "key"),
        (token_with({"alg": "ES256", "typ": "dbsc+jwt"}), "key"),
        (token_with({"alg": "ES256", "typ": "dbsc+jwt", "jwk": {"kty": "EC", "x": 1}}), "key"),
        (token_with({"alg": "RS256", "typ": "dbsc+jwt", "jwk": {"kty": "EC"}}), "key"),
        (token_with({"alg": ["ES256"], "typ": "dbsc+jwt"}), "algorithm"),
        (token_with({"alg": "ES512", "typ": "dbsc+jwt"}), "algorithm"),
    ],
)
def test_garbage_registrations_are_refused_never_a_500(account, clock, token, why):
    client = https_browser()
    device, _challenge = trust_over_https(client, account)
    assert refused(register(client, token), why)
    assert_unbound(device)


def test_the_endpoints_answer_posts_only(account, clock):
    client = https_browser()
    assert client.get(REGISTER).status_code == 405
    assert client.get(REFRESH).status_code == 405


# --- registration: the browser's own ---------------------------------------------------


def test_registration_binds_the_device_and_sets_the_bound_cookie(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    key = BrowserKey()
    private_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.private))
    response = register(client, key.proof(challenge, jwk=private_jwk))
    assert response.status_code == 200
    instructions = response.json()
    name = dbsc.bound_cookie_name(device.pk)
    assert instructions == {
        "session_identifier": dbsc.session_id(device.pk),
        "refresh_url": REFRESH,
        "scope": {"origin": "https://testserver", "include_site": False, "scope_specification": []},
        "credentials": [
            {"type": "cookie", "name": name, "attributes": "Path=/; Secure; HttpOnly; SameSite=Lax"}
        ],
    }
    cookie = response.cookies[name]
    assert cookie["secure"] and cookie["httponly"] and cookie["path"] == "/"
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == int(dbsc.BOUND_LIFETIME.total_seconds())
    device.refresh_from_db()
    # Only the public members are kept, whatever the browser sent.
    assert device.bound_key == key.jwk and "d" not in device.bound_key


def test_an_rsa_browser_key_binds_too(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    key = BrowserKey("RSA")
    assert register(client, key.proof(challenge)).status_code == 200
    device.refresh_from_db()
    assert device.bound_key == {k: key.jwk[k] for k in ("kty", "n", "e")}


# --- refresh ----------------------------------------------------------------------------


def refresh(
    client: Client, device: TrustedDevice, token: str | None = None, sid: str | None = None
):
    headers = {"HTTP_SEC_SECURE_SESSION_ID": sid if sid is not None else dbsc.session_id(device.pk)}
    if token is not None:
        headers["HTTP_SECURE_SESSION_RESPONSE"] = token
    return client.post(REFRESH, **headers)


def challenge_of(response) -> str:
    match = re.fullmatch(r'"([^"]+)";id="([^"]+)"', response.headers["Secure-Session-Challenge"])
    assert match
    return match.group(1)


def test_refresh_asks_a_challenge_then_takes_a_proof_with_the_registered_key(account, clock):
    client, device, key = bound_browser(account, clock)
    first = refresh(client, device)
    assert first.status_code == 403
    assert first.headers["Secure-Session-Challenge"].endswith(f';id="{dbsc.session_id(device.pk)}"')
    assert dbsc.bound_cookie_name(device.pk) not in first.cookies
    second = refresh(client, device, key.proof(challenge_of(first), registration=False))
    assert second.status_code == 200
    assert second.json()["session_identifier"] == dbsc.session_id(device.pk)
    assert second.cookies[dbsc.bound_cookie_name(device.pk)].value


def test_a_refresh_proof_signed_by_another_key_is_refused_and_logged(account, clock):
    _client, device, _key = bound_browser(account, clock)
    thief = https_browser()
    asked = refresh(thief, device)
    assert asked.status_code == 403
    forged = BrowserKey()
    # With its own key in the header, too: the stored key is the one checked.
    assert refused(refresh(thief, device, forged.proof(challenge_of(asked))), "signature")
    event = SecurityEvent.objects.get(user=account.user, kind="copied_cookie_suspected")
    assert event.reasons == ["unbound"] and event.device_id == device.pk
    device.refresh_from_db()
    assert device.revoked_at is None


def test_a_refresh_proof_over_another_devices_challenge_is_refused(account, make_user, clock):
    client, device, key = bound_browser(account, clock)
    bob = make_user("bob")
    _bobs, bobs_device, _bobs_key = bound_browser(bob, clock)
    asked_for_bob = refresh(client, bobs_device)
    proof = key.proof(challenge_of(asked_for_bob), registration=False)
    assert refused(refresh(client, device, proof), "challenge")


@pytest.mark.parametrize("sid", ["", "1", "x" * 10_000, "é", "1.forged", "../../etc", '"1";id="2"'])
def test_a_refresh_for_a_session_not_ours_is_refused(account, clock, sid):
    client, device, _key = bound_browser(account, clock)
    response = refresh(client, device, sid=sid)
    assert refused(response, "session")
    assert "Secure-Session-Challenge" not in response.headers


def test_a_refresh_for_a_revoked_device_ends_the_browsers_session(account, clock):
    client, device, _key = bound_browser(account, clock)
    flows.revoke(device, reason="revoked_by_user")
    response = refresh(client, device)
    assert response.status_code == 200
    assert response.json() == {"session_identifier": dbsc.session_id(device.pk), "continue": False}
    assert dbsc.bound_cookie_name(device.pk) not in response.cookies


@pytest.mark.parametrize("token", ["x" * 100_000, "é.é.é", "a.b.c", "eyJ"])
def test_garbage_refresh_proofs_are_refused_never_a_500(account, clock, token):
    client, device, _key = bound_browser(account, clock)
    assert refused(refresh(client, device, token), "malformed")


# --- the sign-in: a bound device needs its bound cookie ----------------------------------


def test_a_bound_browser_with_its_fresh_bound_cookie_signs_in_without_a_code(account, clock):
    client, _device, _key = bound_browser(account, clock)
    assert let_in(client, account) == (200, [])


def test_a_bound_device_without_its_bound_cookie_owes_a_code(account, clock):
    client, device, _key = bound_browser(account, clock)
    del client.cookies[dbsc.bound_cookie_name(device.pk)]
    assert let_in(client, account) == (401, ["unbound"])
    device.refresh_from_db()
    assert device.revoked_at is None  # the browser may just have lost its session


def test_a_bound_cookie_past_its_lifetime_owes_a_code_whatever_the_browser_keeps(account, clock):
    client, _device, _key = bound_browser(account, clock)
    clock.shift(dbsc.BOUND_LIFETIME + timedelta(seconds=1))
    # The test client keeps the cookie past its Max-Age, as a thief would.
    assert let_in(client, account) == (401, ["unbound"])


def test_a_bound_cookie_of_another_device_owes_a_code(account, make_user, clock):
    client, device, _key = bound_browser(account, clock)
    bob = make_user("bob")
    bobs_client, bobs_device, _bobs_key = bound_browser(bob, clock)
    client.cookies[dbsc.bound_cookie_name(device.pk)] = bound_cookie(bobs_client, bobs_device)
    assert let_in(client, account) == (401, ["unbound"])


def test_a_forged_bound_cookie_owes_a_code(account, clock):
    client, device, _key = bound_browser(account, clock)
    for value in (str(device.pk), "x" * 10_000, "é", bound_cookie(client, device) + "x"):
        client.cookies[dbsc.bound_cookie_name(device.pk)] = value
        assert let_in(client, account) == (401, ["unbound"])
        client.post("/accounts/logout/")


def test_copied_cookies_owe_a_code_once_the_bound_value_expired(account, clock):
    owner, device, key = bound_browser(account, clock)
    thief = https_browser()
    for name in (TRUST_COOKIE, dbsc.bound_cookie_name(device.pk)):
        thief.cookies[name] = owner.cookies[name].value
    clock.shift(dbsc.BOUND_LIFETIME + timedelta(seconds=1))
    assert let_in(thief, account) == (401, ["unbound"])
    # The owner's browser refreshes with its key and is still trusted.
    asked = refresh(owner, device)
    assert (
        refresh(owner, device, key.proof(challenge_of(asked), registration=False)).status_code
        == 200
    )
    assert let_in(owner, account) == (200, [])


def test_a_refreshed_bound_cookie_outlives_the_first_one(account, clock):
    client, device, key = bound_browser(account, clock)
    clock.shift(dbsc.BOUND_LIFETIME - timedelta(seconds=30))
    asked = refresh(client, device)
    assert (
        refresh(client, device, key.proof(challenge_of(asked), registration=False)).status_code
        == 200
    )
    clock.shift(timedelta(seconds=60))  # past the first value's lifetime
    assert let_in(client, account) == (200, [])


def test_a_code_after_unbound_retrusts_and_offers_a_new_binding(account, clock):
    client, device, _key = bound_browser(account, clock)
    del client.cookies[dbsc.bound_cookie_name(device.pk)]
    assert let_in(client, account) == (401, ["unbound"])
    response = step_up(client, account, trust=True)
    assert response.status_code == 302
    assert "Secure-Session-Registration" in response.headers
    new = TrustedDevice.objects.get(user=account.user, revoked_at=None)
    assert new.pk != device.pk and new.bound_key is None


def test_a_device_that_never_registered_keeps_todays_rules(account, clock):
    client = https_browser()
    device, _challenge = trust_over_https(client, account)  # no DBSC: never registers
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    assert let_in(client, account) == (200, [])
    assert_unbound(device)


def test_a_session_that_owes_a_code_may_still_refresh_its_bound_cookie(account, clock):
    client, device, key = bound_browser(account, clock)
    del client.cookies[dbsc.bound_cookie_name(device.pk)]
    assert let_in(client, account) == (401, ["unbound"])
    asked = refresh(client, device)
    assert asked.status_code == 403  # the endpoint's answer, not the gate's
    proof = key.proof(challenge_of(asked), registration=False)
    assert refresh(client, device, proof).status_code == 200


def test_the_devices_page_says_which_browser_is_bound(account, make_user, clock):
    client, device, _key = bound_browser(account, clock)
    assert let_in(client, account) == (200, [])
    listed = client.get("/devices/", HTTP_ACCEPT="application/json").json()["devices"]
    assert [(d["id"], d["bound"]) for d in listed] == [(device.pk, True)]
    assert "Bound to the browser" in client.get("/devices/").content.decode()
    plain = https_browser()
    trust_over_https(plain, make_user("bob"))  # never registers
    listed = plain.get("/devices/", HTTP_ACCEPT="application/json").json()["devices"]
    assert [d["bound"] for d in listed] == [False]
    assert "Bound to" not in plain.get("/devices/").content.decode()


def test_a_proof_with_an_audience_still_binds(account, clock):
    client = https_browser()
    device, challenge = trust_over_https(client, account)
    key = BrowserKey()
    token = jwt.encode(
        {"jti": challenge, "aud": "https://testserver" + REGISTER},
        key.private,
        algorithm="ES256",
        headers={"typ": "dbsc+jwt", "jwk": key.jwk},
    )
    assert register(client, token).status_code == 200
    device.refresh_from_db()
    assert device.bound_key == key.jwk


def test_one_browser_bound_for_two_users_keeps_a_bound_cookie_for_each(account, make_user, clock):
    client, alices, _key = bound_browser(account, clock)
    bob = make_user("bob")
    bobs, challenge = trust_over_https(client, bob)
    assert register(client, BrowserKey().proof(challenge)).status_code == 200
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    assert bound_cookie(client, alices) and bound_cookie(client, bobs)  # one each
    assert let_in(client, account) == (200, [])
    client.post("/accounts/logout/")
    assert let_in(client, bob) == (200, [])
