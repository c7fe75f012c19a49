"""The rules of password throttling, pure: budgets and waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trust.rules import backoff
from trust.rules.backoff import FORGET_AFTER, Count, account_name, address_bucket, delay

CAP = timedelta(minutes=15)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_no_wait_within_the_free_allowance_then_doubling_up_to_the_cap():
    waits = [delay(n, free=5, max_delay=CAP).total_seconds() for n in range(18)]
    assert waits[:5] == [0] * 5
    assert waits[5:15] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert waits[15:] == [900, 900, 900]
    assert delay(10**9, free=5, max_delay=CAP) == CAP  # no huge numbers


def test_a_zero_allowance_waits_from_the_first_failure():
    assert delay(0, free=0, max_delay=CAP) == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("typed", "budget"),
    [
        ("alice", "alice"),
        ("ALICE", "alice"),
        ("\uff21lice", "alice"),  # full-width A, as NFKC reads it
        ("Stra\u00dfe", "strasse"),  # case-folded, not just lowered
        (12345, "12345"),
        (["alice"], "['alice']"),
    ],
)
def test_usernames_are_normalized_and_case_folded(typed, budget):
    assert account_name(typed) == budget


def test_huge_usernames_are_cut_before_normalizing():
    assert len(account_name("\ufb03" * 10_000)) == 256  # "ﬃ" grows threefold


@pytest.mark.parametrize(
    ("ip", "bucket"),
    [
        ("203.0.113.9", "203.0.113.9/32"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9/32"),
        ("", "unknown"),
        ("not an ip", "unknown"),
    ],
)
def test_an_ipv6_64_is_one_client(ip, bucket):
    assert address_bucket(ip) == bucket


def test_a_count_waits_from_its_last_failure_and_is_forgotten_after_a_day():
    count = Count(failures=7, last_failure_at=T0)
    assert count.waits_until(T0 + timedelta(seconds=3), free=5, max_delay=CAP) == T0 + timedelta(
        seconds=4
    )
    assert count.waits_until(T0 + timedelta(seconds=4), free=5, max_delay=CAP) is None
    assert count.backing_off(T0, free=5)
    assert count.current(T0 + FORGET_AFTER) == 0
    assert not count.backing_off(T0 + FORGET_AFTER, free=5)


def test_an_attempt_in_flight_holds_the_others():
    count = Count(failures=5, last_failure_at=T0, probe_until=T0 + timedelta(seconds=10))
    assert count.waits_until(T0 + timedelta(seconds=5), free=5, max_delay=CAP) == (
        T0 + timedelta(seconds=10)
    )


@pytest.mark.parametrize(
    "typed, forms",
    [
        ("alice", ["alice"]),
        ("Alice", ["Alice", "alice"]),
        ("\uff21lice", ["\uff21lice", "Alice", "\uff41lice", "alice"]),
        ("Alice@Example.com", ["Alice@Example.com", "alice@example.com"]),
        (12345, ["12345"]),
        ("", []),
        ("   ", []),
        ("ali\x00ce", []),
        ("a" * 100_000, ["a" * backoff.MAX_USERNAME_LENGTH]),
    ],
    ids=str,
)
def test_the_spellings_a_name_is_looked_up_by(typed, forms):
    assert backoff.spellings(typed) == forms
