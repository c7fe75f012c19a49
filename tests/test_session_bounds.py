"""A session's decision holds only as long as it should, and never breaks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, sign_in, step_up, trusted_browser


def test_sessions_end_after_their_absolute_lifetime(account, clock, settings):
    # Django's own expiry slides with every session save; ours does not.
    settings.SESSION_COOKIE_AGE = int(timedelta(days=7).total_seconds())
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    for _ in range(3):  # active all along
        clock.shift(timedelta(hours=7))
        assert client.get("/").status_code == 200
    clock.shift(timedelta(hours=4))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_without_the_setting_sessions_have_no_absolute_lifetime(account, clock, settings, unset):
    # Off unless a site asks: Trustgate must not sign out every user of a
    # site daily (the users without 2FA included).
    unset("TRUST_SESSION_LIFETIME")
    settings.SESSION_COOKIE_AGE = int(timedelta(days=7).total_seconds())
    settings.SESSION_SAVE_EVERY_REQUEST = True
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    for _ in range(6):
        clock.shift(timedelta(hours=7))
        assert client.get("/").status_code == 200


def test_a_state_from_another_version_keeps_its_meaning(account, clock):
    client = trusted_browser(account, clock)
    sign_in(client, account)
    assert client.get("/").wsgi_request.trust.method == "trusted_device"
    session = client.session
    raw = dict(session["_trustgate"])
    raw["field_of_a_later_version"] = 1
    session["_trustgate"] = raw
    session.save()

    trust = client.get("/").wsgi_request.trust
    assert trust.method == "trusted_device"
    assert trust.last_code_at is None  # no code was entered: no sudo


def test_changed_agent_after_the_user_went_away_is_no_500(account, make_user):
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    account.user.is_active = False
    account.user.save()
    client.defaults["HTTP_USER_AGENT"] = FIREFOX_WINDOWS
    response = client.get("/")
    assert response.status_code == 302


@pytest.mark.urls("tests.urls_more_ways_in")
def test_async_views_see_the_verified_user(account):
    client = browser()
    sign_in(client, account)
    assert client.get("/async-secret/").status_code == 302  # not verified yet
    step_up(client, account)
    assert client.get("/sync-secret/").content == b"sync alice"
    assert client.get("/async-secret/").content == b"async alice"


@pytest.mark.urls("tests.urls_more_ways_in")
def test_a_login_that_answers_with_data_right_away_is_gated_in_that_answer(account):
    client = browser()
    response = client.post(
        "/api/login/",
        {"username": "alice", "password": account.password},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["error"] == "step_up_required"
    assert b"secret_data" not in response.content


def test_turning_2fa_off_does_not_restart_the_absolute_lifetime(account, clock, settings):
    settings.SESSION_COOKIE_AGE = int(timedelta(days=7).total_seconds())
    client = browser()
    sign_in(client, account)
    step_up(client, account, trust=False)
    clock.shift(timedelta(hours=23))
    assert client.get("/").status_code == 200
    clock.shift(timedelta(seconds=31))
    assert client.post("/2fa/disable/", {"otp_token": account.code()}).status_code == 200
    assert client.get("/").wsgi_request.trust.method == "password"
    clock.shift(timedelta(hours=2))  # 25 hours after sign-in
    assert client.get("/")["Location"].startswith("/accounts/login/")
