"""The per-user tables' indexes fit their reads. A user's history, risk
counts and trusted devices are found, listed and deleted through the
models' composite indexes, with no second index of the user column alone
(migrations 0014 and 0015); a device secret's hash has its unique index
and no ``LIKE`` twin beside it (0015). Each index left out only cost
writes: every sign-in, trust and rotation."""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
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


BEFORE_0015 = ("trust", "0014_no_user_index_where_a_composite_leads")


def index_definitions() -> dict[str, str]:
    """Every index and constraint of these tables: its definition where the
    database says it (PostgreSQL, SQLite), else its columns."""
    models = (*TABLES, SupersededToken)
    tables = [model._meta.db_table for model in models]
    found = {
        name: str(info["columns"])
        for model in models
        for name, info in constraints_of(model).items()
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [tables]
            )
        elif connection.vendor == "sqlite":
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                "SELECT name, sql FROM sqlite_master"
                f" WHERE type = 'index' AND tbl_name IN ({marks})",
                tables,
            )
        else:
            return found
        found.update((name, definition or "") for name, definition in cursor.fetchall())
    return found


@contextmanager
def back_at_0014():
    """The database migrated back before 0015, and forwards again after,
    whatever the test did meanwhile."""
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE_0015])
    try:
        yield executor.loader.project_state(BEFORE_0015).apps
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("trust"))


@pytest.mark.django_db(transaction=True)
def test_0015_reverses_to_what_django_makes_and_forwards_again():
    """Back to 0014, the indexes Django makes for the fields are there
    again (the user column's, the ``_like`` twins on PostgreSQL, with their
    operator class); forwards, they go again and nothing else changes."""
    now = index_definitions()
    with back_at_0014():
        before = index_definitions()
    assert index_definitions() == now
    assert {name: before[name] for name in now} == now
    added = {name: before[name] for name in set(before) - set(now)}
    user_index = [name for name in added if name.startswith("trust_trusteddevice_user_id_")]
    assert len(user_index) == 1
    twins = sorted(name for name in added if name.endswith("_like"))
    assert sorted(added) == sorted([*user_index, *twins])
    if connection.vendor == "postgresql":  # the only backend that makes them
        assert [name.split("_token_hash_")[0] for name in twins] == [
            "trust_supersededtoken",
            "trust_trusteddevice",
        ]
        for name in twins:
            assert "USING btree (token_hash varchar_pattern_ops)" in added[name], added[name]
        assert "USING btree (user_id)" in added[user_index[0]]
    else:
        assert twins == []


@pytest.mark.django_db(transaction=True)
def test_0015_keeps_the_user_index_where_nothing_replaces_it():
    """A database whose composite index is missing keeps the foreign key's
    own index: a user's devices are never left to a scan of the table."""
    with back_at_0014() as apps:
        device = apps.get_model("trust", "trusteddevice")
        (composite,) = device._meta.indexes
        with connection.schema_editor() as editor:
            editor.remove_index(device, composite)
        try:
            executor = MigrationExecutor(connection)
            executor.migrate(executor.loader.graph.leaf_nodes("trust"))
            assert plain_user_indexes(TrustedDevice) != []
            executor.loader.build_graph()
            executor.migrate([BEFORE_0015])
        finally:
            with connection.schema_editor() as editor:
                editor.add_index(device, composite)
    assert plain_user_indexes(TrustedDevice) == []
