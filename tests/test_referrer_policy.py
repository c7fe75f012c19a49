"""Sensitive pages keep their URL from other sites without breaking their own
forms: under "no-referrer" Chromium posts "Origin: null" and Django's CSRF
check refuses the code (found by the browser test in e2e/)."""

from __future__ import annotations

from tests.conftest import browser, sign_in


def test_code_page_referrer_policy_lets_its_own_form_post(account):
    client = browser()
    sign_in(client, account)
    response = client.get("/2fa/verify/")
    assert response.status_code == 200
    assert response["Referrer-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
