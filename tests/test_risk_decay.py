"""Risk counts decay, and a sign-in reported as "this wasn't me" is un-counted.

Counts are kept per month (``trust.rules.risk.decay``): a sign-in reads the
current month and the six before, ``trust_prune`` deletes older months, and
the distinct-value counters stay equal to the number of values seen within
the window (``assert_distinct_counters_match``). A "this wasn't me" link
takes back what the sign-ins it reaches added, the user's counts and the
site's, once, however often it is followed.
"""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connections

from tests.agents import FIREFOX_WINDOWS
from tests.conftest import browser, sign_in, step_up
from tests.test_alerts import give_codes, not_me_path, only_alert
from tests.test_risk_read import read
from tests.test_risk_sign_in import DE, JP, _behind_a_proxy, at, sign_out  # noqa: F401
from trust.flows import risk, risk_counts
from trust.models import RiskCount, SignInAttempt, SignInOutcome, TrustedDevice
from trust.rules.risk import decay

MONTH = timedelta(days=31)


# --- the months, with plain values --------------------------------------------


@pytest.mark.parametrize(
    ("at", "month"),
    [
        (datetime(2026, 3, 31, 23, 59, tzinfo=UTC), date(2026, 3, 1)),
        (datetime(2026, 4, 1, 0, 0, tzinfo=UTC), date(2026, 4, 1)),
        # Counted in UTC's month, whatever the zone the time is given in.
        (datetime.fromisoformat("2026-04-01T01:30:00+02:00"), date(2026, 3, 1)),
    ],
)
def test_a_sign_in_is_counted_in_its_utc_month(at, month):
    assert decay.bucket(at) == month


def test_the_window_is_the_current_month_and_the_six_before():
    assert decay.WINDOW_MONTHS == 6
    assert decay.window_start(datetime(2026, 12, 7, tzinfo=UTC)) == date(2026, 6, 1)
    assert decay.window_start(datetime(2026, 3, 15, tzinfo=UTC)) == date(2025, 9, 1)
    assert decay.months_before(date(2026, 1, 1), 13) == date(2024, 12, 1)


JAN, FEB, MAR = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)


@pytest.mark.parametrize(
    ("before", "after", "moves"),
    [
        # A value seen for the first time: one more distinct value, now.
        ({}, {MAR: 1}, {MAR: +1}),
        # Seen again in a new month: its unit moves to the new month.
        ({JAN: 4}, {JAN: 4, MAR: 1}, {JAN: -1, MAR: +1}),
        # Seen again in its latest month: nothing moves.
        ({JAN: 4, MAR: 1}, {JAN: 4, MAR: 2}, {}),
        # Its latest month taken back: the unit goes back to the one before.
        ({JAN: 4, MAR: 1}, {JAN: 4, MAR: 0}, {MAR: -1, JAN: +1}),
        # An older month taken back: the latest is unchanged.
        ({JAN: 1, MAR: 1}, {JAN: 0, MAR: 1}, {}),
        # Its only count taken back: one distinct value fewer.
        ({FEB: 1}, {FEB: 0}, {FEB: -1}),
    ],
)
def test_a_values_distinct_unit_lives_in_its_latest_month(before, after, moves):
    assert decay.distinct_moves(before, after) == moves


# --- through the sign-in --------------------------------------------------------


def window_counts(owner, now=None) -> dict[tuple[str, str], int]:
    """The counts a sign-in now reads for ``owner`` (``None``: the site), as
    sums of the window's months, nothing where nothing is counted."""
    since = decay.window_start(now or risk.timezone.now())
    found: dict[tuple[str, str], int] = {}
    for row in RiskCount.objects.filter(user_id=owner, month__gte=since):
        found[(row.feature, row.value)] = found.get((row.feature, row.value), 0) + row.count
    return {key: count for key, count in found.items() if count}


def assert_distinct_counters_match(owner) -> None:
    """Each distinct counter, summed over the window, is the number of
    values seen in the window; the site's users, the number of users with
    a sign-in in it."""
    counts = window_counts(owner)
    for feature in risk_counts.DISTINCT_FEATURES:
        seen = sum(1 for (f, _), n in counts.items() if f == feature and n)
        assert counts.get((risk_counts.DISTINCT, feature), 0) == seen, (owner, feature, counts)
    if owner is None:
        since = decay.window_start(risk.timezone.now())
        users = set(
            RiskCount.objects.filter(
                user__isnull=False, feature=risk_counts.TOTAL, month__gte=since, count__gt=0
            ).values_list("user_id", flat=True)
        )
        assert counts.get((risk_counts.USERS, ""), 0) == len(users)


