"""One password budget per account, whichever of its names was typed.

Over HTTP, through Django's ``LoginView``, as an attacker would: wrong
passwords spread over the username and the e-mail address in several cases
and widths spend the account's one budget (5 free failures), and a
throttled attempt gets the page a wrong password gets. The site signs in by
username or e-mail, with the usual backend for it (``ModelBackend`` that also
matches the e-mail address, case-insensitively).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import backends, get_user_model
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from tests.conftest import PASSWORD, START, browser
from tests.test_password_throttle import (
    ATTACKER,
    ELSEWHERE,
    FORM_ERROR,
    CountingHasher,
    attempt,
    page,
    signed_in,
)
from trust.flows import password_throttle
from trust.models import PasswordThrottle

pytestmark = [pytest.mark.django_db, pytest.mark.throttling]


class UsernameOrEmailBackend(backends.ModelBackend):
    """The usual "sign in with your username or e-mail" backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        model = get_user_model()
        named = Q(username=username) | Q(email__iexact=username)
        user = model._default_manager.filter(named).order_by("pk").first()
        if user is None:
            model().set_password(password)  # as slow as a checked password
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


@pytest.fixture
def compared(settings):
    """How many passwords were compared against a stored hash so far."""
    settings.PASSWORD_HASHERS = ["tests.test_password_throttle.CountingHasher"]
    CountingHasher.compared = 0
    return lambda: CountingHasher.compared


@pytest.fixture
def by_username_or_email(settings):
    settings.AUTHENTICATION_BACKENDS = [
        "trust.backends.PasswordThrottleBackend",
        "tests.test_password_budget.UsernameOrEmailBackend",
    ]


# The account's names as an attacker may type them: its username and e-mail,
# in other cases, and in full width (NFKC makes it "Alice").
VARIANTS = [
    "alice",
    "ALICE@EXAMPLE.COM",
    "\uff21\uff4c\uff49\uff43\uff45",
    "alice@example.com",
    "ALICE",
]


def test_the_username_and_the_email_in_any_case_or_width_spend_one_budget(
    account, clock, compared, by_username_or_email
):
    clock.move_to(START, tick=False)  # every attempt within the first wait
    attacker = browser(REMOTE_ADDR=ATTACKER)
    wrong = [attempt(attacker, name) for name in VARIANTS]
    assert all(FORM_ERROR in response.content.decode() for response in wrong)
    checked = compared()
    assert checked == 3  # the backend checks "alice" and both e-mail spellings

    # Five failures through any of its names: the right password is refused,
    # through each of them, from anywhere, unchecked and answered as wrong.
    for name in ["alice", "alice@example.com", "Alice@Example.com"]:
        refused = attempt(browser(REMOTE_ADDR=ELSEWHERE), name, PASSWORD)
        assert not signed_in(refused)
        assert refused.status_code == wrong[0].status_code == 200
        assert page(refused, name) == page(wrong[0], "alice")
    assert compared() == checked
    [row] = PasswordThrottle.objects.filter(scope=PasswordThrottle.ACCOUNT)
    assert row.user_id == account.user.pk and row.failures == 5

    # Once the wait is over, the right password works through any name.
    clock.shift(timedelta(seconds=2))
    assert signed_in(attempt(browser(REMOTE_ADDR=ELSEWHERE), "ALICE@example.com", PASSWORD))


def test_failures_through_the_email_hold_the_username_and_back(
    account, clock, by_username_or_email
):
    clock.move_to(START, tick=False)
    attacker = browser(REMOTE_ADDR=ATTACKER)
    for _ in range(5):
        attempt(attacker, "Alice@Example.COM")
    assert not signed_in(attempt(browser(REMOTE_ADDR=ELSEWHERE), "alice", PASSWORD))
    clock.shift(timedelta(seconds=2))
    assert signed_in(attempt(browser(REMOTE_ADDR=ELSEWHERE), "alice", PASSWORD))

    for _ in range(5):
        attempt(attacker, "ALICE")
    assert not signed_in(attempt(browser(REMOTE_ADDR=ELSEWHERE), "alice@example.com", PASSWORD))


def _statements(queries, table: str) -> list[str]:
    """The statements that touched ``table``, with their values blanked."""
    shapes = []
    for query in queries:
        sql = query["sql"]
        if table in sql:
            sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
            shapes.append(re.sub(r"\b(\d+(\.\d+)?|NULL|None)\b", "?", sql))
    return shapes


@pytest.mark.parametrize("known, unknown", [("alice", "nobody"), ("alice@example.com", "x@y.org")])
def test_a_known_and_an_unknown_name_cost_the_same_statements(
    account, clock, by_username_or_email, known, unknown
):
    """What the throttle reads and writes does not tell whether an account
    exists: the same statements on the user table and the throttle's, for a
    checked wrong password and then for a refused one."""
    clock.move_to(START, tick=False)
    seen = {}
    for name in (known, unknown):
        client = browser(REMOTE_ADDR=ATTACKER if name == known else ELSEWHERE)
        runs = []
        for _ in range(6):  # five counted, then one refused unchecked
            with CaptureQueriesContext(connection) as queries:
                attempt(client, name)
            runs.append(
                (
                    _statements(queries.captured_queries, "trust_passwordthrottle"),
                    _statements(queries.captured_queries, get_user_model()._meta.db_table),
                )
            )
        seen[name] = runs
    assert seen[known] == seen[unknown]
    assert PasswordThrottle.objects.get(key=password_throttle.name_key(unknown)).failures == 5


def test_a_site_that_signs_in_by_username_only_never_reads_the_email_column(account, settings):
    """Django's user table has no index on e-mail: with Django's (and
    Trustgate's) backends alone, an address names no account and costs no
    scan; its failures are the name's own, not alice's."""
    settings.AUTHENTICATION_BACKENDS = ["trust.backends.ModelBackend"]
    table = get_user_model()._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        attempt(browser(REMOTE_ADDR=ATTACKER), "alice@example.com")
    reads = _statements(queries.captured_queries, table)
    assert reads and not [sql for sql in reads if re.search(r'WHERE .*"email"', sql)]
    row = PasswordThrottle.objects.get(scope=PasswordThrottle.ACCOUNT)
    assert row.key == password_throttle.name_key("alice@example.com") and row.user_id is None


HOSTILE_NAMES = [
    ["alice"],
    {"alice": 1},
    {"$ne": None},
    12345,
    b"alice",
    "a" * 10_000,
    "alice\x00",
    "\x00",
    "alice\u200b",
    "ali\u0441e",  # a Cyrillic es
]


@pytest.mark.throttling
@pytest.mark.parametrize("username", HOSTILE_NAMES, ids=repr)
def test_a_hostile_name_passed_to_authenticate_is_a_failure_never_a_500(account, username):
    """A site's own JSON login hands ``authenticate()`` whatever was posted.
    PostgreSQL refuses NUL in a text parameter: Django's own look-up would
    raise there. Each is answered as a wrong password, and counted."""
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    request = RequestFactory().post("/accounts/login/", REMOTE_ADDR="198.51.100.7")
    assert authenticate(request, username=username, password=PASSWORD) is None
    address = PasswordThrottle.objects.get(scope=PasswordThrottle.ADDRESS)
    assert address.failures == 1
