"""Intake's duplicate check on PostgreSQL, with the turn that reports of one category take,
in one statement: `cases_duplicate_candidates` takes the category's advisory lock, then
reads the open cases near the point. A VOLATILE function's query takes its snapshot after
the lock is held, so it sees a case the report before it has just committed, as a second
statement would. SQLite needs no function: its write transaction holds the database's one
write lock. `cases/services.py` keeps the same query for SQLite and the intake form, and a
test holds the two to the same answers."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cases_duplicate_candidates(
    lock_class integer, lock_key integer, category bigint, states text[], since timestamptz,
    min_lon double precision, max_lon double precision, min_lat double precision, max_lat double precision
)
RETURNS TABLE (id bigint, lon double precision, lat double precision)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_class, lock_key);
    RETURN QUERY
        SELECT c.id, c.lon, c.lat FROM cases_case c
        WHERE c.category_id = category AND c.state = ANY (states) AND c.created_at >= since
          AND c.lon BETWEEN min_lon AND max_lon AND c.lat BETWEEN min_lat AND max_lat
        ORDER BY c.created_at, c.id;
END
$$
"""

DROP = (
    "DROP FUNCTION IF EXISTS cases_duplicate_candidates(integer, integer, bigint, text[], timestamptz,"
    " double precision, double precision, double precision, double precision)"
)


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("cases", "0009_lean_case_indexes")]

    operations = [migrations.RunPython(_create, _drop, elidable=False)]