def assert_consistent(*users) -> None:
    for owner in (None, *(user.pk for user in users)):
        assert_distinct_counters_match(owner)


def counted_sign_in(client, account, clock) -> None:
    """A successful sign-in: let in, or a code given when one is owed."""
    response = sign_in(client, account)
    if response["Location"].startswith("/2fa/verify/"):
        assert step_up(client, account, trust=False).status_code == 302
    sign_out(client, clock)


def test_sign_ins_older_than_the_window_stop_counting(account, clock):
    user = account.user
    client = at(browser(), DE)
    counted_sign_in(client, account, clock)
    counted_sign_in(client, account, clock)
    assert read(user, DE).user_total() == 2
    assert_consistent(user)

    clock.shift(4 * MONTH)  # still within the window
    counted_sign_in(client, account, clock)
    counts = read(user, DE)
    assert counts.user_total() == 3 == counts.user("country", "DE")
    # Germany, seen in two months, is one distinct country, not two.
    assert counts.user_distinct("country") == 1 == counts.population_distinct("country")
    assert counts.population_users() == 1
    assert_consistent(user)

    clock.shift(3 * MONTH)  # the first month is now past the window
    counts = read(user, DE)
    assert counts.user_total() == 1 == counts.population_total()
    assert counts.user_distinct("country") == 1
    assert_consistent(user)
    first_month = decay.bucket(SignInAttempt.objects.filter(user=user).earliest("at").at)
    assert RiskCount.objects.filter(month=first_month).exists()
    call_command("trust_prune", stdout=StringIO())
    assert not RiskCount.objects.filter(month=first_month).exists()  # pruned
    assert read(user, DE).user_total() == 1  # the window's months untouched

    clock.shift(7 * MONTH)  # all of it past the window
    counts = read(user, DE)
    assert counts.user_total() == 0 == counts.population_total()
    assert counts.user_distinct("country") == 0 == counts.population_users()
    assert_consistent(user)


def test_prune_drops_only_the_months_past_the_window(account, clock):
    counted_sign_in(at(browser(), DE), account, clock)
    kept = RiskCount.objects.count()
    call_command("trust_prune", stdout=StringIO())
    assert RiskCount.objects.count() == kept
    clock.shift(7 * MONTH)
    out = StringIO()
    call_command("trust_prune", stdout=out)
    assert RiskCount.objects.count() == 0
    assert f"Pruned {kept} risk counts" in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_this_wasnt_me_about_a_new_device_takes_its_sign_ins_back(account, make_user, clock):
    """The thief's code trusted a device, and it signed in again with it;
    the owner follows the alert's link: both sign-ins stop counting, for
    the user and for the site, and following it again takes nothing more."""
    user = account.user
    home = at(browser(), DE)
    counted_sign_in(home, account, clock)
    counted_sign_in(home, account, clock)
    counted_sign_in(at(browser(), DE), make_user("bob"), clock)  # someone else's history
    mine, site = window_counts(user.pk), window_counts(None)
    mail.outbox.clear()

    thief = at(browser(FIREFOX_WINDOWS), JP)
    sign_in(thief, account)
    assert step_up(thief, account, trust=True).status_code == 302  # a new device, trusted
    sign_out(thief, clock)
    counted_sign_in(thief, account, clock)  # and in again with it
    device = TrustedDevice.objects.get(user=user, browser="Firefox")
    assert list(SignInAttempt.objects.filter(device=device).values_list("outcome", flat=True)) == [
        SignInOutcome.ALLOWED,
        SignInOutcome.PASSED,
    ]
    assert window_counts(user.pk)[("country", "JP")] == 2
    assert window_counts(None)[(risk_counts.TOTAL, "")] == site[(risk_counts.TOTAL, "")] + 2

    path = not_me_path(only_alert(account, "new device is trusted"))
    assert browser().post(path).status_code == 200
    assert window_counts(user.pk) == mine
    assert window_counts(None) == site
    assert_consistent(user)
    assert not SignInAttempt.objects.filter(device=device, counted_in__isnull=False).exists()

    assert browser().post(path).status_code == 400  # once
    assert window_counts(user.pk) == mine and window_counts(None) == site


