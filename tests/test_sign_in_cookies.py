"""What the login view set survives the gate.

When a sign-in's answer becomes the code page (or the enrollment redirect,
or the JSON 401), the cookies the login view set still reach the browser:
the CSRF token Django rotates at sign-in among them.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import csrf_client, csrf_token_from

pytestmark = pytest.mark.django_db(transaction=False)


def login_page(client, path="/accounts/login/"):
    page = client.get(path)
    return csrf_token_from(page.content.decode()), client.cookies["csrftoken"].value


def post_password(client, account, token, path="/accounts/login/"):
    return client.post(
        path,
        {
            "csrfmiddlewaretoken": token,
            "username": account.user.get_username(),
            "password": account.password,
        },
    )


def test_the_password_step_of_a_2fa_sign_in_rotates_the_csrf_token(account):
    client = csrf_client()
    token, before = login_page(client)

    response = post_password(client, account, token)

    assert response.status_code == 302 and response["Location"] == "/2fa/verify/?next=/"
    assert "csrftoken" in response.cookies
    assert response.cookies["csrftoken"].value not in ("", before)
    # A page made before the sign-in no longer posts: its token went with it.
    stale = client.post("/2fa/verify/", {"csrfmiddlewaretoken": token, "otp_token": "000000"})
    assert stale.status_code == 403
    # The code page's own token does.
    fresh = csrf_token_from(client.get("/2fa/verify/").content.decode())
    passed = client.post(
        "/2fa/verify/", {"csrfmiddlewaretoken": fresh, "otp_token": account.code()}
    )
    assert passed.status_code == 302 and passed["Location"] == "/"


def test_the_answer_that_became_the_code_page_is_never_cached(account):
    client = csrf_client()
    token, _ = login_page(client)

    response = post_password(client, account, token)

    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "Cookie" in response["Vary"]


def test_the_enroll_redirect_keeps_the_rotated_csrf_token(make_user, settings):
    settings.TRUST_ENROLLMENT_REQUIRED = "tests.enrollment_policy.staff_must_enroll"
    staff = make_user("operator", totp=False, is_staff=True)
    client = csrf_client()
    token, before = login_page(client)

    response = post_password(client, staff, token)

    assert response.status_code == 302 and response["Location"].startswith("/2fa/setup/")
    assert response.cookies["csrftoken"].value not in ("", before)


@pytest.mark.urls("tests.urls_more_ways_in")
def test_a_login_views_own_cookies_reach_the_browser_through_the_code_page(account):
    client = csrf_client()
    client.cookies["signed_out_notice"] = "1"
    token, before = login_page(client, "/cookie-login/")

    response = post_password(client, account, token, "/cookie-login/")

    assert response.status_code == 302 and response["Location"].startswith("/2fa/verify/")
    assert response.cookies["remembered_username"].value == "alice"
    assert response.cookies["signed_out_notice"]["max-age"] == 0  # cleared, as it asked
    assert response.cookies["csrftoken"].value not in ("", before)
    assert client.cookies["remembered_username"].value == "alice"


@pytest.mark.urls("tests.urls_more_ways_in")
def test_a_json_login_keeps_its_cookies_in_the_401(account):
    client = csrf_client()

    response = client.post(
        "/api/cookie-login/",
        json.dumps({"username": "alice", "password": account.password}),
        content_type="application/json",
    )

    assert response.status_code == 401 and response.json()["error"] == "step_up_required"
    assert response.cookies["remembered_username"].value == "alice"
    assert "no-store" in response["Cache-Control"]
