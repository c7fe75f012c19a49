"""Scripts and single-page apps speak JSON on the same URLs (docs/guides/json.md).

What a script sends, as browsers and libraries send it: ``fetch()`` (Accept
``*/*``, ``Sec-Fetch-Dest: empty``), axios (Accept lists ``*/*`` last; with
and without ``X-Requested-With``, which axios no longer sends by default), an
old XHR without Fetch Metadata. A page load (``Sec-Fetch-Mode: navigate``)
still gets pages and redirects, whatever its Accept header says.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from django.test import Client

from tests.agents import FIREFOX_WINDOWS, SAFARI_IPHONE
from tests.conftest import browser, csrf_client, csrf_token_from, sign_in, step_up
from tests.test_passkeys import with_passkey  # noqa: F401  (a fixture)
from trust.http import MAX_JSON_BODY, wants_json
from trust.models import SecurityEvent, TrustedDevice

pytestmark = pytest.mark.django_db(transaction=False)

FETCH = {"HTTP_ACCEPT": "*/*", "HTTP_SEC_FETCH_DEST": "empty", "HTTP_SEC_FETCH_MODE": "cors"}
AXIOS = {"HTTP_ACCEPT": "application/json, text/plain, */*"}
AXIOS_XRW = {**AXIOS, "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
OLD_XHR = {"HTTP_ACCEPT": "*/*", "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
SCRIPTS = {"fetch": FETCH, "axios": AXIOS, "axios+XRW": AXIOS_XRW, "old XHR": OLD_XHR}
NAVIGATION = {
    "HTTP_ACCEPT": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "HTTP_SEC_FETCH_DEST": "document",
    "HTTP_SEC_FETCH_MODE": "navigate",
    "HTTP_SEC_FETCH_USER": "?1",
}


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def post_json(client: Client, path: str, body, headers=FETCH):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post(path, data, content_type="application/json", **headers)


def kinds(account) -> list[str]:
    events = SecurityEvent.objects.filter(user=account.user).order_by("pk")
    return list(events.values_list("kind", flat=True))


def failures(account) -> tuple[int, int]:
    account.device.refresh_from_db()
    return account.device.throttling_failure_count, account.device.last_t


@pytest.fixture
def pending(account) -> Client:
    """alice, password entered on a new browser: a code is owed."""
    client = browser()
    sign_in(client, account)
    return client


# --- the rule ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "json_body", "expected"),
    [
        (FETCH, False, True),
        (AXIOS, False, True),
        (AXIOS_XRW, False, True),
        (OLD_XHR, False, True),
        ({"HTTP_ACCEPT": "application/json"}, False, True),
        ({"HTTP_ACCEPT": "text/html;q=0.5, application/json"}, False, True),
        ({"HTTP_ACCEPT": "*/*"}, True, True),  # a JSON body
        (NAVIGATION, False, False),
        ({**NAVIGATION, "HTTP_ACCEPT": "application/json"}, True, False),  # navigation wins
        ({**NAVIGATION, "HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}, False, False),
        ({"HTTP_SEC_FETCH_DEST": "document", "HTTP_ACCEPT": "application/json"}, False, False),
        ({"HTTP_SEC_FETCH_DEST": "iframe", "HTTP_SEC_FETCH_MODE": "navigate"}, False, False),
        ({"HTTP_SEC_FETCH_DEST": "image", "HTTP_ACCEPT": "image/*"}, False, False),
        ({"HTTP_ACCEPT": "*/*"}, False, False),  # curl: no preference, no metadata
        ({}, False, False),  # no Accept at all
        ({"HTTP_ACCEPT": "text/html, application/json"}, False, False),
        ({"HTTP_ACCEPT": "application/json;q=0.5, text/html"}, False, False),
        ({"HTTP_ACCEPT": ";;, ,q=x/y;;=", "HTTP_SEC_FETCH_DEST": "\x00"}, False, False),
    ],
)
def test_who_gets_json(rf, headers, json_body, expected):
    if json_body:
        request = rf.post("/", "{}", content_type="application/json", **headers)
    else:
        request = rf.get("/", **headers)
    assert wants_json(request) is expected


# --- the gate ---------------------------------------------------------------------


@pytest.mark.parametrize("headers", SCRIPTS.values(), ids=SCRIPTS.keys())
def test_a_script_of_a_session_owing_a_code_gets_the_401(pending, headers):
    response = pending.get("/devices/", **headers)
    assert response.status_code == 401
    assert response.json() == {
        "error": "step_up_required",
        "verify_url": "/2fa/verify/",
        "reasons": ["new_device"],
    }


@pytest.mark.parametrize(
    "headers",
    [NAVIGATION, {**NAVIGATION, "HTTP_ACCEPT": "application/json"}, {"HTTP_ACCEPT": "*/*"}],
    ids=["navigation", "navigation asking for JSON", "no metadata"],
)
def test_a_page_load_of_a_session_owing_a_code_goes_to_the_code_page(pending, headers):
    response = pending.get("/devices/", **headers)
    assert response.status_code == 302
    assert response["Location"] == "/2fa/verify/?next=/devices/"


# --- the code, in JSON ----------------------------------------------------------------


def test_a_json_code_verifies_trusts_and_rotates_the_session(pending, account):
    before = pending.session.session_key
    assert pending.get("/2fa/verify/", **FETCH).json() == {"pending": True, "passkey": False}
    body = {"otp_token": account.code(), "trust_device": True, "next": "/devices/"}
    response = post_json(pending, "/2fa/verify/", body)
    assert response.status_code == 200
    assert response.json() == {"verified": True, "next": "/devices/"}
    assert response["Cache-Control"].count("no-store") == 1
    assert pending.session.session_key != before  # no fixation
    assert kinds(account) == ["step_up_passed", "device_trusted"]
    assert TrustedDevice.objects.filter(user=account.user, revoked_at__isnull=True).count() == 1
    assert pending.get("/devices/", **FETCH).status_code == 200
    # The trust is real: a new session in this browser needs no code.
    pending.post("/accounts/logout/")
    sign_in(pending, account)
    assert pending.get("/devices/", **FETCH).status_code == 200


@pytest.mark.parametrize("value", ["on", "true", 1, None, False, [True]])
def test_only_json_true_trusts_the_browser(pending, account, value):
    response = post_json(
        pending, "/2fa/verify/", {"otp_token": account.code(), "trust_device": value}
    )
    assert response.status_code == 200 and response.json()["verified"] is True
    assert not TrustedDevice.objects.filter(user=account.user).exists()


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", 5, ["/devices/"], "\\\\evil.example"]
)
def test_json_next_never_leads_off_site(pending, account, next_url):
    response = post_json(pending, "/2fa/verify/", {"otp_token": account.code(), "next": next_url})
    assert response.json() == {"verified": True, "next": "/"}


def test_a_wrong_json_code_is_a_400_logged_and_charged(pending, account):
    response = post_json(pending, "/2fa/verify/", {"otp_token": wrong(account.code())}, AXIOS)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_code"}
    assert failures(account)[0] == 1
    assert kinds(account) == ["step_up_failed"]
    assert pending.get("/devices/", **AXIOS).status_code == 401


def test_a_json_code_is_accepted_once(pending, account):
    code = account.code()
    assert post_json(pending, "/2fa/verify/", {"otp_token": code}).status_code == 200
    thief = browser(SAFARI_IPHONE, REMOTE_ADDR="203.0.113.9")
    sign_in(thief, account)
    replayed = post_json(thief, "/2fa/verify/", {"otp_token": code})
    assert replayed.status_code == 400 and replayed.json() == {"error": "invalid_code"}
    assert thief.get("/devices/", **FETCH).status_code == 401


HOSTILE_BODIES = {
    "number": b'{"otp_token": CODE}',
    "list": b'{"otp_token": ["CODE"]}',
    "object": b'{"otp_token": {"value": "CODE"}}',
    "null": b'{"otp_token": null}',
    "missing": b'{"code": "CODE"}',
    "array body": b'["CODE"]',
    "string body": b'"CODE"',
    "number body": b"CODE",
    "empty body": b"",
    "truncated": b'{"otp_token": "CODE"',
    "repeated key, same value": b'{"otp_token": "CODE", "otp_token": "CODE"}',
    "repeated key, right one last": b'{"otp_token": "000000", "otp_token": "CODE"}',
    "repeated key, nested": b'{"otp_token": "CODE", "x": {"a": 1, "a": 2}}',
    "NaN": b'{"otp_token": "CODE", "x": NaN}',
    "deep nesting": b'{"otp_token": "CODE", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "invalid UTF-8": b'{"otp_token": "CODE", "x": "\xff\xfe"}',
    "UTF-16": '{"otp_token": "CODE"}'.encode("utf-16"),
    "BOM": b'\xef\xbb\xbf{"otp_token": "CODE"}',
    "escaped NUL": b'{"otp_token": "CODE\\u0000"}',
    "arabic-indic digits": b'{"otp_token": "\\u0661\\u0662\\u0663\\u0664\\u0665\\u0666"}',
    "lone surrogate": b'{"otp_token": "\\ud800CODE"}',
    "over the size cap": b'{"otp_token": "CODE", "pad": "' + b"x" * MAX_JSON_BODY + b'"}',
    "over Django's upload cap": b'{"otp_token": "CODE", "pad": "' + b"x" * 3_000_000 + b'"}',
}


@pytest.mark.parametrize("template", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
def test_hostile_json_bodies_are_a_charged_400_never_compared(pending, account, template):
    count, last_t = failures(account)
    body = template.replace(b"CODE", account.code().encode())
    response = post_json(pending, "/2fa/verify/", body)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_code"}
    assert failures(account) == (count + 1, last_t)  # charged like a malformed form code
    assert last_t == -1
    assert pending.get("/devices/", **FETCH).status_code == 401


def test_a_form_posted_by_a_script_gets_json_too(pending, account):
    response = pending.post("/2fa/verify/", {"otp_token": account.code()}, **AXIOS)
    assert response.status_code == 200 and response.json()["verified"] is True


def test_a_navigation_posting_the_form_still_gets_redirected(pending, account):
    response = pending.post("/2fa/verify/", {"otp_token": account.code()}, **NAVIGATION)
    assert response.status_code == 302 and response["Location"] == "/"


def test_a_session_with_no_second_factor_left_is_told_to_go_on(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    response = post_json(client, "/2fa/verify/", {"otp_token": "123456", "next": "/devices/"})
    assert response.json() == {"verified": False, "next": "/devices/"}


def test_signed_out_scripts_get_a_401_not_a_login_page(db):
    client = browser()
    for path in ("/devices/", "/2fa/verify/"):
        response = client.get(path, **FETCH)
        assert response.status_code == 401, path
        assert response.json() == {"error": "authentication_required"}
    page = client.get("/devices/", **NAVIGATION)
    assert page.status_code == 302 and page["Location"] == "/accounts/login/?next=/devices/"


# --- throttling and the hard cap ----------------------------------------------------------


@pytest.mark.throttling
def test_throttled_json_codes_get_429_with_retry_after(pending, account, clock, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    post_json(pending, "/2fa/verify/", {"otp_token": wrong(account.code())})
    right = post_json(pending, "/2fa/verify/", {"otp_token": account.code()})
    wrong_too = post_json(pending, "/2fa/verify/", {"otp_token": wrong(account.code())})
    assert right.status_code == 429 and wrong_too.status_code == 429
    retry = right.json()["retry_after"]
    assert right.json() == {"error": "throttled", "retry_after": retry}
    assert isinstance(retry, int) and retry >= 1
    assert right["Retry-After"] == str(retry)
    assert wrong_too.json()["error"] == "throttled"  # nothing tells them apart
    assert failures(account) == (1, -1)  # refused attempts are never compared nor charged
    clock.shift(timedelta(seconds=retry + 1))
    assert post_json(pending, "/2fa/verify/", {"otp_token": account.code()}).status_code == 200


@pytest.mark.throttling
def test_json_code_entry_locked_after_the_hard_cap(pending, account, clock, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    settings.OTP_FLOW_MAX_FAILURES = 3
    for _ in range(3):
        response = post_json(pending, "/2fa/verify/", {"otp_token": wrong(account.code())})
        assert response.status_code == 400
        clock.shift(timedelta(seconds=10))  # past each back-off
    clock.shift(timedelta(hours=1))
    locked = post_json(pending, "/2fa/verify/", {"otp_token": account.code()})
    assert locked.status_code == 423
    assert locked.json() == {"error": "locked"}
    assert not locked.has_header("Retry-After")  # waiting does not help
    assert failures(account) == (3, -1)


# --- CSRF -------------------------------------------------------------------------


def test_json_posts_need_the_csrf_header(account):
    client = csrf_client()
    token = csrf_token_from(client.get("/accounts/login/").content.decode())
    data = {"username": "alice", "password": account.password, "csrfmiddlewaretoken": token}
    assert client.post("/accounts/login/", data).status_code == 302
    body = {"otp_token": account.code(), "trust_device": True}

    assert post_json(client, "/2fa/verify/", body).status_code == 403
    assert failures(account) == (0, -1)  # refused before any check
    header = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    response = post_json(client, "/2fa/verify/", body, {**FETCH, **header})
    assert response.status_code == 200 and response.json()["verified"] is True

    # The token rotated with the session: the script reads the new cookie.
    assert post_json(client, "/devices/revoke-others/", {}).status_code == 403
    header = {"HTTP_X_CSRFTOKEN": client.cookies["csrftoken"].value}
    response = post_json(client, "/devices/revoke-others/", {}, {**FETCH, **header})
    assert response.status_code == 200 and response.json()["revoked"] == []


# --- devices ------------------------------------------------------------------------


@pytest.fixture
def laptop_and_phone(account, clock):
    """alice trusts two browsers; the laptop is the one asking."""
    phone = browser(SAFARI_IPHONE, REMOTE_ADDR="203.0.113.9")
    sign_in(phone, account)
    assert step_up(phone, account).status_code == 302
    clock.shift(timedelta(seconds=31))
    laptop = browser(FIREFOX_WINDOWS, REMOTE_ADDR="198.51.100.7")
    sign_in(laptop, account)
    body = {"otp_token": account.code(), "trust_device": True}
    assert post_json(laptop, "/2fa/verify/", body).status_code == 200
    devices = TrustedDevice.objects.filter(user=account.user)
    return laptop, phone, devices.get(browser="Firefox"), devices.get(browser="Mobile Safari")


def test_devices_in_json(laptop_and_phone):
    laptop, _phone, laptop_device, phone_device = laptop_and_phone
    response = laptop.get("/devices/", **AXIOS)
    assert response.status_code == 200
    listed = {device["id"]: device for device in response.json()["devices"]}
    assert set(listed) == {laptop_device.pk, phone_device.pk}
    mine, phone = listed[laptop_device.pk], listed[phone_device.pk]
    assert set(mine) == {
        "id", "name", "current", "trusted_at", "last_seen_at", "last_ip", "expires_at", "bound"
    }  # fmt: skip
    assert mine["current"] is True and phone["current"] is False
    assert mine["name"] == "Firefox on Windows" and phone["name"] == "Safari on iPhone"
    assert (mine["last_ip"], phone["last_ip"]) == ("198.51.100.7", "203.0.113.9")
    phone_device.refresh_from_db()
    assert datetime.fromisoformat(phone["trusted_at"]) == phone_device.created_at
    assert datetime.fromisoformat(phone["last_seen_at"]) == phone_device.last_seen_at
    assert datetime.fromisoformat(phone["expires_at"]) == phone_device.expires_at
    assert "<html" in laptop.get("/devices/", **NAVIGATION).content.decode()


def test_revoking_a_device_in_json_signs_it_out(laptop_and_phone):
    laptop, phone, _laptop_device, phone_device = laptop_and_phone
    response = post_json(laptop, f"/devices/{phone_device.pk}/revoke/", {})
    assert response.status_code == 200
    assert response.json() == {"revoked": [phone_device.pk], "signed_out": False}
    phone_device.refresh_from_db()
    assert phone_device.revoked_at is not None
    assert phone.get("/devices/", **FETCH).json() == {"error": "authentication_required"}
    again = post_json(laptop, f"/devices/{phone_device.pk}/revoke/", {})
    assert again.status_code == 404 and again.json() == {"error": "not_found"}


def test_revoking_this_device_in_json_signs_this_session_out(laptop_and_phone):
    laptop, phone, laptop_device, _phone_device = laptop_and_phone
    response = post_json(laptop, f"/devices/{laptop_device.pk}/revoke/", {}, AXIOS)
    assert response.json() == {"revoked": [laptop_device.pk], "signed_out": True}
    assert laptop.get("/devices/", **AXIOS).status_code == 401
    assert phone.get("/devices/", **AXIOS).status_code == 200


def test_revoking_the_others_in_json_lists_them(laptop_and_phone, account):
    laptop, phone, laptop_device, phone_device = laptop_and_phone
    response = post_json(laptop, "/devices/revoke-others/", {})
    assert response.status_code == 200
    assert response.json() == {"revoked": [phone_device.pk], "signed_out": False}
    assert laptop.get("/devices/", **FETCH).json()["devices"][0]["id"] == laptop_device.pk
    assert phone.get("/devices/", **FETCH).status_code == 401


def test_another_users_or_an_unknown_device_is_a_json_404(laptop_and_phone, make_user):
    _laptop, _phone, _laptop_device, phone_device = laptop_and_phone
    bob = make_user("bob")
    client = browser()
    sign_in(client, bob)
    assert post_json(client, "/2fa/verify/", {"otp_token": bob.code()}).status_code == 200
    for pk in (phone_device.pk, 999_999):
        response = post_json(client, f"/devices/{pk}/revoke/", {})
        assert response.status_code == 404 and response.json() == {"error": "not_found"}
    phone_device.refresh_from_db()
    assert phone_device.revoked_at is None
    page = client.post(f"/devices/{phone_device.pk}/revoke/", **NAVIGATION)
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


# --- the passkey endpoint decides the same way ------------------------------------------


def test_the_passkey_answer_follows_the_same_rule(pending):
    scripted = pending.post("/2fa/verify/passkey/", {"credential": "{}"}, **AXIOS)
    assert scripted.status_code == 400 and scripted.json() == {"error": "invalid_passkey"}
    navigation = {**NAVIGATION, "HTTP_ACCEPT": "application/json"}
    page = pending.post("/2fa/verify/passkey/", {"credential": "{}"}, **navigation)
    assert page.status_code == 400 and page["Content-Type"].startswith("text/html")


@pytest.mark.throttling
def test_a_passkey_past_the_hard_cap_answers_locked_as_a_code_does(
    with_passkey,  # noqa: F811
    account,
    clock,
    settings,
):
    settings.OTP_TOTP_THROTTLE_FACTOR = 1
    settings.OTP_FLOW_MAX_FAILURES = 3
    _client, key = with_passkey
    spa = browser(SAFARI_IPHONE)
    sign_in(spa, account)

    def answer(**tampered):
        options = spa.post("/2fa/verify/passkey/options/", **FETCH).json()
        return post_json(spa, "/2fa/verify/passkey/", {"credential": key.get(options, **tampered)})

    for _ in range(3):
        refused = answer(origin="https://evil.example")
        assert refused.status_code == 400 and refused.json() == {"error": "invalid_passkey"}
        clock.shift(timedelta(seconds=10))  # past each back-off
    locked = answer()
    assert locked.status_code == 423 and locked.json() == {"error": "locked"}
    assert post_json(spa, "/2fa/verify/", {"otp_token": account.code()}).status_code == 423