@pytest.mark.django_db(transaction=True)
def test_this_wasnt_me_about_a_backup_code_session_takes_its_sign_in_back(account, clock):
    user = account.user
    counted_sign_in(at(browser(), DE), account, clock)
    mine, site = window_counts(user.pk), window_counts(None)
    made = give_codes(account)

    thief = at(browser(FIREFOX_WINDOWS), JP)
    sign_in(thief, account)
    assert thief.post("/2fa/verify/", {"otp_token": made[0]}).status_code == 302
    assert window_counts(user.pk) != mine  # Japan is counted

    path = not_me_path(only_alert(account, "backup code was used"))
    assert browser().post(path).status_code == 200
    assert thief.get("/")["Location"].startswith("/accounts/login/")  # its session ended
    assert window_counts(user.pk) == mine and window_counts(None) == site
    assert_consistent(user)


def test_a_value_taken_back_from_its_latest_month_counts_in_the_one_before(account, clock):
    """Germany was seen in June and July; July's only sign-in is taken back:
    Germany is still one distinct country (June's), and the counters match."""
    user = account.user
    client = at(browser(), DE)
    counted_sign_in(client, account, clock)
    clock.shift(MONTH)
    counted_sign_in(client, account, clock)
    july = SignInAttempt.objects.filter(user=user).latest("at")
    assert risk_counts.uncount(SignInAttempt.objects.filter(pk=july.pk)) == 1
    counts = read(user, DE)
    assert counts.user_total() == 1 and counts.user_distinct("country") == 1
    assert_consistent(user)

    assert risk_counts.uncount(SignInAttempt.objects.filter(pk=july.pk)) == 0  # once
    assert risk_counts.uncount(SignInAttempt.objects.filter(user=user)) == 1  # June's
    counts = read(user, DE)
    assert counts.user_total() == 0 == counts.user_distinct("country")
    assert counts.population_users() == 0
    assert_consistent(user)


def test_a_sign_in_past_the_window_is_taken_back_without_touching_the_counts(account, clock):
    counted_sign_in(at(browser(), DE), account, clock)
    clock.shift(8 * MONTH)
    counted_sign_in(at(browser(), DE), account, clock)
    rows = {row.pk: row.count for row in RiskCount.objects.all()}
    old = SignInAttempt.objects.filter(user=account.user).earliest("at")
    assert risk_counts.uncount(SignInAttempt.objects.filter(pk=old.pk)) == 1
    assert {row.pk: row.count for row in RiskCount.objects.all()} == rows
    old.refresh_from_db()
    assert old.counted_in is None


def test_a_sign_in_not_let_in_added_nothing_and_takes_nothing_back(account, clock):
    owed = at(browser(), JP)
    sign_in(owed, account)  # owes a code, never given
    attempt = SignInAttempt.objects.get(user=account.user)
    assert attempt.outcome == SignInOutcome.STEPPED_UP and attempt.counted_in is None
    assert RiskCount.objects.count() == 0
    assert risk_counts.uncount(SignInAttempt.objects.all()) == 0


@pytest.mark.django_db(transaction=True)
def test_parallel_reports_take_a_sign_in_back_exactly_once(
    account, make_user, clock, postgres_only
):
    user = account.user
    client = at(browser(), DE)
    for _ in range(3):
        counted_sign_in(client, account, clock)
    counted_sign_in(at(browser(), DE), make_user("bob"), clock)
    mine, site = window_counts(user.pk), window_counts(None)
    counted_sign_in(at(browser(FIREFOX_WINDOWS), JP), account, clock)
    reported = SignInAttempt.objects.filter(user=user).latest("at")
    barrier = threading.Barrier(4)
    taken: list[int] = []
    errors: list[BaseException] = []

    def report():
        try:
            barrier.wait(timeout=10)
            taken.append(risk_counts.uncount(SignInAttempt.objects.filter(pk=reported.pk)))
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=report) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(taken) == [0, 0, 0, 1]
    assert window_counts(user.pk) == mine and window_counts(None) == site
    assert_consistent(user)


@pytest.mark.django_db(transaction=True)
def test_a_link_followed_twice_at_once_takes_back_once(account, clock, postgres_only):
    counted_sign_in(at(browser(), DE), account, clock)
    mine, site = window_counts(account.user.pk), window_counts(None)
    mail.outbox.clear()
    thief = at(browser(FIREFOX_WINDOWS), JP)
    sign_in(thief, account)
    assert step_up(thief, account, trust=True).status_code == 302
    path = not_me_path(only_alert(account, "new device is trusted"))
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def follow():
        try:
            reader = browser()
            barrier.wait(timeout=10)
            statuses.append(reader.post(path).status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=follow) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert 200 in statuses and all(s in (200, 400) for s in statuses)
    assert window_counts(account.user.pk) == mine and window_counts(None) == site
