"""The risk model's one read (``trust.flows.risk.DbCounts``): after real
sign-ins it finds what the history, the counts and the throttle hold (the
user's last successful sign-in, the bursts on any of their names), in one
statement, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from tests.conftest import CHROME_WINDOWS, browser, sign_in, step_up, trusted_browser
from tests.test_password_throttle import ATTACKER, fail_checked
from tests.test_risk_sign_in import DE, JP, _behind_a_proxy, at, sign_out  # noqa: F401
from trust.browser import raw_user_agent, request_fingerprint
from trust.flows import password_throttle, risk
from trust.models import SUCCESSFUL_OUTCOMES, RiskCount, SignInAttempt, SignInOutcome
from trust.rules.risk import geo
from trust.rules.risk.decision import ALLOW
from trust.rules.risk.features import features_of


def checked_password(ip: str):
    """A sign-in request from ``ip`` whose password was checked, as
    ``password_throttle.refuses`` leaves it (only those are weighed)."""
    request = RequestFactory().get("/", HTTP_USER_AGENT=CHROME_WINDOWS, HTTP_X_FORWARDED_FOR=ip)
    request.META["REMOTE_ADDR"] = "127.0.0.1"
    password_throttle.refuses(request, None)
    return request


def read(user, ip: str) -> risk.DbCounts:
    request = checked_password(ip)
    fp = request_fingerprint(request)
    features = features_of(fp, raw_user_agent(request), timezone.now(), location=geo.locate(fp.ip))
    return risk.DbCounts(user, features)


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
    assert read(user, DE).last_success == risk.LastSuccess("DE", first.at)

    clock.shift(timedelta(days=2))
    sign_in(at(client, JP), account)  # a new country: a code is owed, not yet given
    client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    assert read(user, JP).last_success == risk.LastSuccess("DE", first.at)
    assert step_up(client, account, trust=False).status_code == 302
    sign_out(client, clock)
    passed = latest_success(user)
    assert passed.outcome == SignInOutcome.PASSED and passed.country == "JP"
    found = read(user, JP).last_success
    assert found == risk.LastSuccess("JP", passed.at)
    assert timezone.is_aware(found.at)

    clock.shift(timedelta(days=2))
    sign_in(at(client, DE), account)  # trusted, and Germany is known: let in
    allowed = latest_success(user)
    assert allowed.outcome == SignInOutcome.ALLOWED
    assert read(user, DE).last_success == risk.LastSuccess("DE", allowed.at)


def test_the_counts_are_the_rows_count_success_keeps(account, make_user, clock):
    client = at(browser(), DE)
    sign_in(client, account)
    step_up(client, account, trust=True)
    for _ in range(2):
        sign_out(client, clock)
        sign_in(client, account)
    make_user("bob")  # no sign-in: no rows
    counts = read(account.user, DE)
    stored = {(r.user_id, r.feature, r.value): r.count for r in RiskCount.objects.all()}
    assert counts.user_total() == stored[(account.user.pk, risk.TOTAL, "")] == 3
    assert counts.population_total() == stored[(None, risk.TOTAL, "")] == 3
    assert counts.population_users() == 1
    assert counts.user("country", "DE") == counts.population("country", "DE") == 3
    assert counts.user("ip", DE) == 3  # asked by address, stored as its digest
    assert counts.user_distinct("network") == stored[(account.user.pk, risk.DISTINCT, "network")]
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
    client = at(browser(), DE)
    sign_in(client, account)
    step_up(client, account, trust=True)
    sign_out(client, clock)
    request = checked_password(DE)
    with django_assert_num_queries(1):
        found = risk.weigh(request, account.user, trusted_device=True)
    assert found is not None and found.decision.action == ALLOW
    assert found.features.country == "DE"


def postgres_function_plans(sql: str, params: list) -> tuple[list[tuple], list[str]]:
    """Rows of ``sql`` and the plans PostgreSQL ran for it, nested ones (the
    function's query) included, each plan made once for all users, as the
    function keeps it (``auto_explain``, sent back as notices)."""
    raw = connection.connection
    plans: list[str] = []

    def keep(notice) -> None:
        plans.append(notice.message_primary)

    raw.add_notice_handler(keep)
    try:
        with connection.cursor() as cursor:
            try:
                cursor.execute("LOAD 'auto_explain'")
            except Exception as error:  # the server's choice; said in the skip
                pytest.skip(f"auto_explain cannot be loaded here: {error}")
            for setting in (
                "client_min_messages = notice",
                "auto_explain.log_min_duration = 0",
                "auto_explain.log_nested_statements = on",
                "auto_explain.log_level = notice",
                "plan_cache_mode = force_generic_plan",
            ):
                cursor.execute(f"SET LOCAL {setting}")
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    finally:
        raw.remove_notice_handler(keep)
    return rows, plans


def test_one_plan_for_every_user_still_finds_the_last_success_by_its_index(
    account, clock, postgres_only
):
    """On PostgreSQL the read is the function ``trust_risk_read``, which
    keeps one plan of its query for all users. That plan must still reach
    the last success through the partial index of successes: with the
    outcomes bound, a kept plan read every attempt of a user whose last
    success was long ago (76 ms at 10,000 of them)."""
    client = at(browser(), DE)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    sign_out(client, clock)
    fail_checked(at(browser(), DE), "alice", 3, clock)  # attempts after it, none a success

    statements = []

    def keep(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(keep):
        found = read(account.user, DE)
    [(sql, params)] = [s for s in statements if "trust_risk_read" in s[0]]

    rows, plans = postgres_function_plans(sql, params)
    [query_plan] = [plan for plan in plans if "trust_signinattempt" in plan]
    assert "trust_signin_user_success" in query_plan, query_plan
    last = [row for row in rows if row[1] == "*last-success"]
    assert [(country, at_) for _, _, country, _, at_ in last] == [
        (found.last_success.country, found.last_success.at)
    ]
    assert found.last_success == risk.LastSuccess("DE", latest_success(account.user).at)


def run(statement, user_id, pairs, names) -> list[tuple]:
    """The rows of one of the read's two statements, in order, ``mine`` as a bool."""
    sql, params = statement(connection.alias, user_id, pairs, names)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(
            (bool(mine), feature, value, count, at_)
            for mine, feature, value, count, at_ in cursor.fetchall()
        )


def test_the_function_reads_what_the_plain_statement_reads(
    account, make_user, clock, postgres_only
):
    """PostgreSQL runs ``trust_risk_read``, other databases ``_READ``: after
    real sign-ins, a burst and hostile values, both give the same rows."""
    if not risk._has_function(connection.alias):
        pytest.skip("this test database was built without migrations: no trust_risk_read")

    trusted_browser(account, clock)
    fail_checked(browser(REMOTE_ADDR=ATTACKER), "ALICE", 10, clock)
    make_user("bob")
    hostile = [
        ("country", "DE"),
        ("browser", "Chrome"),
        ("os", "x' OR '1'='1"),
        ("user_agent", "\u00e9\U0001f600"),
        ("asn", ""),
        ("ip", "%s"),
    ]
    names = password_throttle.keys_of(account.user)
    for user_id in (account.user.pk, -1, 2**31 - 1):
        for pairs, user_names in (
            ([*hostile, *risk._COUNTER_KEYS], names),
            ([*risk._COUNTER_KEYS], {"not a digest"}),
            (hostile, {"%(x)s", "'); DROP TABLE trust_riskcount; --"}),
        ):
            found = {
                statement: run(statement, user_id, pairs, user_names)
                for statement in (risk._plain_read, risk._function_call)
            }
            assert found[risk._plain_read] == found[risk._function_call]
    # Not vacuous: alice's rows are there, her last success and the burst too.
    alice = {
        (mine, feature)
        for mine, feature, *_ in run(
            risk._function_call, account.user.pk, [*hostile, *risk._COUNTER_KEYS], names
        )
    }
    assert {
        (True, "*last-success"),
        (True, "*burst"),
        (True, "browser"),
        (False, "*total"),
    } <= alice


@pytest.fixture
def without_the_function(db, postgres_only):
    """A database built without migrations (``--nomigrations``, a site's
    own test settings): no ``trust_risk_read``. Dropped inside the test's
    transaction, so it is back when the test ends."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP FUNCTION IF EXISTS {risk._FUNCTION}")
    risk._has_function.cache_clear()
    yield
    risk._has_function.cache_clear()


def test_without_the_function_sign_ins_are_weighed_by_the_plain_statement(
    account, clock, without_the_function
):
    client = at(browser(), DE)
    sign_in(client, account)
    assert step_up(client, account, trust=True).status_code == 302
    sign_out(client, clock)
    sign_in(client, account)  # trusted, at home: let in, the model consulted
    assert client.get("/").status_code == 200
    latest = latest_success(account.user)
    assert latest.outcome == SignInOutcome.ALLOWED
    assert read(account.user, DE).last_success == risk.LastSuccess("DE", latest.at)
    assert read(account.user, DE).user_total() == 2
