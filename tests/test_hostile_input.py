"""Hostile code input on the code page: a form error that costs an attempt.

Anything but six ASCII digits (spaces removed) is never compared: the
device's ``last_t`` does not move, its failure count goes up by one, and the
answer is the page with the usual error, never a 500.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.utils.html import escape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from otp_flow.codes import canonical_totp
from otp_flow.conf import conf as otp_flow_conf
from otp_flow.forms import INVALID_CODE
from tests.conftest import browser, sign_in

pytestmark = pytest.mark.django_db(transaction=False)

HOSTILE_CODES = {
    "arabic-indic digits": "١٢٣٤٥٦",
    "full-width digits": "\uff11\uff12\uff13\uff14\uff15\uff16",
    "underscore": "123_456",
    "plus sign": "+123456",
    "minus sign": "-123456",
    "seven digits": "0123456",
    "five digits": "12345",
    "trailing newline": "123456\n",
    "leading newline": "\n123456",
    "NUL inside": "123\x00456",
    "NUL after": "123456\x00",
    "no-break space": "123\u00a0456",
    "ideographic space": "123\u3000456",
    "superscripts": "¹²³⁴⁵⁶",
    "exponent": "1e5",
    "float": "12345.6",
    "hex": "0x1E240",
    "empty": "",
    "only spaces": "      ",
    "10 KB of digits": "1" * 10_000,
    "10 KB of noise": "9 " * 5_000,
    "5000 digits (int() limit)": "7" * 5000,
    "binary": "\xff\xfe\x00\x01\x02",
    "right-to-left override": "\u202e123456",
    "json array": "[123456]",
}


@pytest.fixture
def pending(account):
    client = browser()
    sign_in(client, account)
    return client


def attempt(client, account, value, **extra):
    device = account.device
    device.refresh_from_db()
    before = (device.throttling_failure_count, device.last_t)
    response = client.post("/2fa/verify/", {"otp_token": value, **extra})
    device.refresh_from_db()
    return response, before, (device.throttling_failure_count, device.last_t)


@pytest.mark.parametrize("value", HOSTILE_CODES.values(), ids=HOSTILE_CODES.keys())
def test_malformed_code_is_a_form_error_that_costs_an_attempt(pending, account, value):
    # Make the malformed value as close to right as possible: the right
    # digits, dressed up. It must still never be compared.
    right = account.code()
    value = value.replace("123456", right)
    response, (count, last_t), after = attempt(pending, account, value)

    assert response.status_code == 200
    assert escape(str(INVALID_CODE)) in response.content.decode()
    assert after == (count + 1, last_t)  # charged, never compared
    assert pending.get("/").status_code == 302  # still pending


def test_right_code_with_spaces_passes(pending, account):
    code = account.code()
    response = pending.post("/2fa/verify/", {"otp_token": f" {code[:3]} \t{code[3:]} "})
    assert response.status_code == 302 and response["Location"] == "/"


def test_raw_bytes_and_bad_encodings_in_the_body_are_form_errors(pending, account):
    for body in (b"otp_token=%FF%FE%00", b"otp_token=%C0%AF123456", b"\xff\xfe=\x00"):
        device = account.device
        device.refresh_from_db()
        count = device.throttling_failure_count
        response = pending.post(
            "/2fa/verify/", body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200, body
        device.refresh_from_db()
        assert device.throttling_failure_count == count + 1


def test_json_body_is_not_a_code(pending, account):
    code = account.code()
    for payload in (f'{{"otp_token": {code}}}', f'{{"otp_token": ["{code}"]}}'):
        response = pending.post("/2fa/verify/", payload, content_type="application/json")
        assert response.status_code == 400  # a JSON body gets a JSON answer (docs/guides/json.md)
        assert response.json() == {"error": "invalid_code"}
    account.device.refresh_from_db()
    assert account.device.throttling_failure_count == 2
    assert account.device.last_t == -1


def test_multipart_file_in_place_of_a_code(pending, account):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("code.txt", account.code().encode())
    response = pending.post("/2fa/verify/", {"otp_token": upload})
    assert response.status_code == 200
    account.device.refresh_from_db()
    assert account.device.last_t == -1


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_arbitrary_text_never_500s_and_only_canonical_codes_are_compared(pending, account, value):
    response, (count, last_t), (count_after, last_t_after) = attempt(pending, account, value)

    assert response.status_code == 200  # wrong (or never compared): the page again
    assert last_t_after == last_t  # a random string is never the right code here
    if canonical_totp(value) is None:
        # Each malformed value costs an attempt, until the hard cap stops
        # charging (and comparing) altogether.
        assert count_after == min(count + 1, otp_flow_conf.MAX_FAILURES)


# --- other inputs the client controls ---------------------------------------------


@pytest.fixture
def verified(account):
    client = browser()
    sign_in(client, account)
    assert step_up_code(client, account).status_code == 302
    return client


def step_up_code(client, account):
    return client.post("/2fa/verify/", {"otp_token": account.code(), "trust_device": "on"})


@pytest.mark.parametrize(
    "device_id",
    ["0", "007", "9" * 25, "9" * 5000, "-1", "1e3", "%00", "1%00", "\u0661", "x"],
)
def test_hostile_device_ids_are_404_never_500(verified, device_id):
    response = verified.post(f"/devices/{device_id}/revoke/")
    assert response.status_code == 404
    assert verified.get("/").status_code == 200


@pytest.mark.parametrize(
    "cookie",
    [
        "",
        ".",
        "." * 5000,
        "A" * 43 + "." + "B" * 43 + "." * 100,
        "A" * 5000,
        ".".join(["A" * 43] * 50),
        "A" * 42 + "\x00",
        "%00%FF",
        '"quoted"',
        "=;=;",
    ],
)
def test_hostile_trust_cookies_mean_no_trust_never_an_error(account, cookie):
    client = browser()
    sign_in(client, account, HTTP_COOKIE=f"trustgate={cookie}")
    response = client.get("/", HTTP_ACCEPT="application/json", HTTP_COOKIE=f"trustgate={cookie}")
    # The HTTP_COOKIE given replaces the client's jar: no session, so no sign-in.
    assert response.status_code in (302, 401)
    session = client.cookies["sessionid"].value
    response = client.get(
        "/", HTTP_ACCEPT="application/json", HTTP_COOKIE=f"sessionid={session}; trustgate={cookie}"
    )
    assert response.status_code == 401
    assert response.json()["reasons"] == ["new_device"]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    accept=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=200),
    content_type=st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=100),
    path=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60),
)
@example(accept="", content_type="", path="accounts/logout/")
@example(accept="", content_type="", path="")
def test_pending_gate_survives_any_accept_content_type_and_path(
    pending, account, accept, content_type, path
):
    # A path, never "//host": the client would read that as a host name.
    target = "/" + path.replace("?", "").replace("#", "").lstrip("/")
    response = pending.generic(
        "POST", target, b"otp_token=1", content_type=content_type, HTTP_ACCEPT=accept
    )
    assert response.status_code < 500, response.status_code
    if _reaches_past_the_gate(response.wsgi_request):
        # The code page, sign-out, static files: they answer for themselves.
        # Hypothesis also draws the project's own string constants, so a
        # path may be the sign-out page: the next example needs a pending
        # session again, as the fixture made it.
        if SESSION_KEY not in pending.session:
            assert sign_in(pending, account).status_code == 302
        return
    # Anything else is held at the gate: to the code page, or the JSON 401.
    assert response.status_code in (302, 401), (target, response.status_code)
    if response.status_code == 302:
        assert response["Location"].startswith("/2fa/verify/?next="), response["Location"]
    else:
        assert response.json()["error"] == "step_up_required"


def _reaches_past_the_gate(request) -> bool:
    from django.urls import Resolver404, resolve

    if request.path.startswith("/static/"):
        return True
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return False
    return match.view_name in {
        "otp_flow:verify",
        "otp_flow:passkey_verify",
        "otp_flow:passkey_verify_options",
        "logout",
        "trust:not_me",
    }


def test_empty_and_json_posts_to_the_setup_page_are_form_errors(make_user):
    account = make_user(totp=False)
    client = browser()
    sign_in(client, account)
    assert client.post("/2fa/setup/").status_code == 200
    response = client.post("/2fa/setup/", '{"otp_token": 1}', content_type="application/json")
    assert response.status_code == 200
    assert escape(str(INVALID_CODE)) in response.content.decode()
