"""Drop the foreign key's own index on ``RiskCount.user`` and
``SignInAttempt.user``: an index of the model's leads with the same column
(``trust_riskcount_user``, ``trust_signin_user_at``) and serves every read
by user and the deletion of a user's rows, so the second one only cost
writes (every sign-in adds a history row and updates a score's count rows)
and buffer space (~10 M entries at the bench's size).

Only the index is dropped. Django's own ``AlterField`` would also drop and
re-add the foreign key constraint, which on PostgreSQL checks every row of
the history under a lock that holds up sign-ins' writes meanwhile; here
the state changes as ``AlterField`` says, the database only loses the index.

``sqlmigrate`` shows no SQL for it. By hand, on PostgreSQL with the default
user model, it is::

    DROP INDEX CONCURRENTLY IF EXISTS "trust_riskcount_user_id_06e99f7b";
    DROP INDEX CONCURRENTLY IF EXISTS "trust_signinattempt_user_id_a1fccedf";
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# Each model, and the composite index that leads with its user column.
COVERED_BY = {"riskcount": "trust_riskcount_user", "signinattempt": "trust_signin_user_at"}


def _constraints(schema_editor, model):
    with schema_editor.connection.cursor() as cursor:
        return schema_editor.connection.introspection.get_constraints(cursor, model._meta.db_table)


def _drop(model_name):
    def drop(apps, schema_editor):
        """Django's own names for the field's index (and PostgreSQL's
        ``_like`` twin for a text key), where the composite index is there
        (a database without partial indexes has no ``trust_riskcount_user``
        and keeps its index); nothing a site added by another name."""
        model = apps.get_model("trust", model_name)
        found = _constraints(schema_editor, model)
        if COVERED_BY[model_name] not in found:
            return
        table, column = model._meta.db_table, model._meta.get_field("user").column
        postgresql = schema_editor.connection.vendor == "postgresql"
        for suffix in ("", "_like"):
            name = schema_editor._create_index_name(table, [column], suffix=suffix)
            info = found.get(name)
            if info is None or not info["index"] or info["unique"] or info["foreign_key"]:
                continue
            # PostgreSQL: without a lock that would hold up sign-ins.
            options = {"concurrently": True} if postgresql else {}
            schema_editor.execute(schema_editor._delete_index_sql(model, name, **options))

    return drop


def _restore(model_name):
    def restore(apps, schema_editor):
        """What Django makes for the field as 0013 left it, if not there."""
        model = apps.get_model("trust", model_name)
        found = _constraints(schema_editor, model)
        field = model._meta.get_field("user")
        for statement in schema_editor._field_indexes_sql(model, field):
            if str(statement.parts["name"]).strip('"`[]') not in found:
                schema_editor.execute(statement)

    return restore


class Migration(migrations.Migration):
    atomic = False  # DROP INDEX CONCURRENTLY cannot run in a transaction
    dependencies = [
        ("trust", "0013_risk_read_function"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="riskcount",
                    name="user",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="signinattempt",
                    name="user",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sign_in_attempts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[
                migrations.RunPython(_drop(name), _restore(name), hints={"model_name": name})
                for name in COVERED_BY
            ],
        )
    ]
