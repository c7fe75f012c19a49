"""A session already decided costs nothing: no query, no user-agent parse."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.agents import CHROME_WINDOWS
from tests.conftest import browser, sign_in, step_up
from trust.rules.fingerprint import parse_agent

TRUST = "trust.middleware.TrustMiddleware"


def queries_for(client, settings, middleware):
    settings.MIDDLEWARE = middleware
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/whoami/")
    assert response.status_code == 200
    return len(captured)


@pytest.fixture
def plain_urls(settings):
    settings.ROOT_URLCONF = "tests.urls_plain"


@pytest.mark.parametrize("how", ["trusted_device", "otp"])
def test_decided_session_adds_no_query_and_no_parse(account, clock, settings, plain_urls, how):
    client = browser(CHROME_WINDOWS)
    sign_in(client, account)
    step_up(client, account, trust=True)
    if how == "trusted_device":
        client.post("/accounts/logout/")
        clock.shift(timedelta(seconds=31))
        sign_in(client, account)
    assert client.get("/whoami/").status_code == 200  # the decision is made here
    assert client.get("/whoami/").wsgi_request.trust.method == how

    full = list(settings.MIDDLEWARE)
    bare = [m for m in full if m != TRUST]
    parse_agent.cache_clear()
    with_trust = queries_for(client, settings, full)
    assert parse_agent.cache_info().hits + parse_agent.cache_info().misses == 0
    without_trust = queries_for(client, settings, bare)
    # The session (unless the cache holds it) and the user, as bare Django.
    assert with_trust == without_trust <= 2


def test_is_verified_costs_no_query_until_the_device_is_asked_for(account, settings, plain_urls):
    client = browser()
    sign_in(client, account)
    step_up(client, account)
    response = client.get("/whoami/")
    user = response.wsgi_request.user
    with CaptureQueriesContext(connection) as captured:
        assert user.is_verified()
    assert len(captured) == 0
    assert user.otp_device.persistent_id == account.device.persistent_id


def test_anonymous_request_touches_nothing(db, settings, plain_urls):
    client = browser()
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert len(captured) == 0
    assert response.wsgi_request.trust.method is None


def test_anonymous_pages_stay_cacheable(db, settings, plain_urls):
    """No session cookie, no session read: no "Vary: Cookie" added by us."""
    response = browser().get("/ping/")
    assert response.status_code == 200
    assert "Cookie" not in response.get("Vary", "")
    assert response.wsgi_request.trust.method is None


def test_a_decided_session_makes_no_risk_lookup(account, clock, settings, plain_urls):
    """The risk model weighs the sign-in once; later requests look nothing up."""
    from trust.rules.risk import geo

    settings.TRUST_PROXY_COUNT = 1
    settings.TRUST_PROXY_NETWORKS = ["127.0.0.1/32"]
    client = browser(CHROME_WINDOWS, HTTP_X_FORWARDED_FOR="80.128.0.1")  # Germany
    sign_in(client, account)
    step_up(client, account, trust=True)
    client.post("/accounts/logout/")
    clock.shift(timedelta(seconds=31))
    geo._place.cache_clear()
    sign_in(client, account)
    assert geo._place.cache_info().misses >= 1  # the sign-in was weighed
    assert client.get("/whoami/").wsgi_request.trust.method == "trusted_device"

    geo._place.cache_clear()
    for _ in range(3):
        assert client.get("/whoami/").status_code == 200
    info = geo._place.cache_info()
    assert info.hits + info.misses == 0
