"""The risk model's read (``trust.flows.risk_counts.DbCounts``): after real
sign-ins it finds what the history, the counts and the throttle hold (the
user's last successful sign-in, the bursts on any of their names), in
one ORM query, on SQLite and PostgreSQL alike, each part planned on its
index on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from tests.conftest import CHROME_WINDOWS, browser, sign_in, step_up, trusted_browser
from tests.test_password_throttle import ATTACKER, fail_checked
from tests.test_risk_sign_in import DE, JP, _behind_a_proxy, at, sign_out  # noqa: F401
from trust.browser import raw_user_agent, request_fingerprint
from trust.flows import password_throttle, risk, risk_counts
from trust.models import (
    SUCCESSFUL_OUTCOMES,
    PasswordThrottle,
    RiskCount,
    SignInAttempt,
    SignInOutcome,
)
from trust.rules.risk import decay, geo
from trust.rules.risk.decision import ALLOW
from trust.rules.risk.features import features_of


def checked_password(ip: str):
    """A sign-in request from ``ip`` whose password was checked, as
    ``password_throttle.refuses`` leaves it (only those are weighed)."""
    request = RequestFactory().get("/", HTTP_USER_AGENT=CHROME_WINDOWS, HTTP_X_FORWARDED_FOR=ip)
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    password_throttle.refuses(request, None)
    return request


def read(user, ip: str) -> risk_counts.DbCounts:
    request = checked_password(ip)
    fp = request_fingerprint(request)
    features = features_of(fp, raw_user_agent(request), timezone.now(), location=geo.locate(fp.ip))
    return risk_counts.DbCounts(user, features)


def latest_success(user) -> SignInAttempt:
    return (
        SignInAttempt.objects.filter(user=user, outcome__in=SUCCESSFUL_OUTCOMES)
        .order_by("-at")
        .first()
    )


def test_the_last_success_is_the_latest_allowed_or_passed_attempt(account, clock):
    user = account.user
    assert read(user, DE).last_success is None  # no history yet

    client = at(browser(), DE)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302  # passed, in Germany
    sign_out(client, clock)
    first = latest_success(user)
    assert read(user, DE).last_success == risk_counts.LastSuccess("DE", first.at)

    clock.shift(timedelta(days=2))
    sign_in(at(client, JP), account)  # a new country: a code is owed, not yet given
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert read(user, JP).last_success == risk_counts.LastSuccess("DE", first.at)
    assert step_up(client, account, trust=False).status_code == 302
    sign_out(client, clock)
    passed = latest_success(user)
    assert passed.outcome == SignInOutcome.PASSED and passed.country == "JP"
    found = read(user, JP).last_success
    assert found == risk_counts.LastSuccess("JP", passed.at)
    assert timezone.is_aware(found.at)

    clock.shift(timedelta(days=2))
    sign_in(at(client, DE), account)  # trusted, and Germany is known: let in
    allowed = latest_success(user)
    assert allowed.outcome == SignInOutcome.ALLOWED
    assert read(user, DE).last_success == risk_counts.LastSuccess("DE", allowed.at)


def test_the_counts_are_the_rows_count_success_keeps(account, make_user, clock):
    client = at(browser(), DE)
    sign_in(client, account)
    step_up(client, account, trust=True)
    for _ in range(2):
        sign_out(client, clock)
        sign_in(client, account)
    make_user("bob")  # no sign-in: no rows
    counts = read(account.user, DE)
    stored: dict = {}
    for r in RiskCount.objects.all():  # one month here: the sums are the rows
        stored[(r.user_id, r.feature, r.value)] = stored.get((r.user_id, r.feature, r.value), 0)
        stored[(r.user_id, r.feature, r.value)] += r.count
    assert counts.user_total() == stored[(account.user.pk, risk_counts.TOTAL, "")] == 3
    assert counts.population_total() == stored[(None, risk_counts.TOTAL, "")] == 3
    assert counts.population_users() == 1
    assert counts.user("country", "DE") == counts.population("country", "DE") == 3
    assert counts.user("ip", DE) == 3  # asked by address, stored as its digest
    assert (
        counts.user_distinct("network")
        == stored[(account.user.pk, risk_counts.DISTINCT, "network")]
    )
    assert read(make_user("carol").user, DE).user_total() == 0


def test_a_burst_on_either_name_is_read_and_owes_a_code(account, clock, settings):
    settings.AUTHENTICATION_BACKENDS = [
        "trust.backends.PasswordThrottleBackend",
        "tests.test_password_budget.UsernameOrEmailBackend",
    ]
    laptop = trusted_browser(account, clock)
    assert read(account.user, DE).bursts == []
    # Guessed under the e-mail address, on a site that signs in by either
    # name: the budget is alice's one.
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "alice@example.com", 10, clock)
    bursts = read(account.user, DE).bursts
    assert bursts == list(
        password_throttle.bursts_of(account.user).values_list("burst_at", flat=True)
    )
    assert len(bursts) == 1 and timezone.is_aware(bursts[0])
    assert password_throttle.unpaid(account.user, bursts) and password_throttle.burst_unpaid(
        account.user
    )

    sign_in(laptop, account)
    owed = laptop.get("/", HTTP_ACCEPT="application/json")
    assert owed.status_code == 401 and "password_failures" in owed.json()["reasons"]
    assert step_up(laptop, account, trust=False).status_code == 302
    # Paid by the code: the burst is still read, but no longer owed.
    paid = read(account.user, DE).bursts
    assert paid == bursts and not password_throttle.unpaid(account.user, paid)


def test_weighing_a_sign_in_costs_one_query(account, clock, django_assert_num_queries):
    """The counts, the last success, the bursts: one ORM query (a union)."""
    client = at(browser(), DE)
    sign_in(client, account)
    step_up(client, account, trust=True)
    sign_out(client, clock)
    request = checked_password(DE)
    with django_assert_num_queries(1):
        found = risk.weigh(request, account.user, trusted_device=True)
    assert found is not None and found.decision.action == ALLOW
    assert found.features.country == "DE"


def plan(queryset) -> str:
    """PostgreSQL's plan of ``queryset`` (``QuerySet.explain``) when a scan
    of the table is the last resort: an index serves it, or the plan says so."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        # Statistics, as autovacuum keeps them: without any, PostgreSQL
        # guesses that ``month >= ...`` picks a few rows of the table.
        for model in (RiskCount, SignInAttempt, PasswordThrottle):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    return queryset.explain()


def test_each_read_is_planned_on_its_index(account, clock, postgres_only):
    """The read's plan (``QuerySet.explain``): the counts through the two
    partial unique indexes of ``RiskCount`` (a range of months a pair), the
    last success through the partial index of successes, however many
    failed attempts came after it (read newest first, they would be read
    one by one), the bursts through the throttle's unique index."""
    client = at(browser(), DE)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    sign_out(client, clock)
    fail_checked(at(browser(), DE), "alice", 3, clock)  # attempts after it, none a success
    request = checked_password(DE)
    fp = request_fingerprint(request)
    features = features_of(fp, raw_user_agent(request), timezone.now(), location=geo.locate(fp.ip))
    pairs = [*risk_counts.value_keys(features), *risk_counts._COUNTER_KEYS]

    found = plan(risk_counts._read(account.user, pairs, decay.window_start(features.at)))
    assert "Seq Scan" not in found, found
    for index in (
        "trust_riskcount_site_month",
        "trust_riskcount_user_month",
        "trust_signin_user_success",
        "trust_password_throttle_key",
    ):
        assert index in found, (index, found)
    assert read(account.user, DE).last_success == risk_counts.LastSuccess(
        "DE", latest_success(account.user).at
    )
