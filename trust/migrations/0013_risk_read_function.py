"""The risk model's one read as a PL/pgSQL function, on PostgreSQL only.

Why a function: with Django's default binding (parameters merged into the
SQL on the client, nothing prepared), PostgreSQL parsed and planned the
read on every sign-in, and that cost more than running it. A PL/pgSQL
function keeps the plan of its query for the connection, whatever the
site's binding or connection pooler (docs/risk.md, "The wiring"). Other
databases run the same read as plain SQL (``trust.flows.risk._READ``);
``tests/test_risk_read.py`` holds the two to the same rows.

The text is frozen here, as a migration's must be: a change to the read is
a new migration that drops the function and creates its successor
(``CREATE OR REPLACE`` cannot change what it returns).
"""

from django.db import migrations

# - ``u``: the user's primary key, cast by the caller to the type of
#   ``user_id`` (``anyelement``: any user model's key).
# - ``pairs``: the (feature, value) pairs to count, a JSON array of
#   two-string arrays; ``names``: the keyed digests of the user's names (the
#   throttle's keys), a JSON array of strings. JSON, not arrays: psycopg
#   writes one string into a client-bound statement in ~17 us, these
#   arrays in ~110 us.
# - The labels of the rows that are not counts are the caller's.
# - Every column is qualified and cast to the declared type: a parameter
#   never stands for a column, and a later change of a column's type fails
#   in the migration that makes it, not at a sign-in.
# - The outcomes that count as a success are written in, not passed, so
#   that the plan kept for all users still uses the partial index
#   ``trust_signin_user_success`` (passed, it read every attempt).
CREATE = r"""
CREATE OR REPLACE FUNCTION trust_risk_read(
    u anyelement, pairs json, names json,
    throttle_scope text, last_success_label text, burst_label text)
RETURNS TABLE (mine boolean, feature text, value text, count bigint, at timestamptz)
LANGUAGE plpgsql STABLE
AS $body$
BEGIN
  RETURN QUERY
  WITH k (f, v) AS (SELECT p ->> 0, p ->> 1 FROM json_array_elements(pairs) AS p)
  SELECT false, r.feature::text, r.value::text, r.count::bigint, NULL::timestamptz
    FROM k JOIN trust_riskcount r ON r.feature = k.f AND r.value = k.v
   WHERE r.user_id IS NULL
  UNION ALL
  SELECT true, r.feature::text, r.value::text, r.count::bigint, NULL::timestamptz
    FROM k JOIN trust_riskcount r ON r.feature = k.f AND r.value = k.v
   WHERE r.user_id = u
  UNION ALL
  SELECT true, last_success_label, a.country::text, 0::bigint, a.at::timestamptz
    FROM trust_signinattempt a
   WHERE a.id = (SELECT b.id FROM trust_signinattempt b
                  WHERE b.user_id = u AND b.outcome IN ('allowed', 'passed')
                  ORDER BY b.at DESC LIMIT 1)
  UNION ALL
  SELECT true, burst_label, ''::text, 0::bigint, t.burst_at::timestamptz
    FROM trust_passwordthrottle t
   WHERE t.scope = throttle_scope
     AND t.key = ANY (ARRAY(SELECT json_array_elements_text(names)))
     AND t.burst_at IS NOT NULL;
END
$body$
"""
DROP = "DROP FUNCTION IF EXISTS trust_risk_read(anyelement, json, json, text, text, text)"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("trust", "0012_trusted_device_countries"),
    ]

    operations = [migrations.RunPython(create, drop, hints={"model_name": "riskcount"})]
