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
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MODELS = ("riskcount", "signinattempt")


def _user_indexes(schema_editor, model):
    """The names of the plain indexes on exactly the ``user_id`` column."""
    column = model._meta.get_field("user").column
    with schema_editor.connection.cursor() as cursor:
        found = schema_editor.connection.introspection.get_constraints(
            cursor, model._meta.db_table
        )
    return [
        name
        for name, info in found.items()
        if info["index"]
        and not info["unique"]
        and not info["primary_key"]
        and not info["foreign_key"]
        and info["columns"] == [column]
    ]


def drop_indexes(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("trust", name)
        for index in _user_indexes(schema_editor, model):
            schema_editor.execute(schema_editor._delete_index_sql(model, index))


def add_indexes(apps, schema_editor):
    for name in MODELS:
        model = apps.get_model("trust", name)
        if not _user_indexes(schema_editor, model):
            field = model._meta.get_field("user")
            schema_editor.execute(schema_editor._create_index_sql(model, fields=[field]))


class Migration(migrations.Migration):
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
            database_operations=[migrations.RunPython(drop_indexes, add_indexes)],
        )
    ]
