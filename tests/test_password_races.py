"""Parallel wrong passwords against a live server: none escapes counting,
and a flood sent the moment a wait ends gets one guess checked, not all.

Real HTTP from real threads (``tests.test_races``), on whatever database
the suite runs on: PostgreSQL (row locks) and SQLite (a file, WAL,
IMMEDIATE transactions).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.test_races import RACERS, Browser, race, server  # noqa: F401  (the fixture)
from trust.flows.password_throttle import FREE_FAILURES
from trust.models import PasswordThrottle

pytestmark = pytest.mark.timeout(120)


def wrong_password(browser: Browser, token: str):
    return lambda: browser.request(
        "/accounts/login/",
        {"csrfmiddlewaretoken": token, "username": "alice", "password": "wrong, in parallel"},
    )


def ready(count: int, server) -> list[tuple[Browser, str]]:  # noqa: F811
    """``count`` browsers, each with the sign-in form (and its CSRF token) open."""
    browsers = [Browser(server.url) for _ in range(count)]
    return [(each, each.csrf("/accounts/login/")) for each in browsers]


def test_parallel_failures_are_all_counted(server, account):  # noqa: F811
    tabs = ready(FREE_FAILURES, server)  # all within the free allowance

    results = race([wrong_password(each, token) for each, token in tabs])

    assert [status for status, _ in results] == [200] * FREE_FAILURES, results
    account_row = PasswordThrottle.objects.get(scope=PasswordThrottle.ACCOUNT)
    address_row = PasswordThrottle.objects.get(scope=PasswordThrottle.ADDRESS)
    assert account_row.failures == address_row.failures == FREE_FAILURES
    # The burst window kept every one of them too.
    assert len(account_row.recent) == FREE_FAILURES


def test_a_flood_when_the_wait_ends_gets_one_guess_checked(server, account, clock):  # noqa: F811
    tabs = ready(RACERS + 5, server)
    for each, token in tabs[:5]:  # the free allowance, spent one by one
        assert wrong_password(each, token)()[0] == 200
    clock.shift(timedelta(seconds=2))  # the 1 s wait is over

    results = race([wrong_password(each, token) for each, token in tabs[5:]])

    assert [status for status, _ in results] == [200] * RACERS, results
    # One was checked (and counted); the others waited their turn unchecked.
    assert PasswordThrottle.objects.get(scope=PasswordThrottle.ACCOUNT).failures == 6
