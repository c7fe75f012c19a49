"""Trusted devices and superseded secrets: one index per key, not two.

- ``TrustedDevice.user`` loses the foreign key's own index: the model's
  composite index (``user``, ``revoked_at``, ``expires_at``) leads with the
  same column and serves every read by user and a user's deletion, as
  0014 found for the history. The state changes as ``AlterField`` says;
  the database only loses the index (``AlterField`` would also drop and
  re-add the foreign key, which checks every row under a lock).
- ``token_hash`` of both models loses PostgreSQL's ``_like`` twin, the
  ``varchar_pattern_ops`` index Django adds beside a text column's unique
  index for ``LIKE 'prefix%'``. A secret's hash is only ever looked up by
  equality, which the unique index serves; the twin held as many entries
  (~120 MB at 1 M devices) and was written on every trust and every
  rotation (a rotation changes the hash: no update of the row is HOT).
  Django's state keeps no record of the twin, so it is unchanged; any
  later ``AlterField`` of the column drops it with ``IF EXISTS``.

Only an index of the field alone under Django's own name is dropped, and
only where what replaces it is there and usable (on PostgreSQL: valid,
not partial). On PostgreSQL the indexes are dropped, and on the way back
built, ``CONCURRENTLY``, without a lock that would hold up trusts and
rotations, so the migration is not atomic. It reverses to what Django
makes for the fields.

``sqlmigrate`` shows no SQL for it. By hand, on PostgreSQL with the default
user model, it is::

    DROP INDEX CONCURRENTLY IF EXISTS "trust_trusteddevice_user_id_ab336862";
    DROP INDEX CONCURRENTLY IF EXISTS "trust_trusteddevice_token_hash_655164e3_like";
    DROP INDEX CONCURRENTLY IF EXISTS "trust_supersededtoken_token_hash_c3489182_like";
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TOKEN_HASH_MODELS = ("trusteddevice", "supersededtoken")


def _constraints(schema_editor, model):
    with schema_editor.connection.cursor() as cursor:
        return schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)


def _usable(schema_editor, name):
    """Can the planner use this index for every row? On PostgreSQL: a
    complete btree of the whole table (not left invalid by a failed
    concurrent build, not partial). Elsewhere being there is enough."""
    if schema_editor.connection.vendor != "postgresql":
        return True
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid AND i.indisready AND i.indpred IS NULL AND a.amname = 'btree'"
            " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_am a ON a.oid = c.relam WHERE i.indexrelid = to_regclass(%s)",
            [schema_editor.quote_name(name)],
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def _user_index_covered(schema_editor, model, found):
    """The model's own index that leads with ``user`` is there, usable."""
    names = [index.name for index in model._meta.indexes if index.fields[:1] == ["user"]]
    return any(name in found and _usable(schema_editor, name) for name in names)


def _token_hash_unique(schema_editor, model, found):
    """A usable unique index (or constraint) of ``token_hash`` alone is there."""
    column = model._meta.get_field("token_hash").column
    return any(
        info["unique"] and info["columns"] == [column] and _usable(schema_editor, name)
        for name, info in found.items()
    )


def _drop_django_indexes(schema_editor, model, field_name, suffixes, found):
    """Drop the indexes Django made for the field alone, by Django's names
    (``suffixes``); never a unique one, a key's, or one of other columns."""
    column = model._meta.get_field(field_name).column
    postgresql = schema_editor.connection.vendor == "postgresql"
    for suffix in suffixes:
        name = schema_editor._create_index_name(model._meta.db_table, [column], suffix=suffix)
        info = found.get(name)
        if (
            info is None
            or not info["index"]
            or info["unique"]
            or info["foreign_key"]
            or info["columns"] != [column]
        ):
            continue
        options = {"concurrently": True} if postgresql else {}
        schema_editor.execute(schema_editor._delete_index_sql(model, name, **options))


def _drop_user_index(apps, schema_editor):
    device = apps.get_model("trust", "trusteddevice")
    found = _constraints(schema_editor, device)
    if _user_index_covered(schema_editor, device, found):
        # "_like": a user model whose key is text has a twin too.
        _drop_django_indexes(schema_editor, device, "user", ("", "_like"), found)


def _drop_like_twin(model_name):
    def drop(apps, schema_editor):
        model = apps.get_model("trust", model_name)
        found = _constraints(schema_editor, model)
        if _token_hash_unique(schema_editor, model, found):
            _drop_django_indexes(schema_editor, model, "token_hash", ("_like",), found)

    return drop


def _restore(model_name, field_name):
    def restore(apps, schema_editor):
        """What Django makes for the field's own indexes, where not there
        (``apps`` is 0014's state: the user field indexed). On PostgreSQL
        built ``CONCURRENTLY``, as the forward step drops them: trusts and
        rotations go on meanwhile. One that a failed build left invalid is
        built again."""
        model = apps.get_model("trust", model_name)
        found = _constraints(schema_editor, model)
        postgresql = schema_editor.connection.vendor == "postgresql"
        for statement in schema_editor._field_indexes_sql(model, model._meta.get_field(field_name)):
            name = str(statement.parts["name"]).strip('"`[]')
            if name in found:
                if _usable(schema_editor, name):
                    continue
                schema_editor.execute(
                    schema_editor._delete_index_sql(model, name, concurrently=True)
                )
            if postgresql and statement.template == schema_editor.sql_create_index:
                statement.template = schema_editor.sql_create_index_concurrently
            schema_editor.execute(statement)

    return restore


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [
        ("trust", "0014_no_user_index_where_a_composite_leads"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The database first: forwards, ``apps`` is still 0014's state, and
        # backwards the indexes come back last, in 0014's state too. One
        # operation per model, so that a router sees which one it is.
        migrations.RunPython(
            _drop_user_index,
            _restore("trusteddevice", "user"),
            hints={"model_name": "trusteddevice"},
        ),
        *(
            migrations.RunPython(
                _drop_like_twin(name), _restore(name, "token_hash"), hints={"model_name": name}
            )
            for name in TOKEN_HASH_MODELS
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="trusteddevice",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="trusted_devices",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
    ]
