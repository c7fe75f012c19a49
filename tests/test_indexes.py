"""The per-user tables' indexes fit their reads. A user's history, risk
counts and trusted devices are found, listed and deleted through the
models' composite indexes, with no second index of the user column alone;
a device secret's hash has its unique index and no ``LIKE`` twin beside it
(a ``UniqueConstraint``, not ``unique=True``). Each index left out only
cost writes: every sign-in, trust and rotation."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import sign_in, trusted_browser
from trust.cookie import COOKIE_NAME
from trust.models import RiskCount, SignInAttempt, SupersededToken, TrustedDevice
from trust.rules import tokens

TABLES = (RiskCount, SignInAttempt, TrustedDevice)
SECRET_HASHES = (TrustedDevice, SupersededToken)


def constraints_of(model) -> dict[str, dict]:
    """The database's indexes and constraints of the model's table."""
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def plain_user_indexes(model) -> list[str]:
    column = model._meta.get_field("user").column
    return [
        name
        for name, info in constraints_of(model).items()
        if info["index"]
        and not info["unique"]
        and not info["foreign_key"]  # MySQL's own index of a foreign key
        and info["columns"] == [column]
    ]


def test_no_index_of_the_user_column_alone(db):
    assert {model.__name__: plain_user_indexes(model) for model in TABLES} == {
        "RiskCount": [],
        "SignInAttempt": [],
        "TrustedDevice": [],
    }


def test_the_foreign_keys_still_hold(account, clock):
    trusted_browser(account, clock)
    for model in TABLES:
        assert [
            info["foreign_key"]
            for info in constraints_of(model).values()
            if info["foreign_key"] and info["columns"] == ["user_id"]
        ] == [("auth_user", "id")], model


def test_a_users_rows_are_read_and_deleted_through_an_index(account, clock, postgres_only):
    """Every statement that deleting a user makes on these tables, and the
    devices page's list, is planned with an index even when PostgreSQL is
    told to avoid scans (``enable_seqscan = off`` makes a scan the last
    resort, taken only when no index serves the condition)."""
    client = trusted_browser(account, clock)
    sign_in(client, account)  # trusted: let in, one more history row
    assert SignInAttempt.objects.filter(user=account.user).exists()
    assert RiskCount.objects.filter(user=account.user).exists()
    with CaptureQueriesContext(connection) as listed:
        assert client.get("/devices/").status_code == 200
    with CaptureQueriesContext(connection) as deleted:
        account.user.delete()
    tables = [model._meta.db_table for model in TABLES]
    statements = [
        query["sql"]
        for query in [*listed.captured_queries, *deleted.captured_queries]
        if any(f'"{table}"' in query["sql"] for table in tables)
        and "WHERE" in query["sql"]
        and ("user_id" in query["sql"])
    ]
    assert len(statements) >= 3  # the list, and each table's rows of the user
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in statements:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(line for (line,) in cursor.fetchall())
            for table in tables:
                assert f"Seq Scan on {table}" not in plan, (sql, plan)
            # Found by the user, through an index: not a scan of another
            # index filtered on the user.
            assert re.search(r"Index Cond: .*user_id", plan), (sql, plan)


def token_hash_indexes(model) -> list[dict]:
    """Every index (or unique constraint) of ``token_hash`` alone."""
    return [
        info
        for info in constraints_of(model).values()
        if (info["index"] or info["unique"]) and info["columns"] == ["token_hash"]
    ]


def test_a_secret_hash_has_its_unique_index_alone(db):
    """PostgreSQL's ``varchar_pattern_ops`` twin (for ``LIKE``) is gone; the
    unique index stays."""
    assert {
        model.__name__: [info["unique"] for info in token_hash_indexes(model)]
        for model in SECRET_HASHES
    } == {"TrustedDevice": [True], "SupersededToken": [True]}


def test_a_presented_secret_is_found_through_the_unique_index(account, clock, postgres_only):
    """The sign-in's device look-up (and the superseded secrets' one, for a
    secret no live device holds) is planned on the unique index."""
    client = trusted_browser(account, clock)
    held = client.cookies[COOKIE_NAME].value
    # A second secret nobody holds, beside the device's: it is looked for
    # among the superseded ones too.
    client.cookies[COOKIE_NAME] = tokens.build_cookie([held, tokens.new_secret()], 5)
    with CaptureQueriesContext(connection) as captured:
        sign_in(client, account)
    tables = [model._meta.db_table for model in SECRET_HASHES]
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if query["sql"].startswith("SELECT")
        and any(f'"{table}"' in query["sql"] for table in tables)
        and '"token_hash" IN' in query["sql"]
    ]
    assert len(statements) == 2, [q["sql"] for q in captured.captured_queries]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in statements:
            cursor.execute(f"EXPLAIN {sql}")
            plan = "\n".join(line for (line,) in cursor.fetchall())
            assert re.search(r"(Scan using|Index Scan on) \w+_token_hash_key\b", plan), (sql, plan)
