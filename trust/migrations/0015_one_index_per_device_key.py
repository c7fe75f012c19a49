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

Nothing a site added under another name is touched, and each index goes
only where what replaces it is there. On PostgreSQL the indexes are
dropped ``CONCURRENTLY``, without a lock that would hold up sign-ins, so
the migration is not atomic. It reverses to exactly what Django makes for
the fields.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TOKEN_HASH_MODELS = ("trusteddevice", "supersededtoken")


def _constraints(schema_editor, model):
    with schema_editor.connection.cursor() as cursor:
        return schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)


def _leads_with(found, column, *, unique):
    """Is there an index of more than ``column`` that starts with it (or,
    with ``unique``, a unique index of ``column`` alone)?"""
    for info in found.values():
        columns = info["columns"] or []
        if unique and info["unique"] and columns == [column]:
            return True
        if not unique and info["index"] and len(columns) > 1 and columns[0] == column:
            return True
    return False


def _drop_django_indexes(schema_editor, model, field_name, suffixes, *, covered_by_unique):
    """Drop Django's own index names for the field (``suffixes``), where the
    index that takes over is there; never a unique index or a key's."""
    found = _constraints(schema_editor, model)
    column = model._meta.get_field(field_name).column
    if not _leads_with(found, column, unique=covered_by_unique):
        return
    postgresql = schema_editor.connection.vendor == "postgresql"
    for suffix in suffixes:
        name = schema_editor._create_index_name(model._meta.db_table, [column], suffix=suffix)
        info = found.get(name)
        if info is None or not info["index"] or info["unique"] or info["foreign_key"]:
            continue
        options = {"concurrently": True} if postgresql else {}
        schema_editor.execute(schema_editor._delete_index_sql(model, name, **options))


def _drop_user_index(apps, schema_editor):
    device = apps.get_model("trust", "trusteddevice")
    _drop_django_indexes(schema_editor, device, "user", ("", "_like"), covered_by_unique=False)


def _drop_like_twin(model_name):
    def drop(apps, schema_editor):
        model = apps.get_model("trust", model_name)
        _drop_django_indexes(schema_editor, model, "token_hash", ("_like",), covered_by_unique=True)

    return drop


def _restore(model_name, field_name):
    def restore(apps, schema_editor):
        """What Django makes for the field's own indexes, where not there
        (``apps`` is 0014's state: the user field indexed)."""
        model = apps.get_model("trust", model_name)
        found = _constraints(schema_editor, model)
        for statement in schema_editor._field_indexes_sql(model, model._meta.get_field(field_name)):
            if str(statement.parts["name"]).strip('"`[]') not in found:
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
