"""The sign-in history's and the risk counts' indexes fit their reads: a
user's rows are found, listed and deleted through the model's composite
indexes, and no second index on the user column costs every sign-in's
writes (migration 0014)."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import sign_in, trusted_browser
from trust.models import RiskCount, SignInAttempt

TABLES = (RiskCount, SignInAttempt)


def plain_user_indexes(model) -> list[str]:
    column = model._meta.get_field("user").column
    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return [
        name
        for name, info in found.items()
        if info["index"]
        and not info["unique"]
        and not info["foreign_key"]  # MySQL's own index of a foreign key
        and info["columns"] == [column]
    ]


def test_no_index_of_the_user_column_alone(db):
    assert {model.__name__: plain_user_indexes(model) for model in TABLES} == {
        "RiskCount": [],
        "SignInAttempt": [],
    }


def test_the_foreign_keys_still_hold(account, clock):
    trusted_browser(account, clock)
    with connection.cursor() as cursor:
        for model in TABLES:
            found = connection.introspection.get_constraints(cursor, model._meta.db_table)
            assert [
                info["foreign_key"]
                for info in found.values()
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
