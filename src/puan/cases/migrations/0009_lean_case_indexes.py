"""Fewer indexes for intake to keep up, without rebuilding a table.

- The case's `area_path` index and `tracking_code` uniqueness move from the fields' own
  flags to the model's `Meta`, which on PostgreSQL drops the LIKE twin (`varchar_pattern_ops`)
  each flag added: no query reads cases with LIKE. The existing index and unique constraint
  are renamed on PostgreSQL, not built again.

The database side is written out (`_forwards`, `_backwards`) because Django would rebuild
the whole case table on SQLite for each of these field changes: three copies of the table,
each way, on a database that may hold millions of cases. On SQLite the inline UNIQUE of
`tracking_code` stays as it is (SQLite builds a table afresh from the model on any later
change of its constraints); only the indexes are dropped and made.
"""

from django.db import migrations, models

AREA_PATH = models.Index(fields=["area_path"], name="case_area_path")
TRACKING_UNIQUE = "case_tracking_code_unique"


def _flag_index_names(schema_editor, model, column: str) -> list[str]:
    """The indexes Django made for a field's `db_index`/`unique` flag: its own and, on
    PostgreSQL, the LIKE twin (names as Django's schema editor derives them)."""
    table = model._meta.db_table
    names = [schema_editor._create_index_name(table, [column])]
    if schema_editor.connection.vendor == "postgresql":
        names.append(schema_editor._create_index_name(table, [column], suffix="_like"))
    return names


def _unique_constraint_on(schema_editor, table: str, column: str) -> str:
    """PostgreSQL's name for the UNIQUE constraint of one column (made with the table)."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT k.conname FROM pg_constraint k JOIN pg_attribute a"
            " ON a.attrelid = k.conrelid AND k.conkey = ARRAY[a.attnum]"
            " WHERE k.conrelid = %s::regclass AND k.contype = 'u' AND a.attname = %s",
            [table, column],
        )
        return cursor.fetchone()[0]


def _forwards(apps, schema_editor):
    case = apps.get_model("cases", "Case")
    quote = schema_editor.quote_name
    postgresql = schema_editor.connection.vendor == "postgresql"
    own, *twin = _flag_index_names(schema_editor, case, "area_path")
    for name in twin:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(name)}")
    if postgresql:
        schema_editor.execute(f"ALTER INDEX {quote(own)} RENAME TO {quote(AREA_PATH.name)}")
        schema_editor.execute(
            f"DROP INDEX IF EXISTS {quote(_flag_index_names(schema_editor, case, 'tracking_code')[1])}"
        )
        unique = _unique_constraint_on(schema_editor, case._meta.db_table, "tracking_code")
        schema_editor.execute(
            f"ALTER TABLE {quote(case._meta.db_table)} RENAME CONSTRAINT {quote(unique)} TO {quote(TRACKING_UNIQUE)}"
        )
    else:
        schema_editor.execute(f"DROP INDEX IF EXISTS {quote(own)}")
        schema_editor.add_index(case, AREA_PATH)


def _backwards(apps, schema_editor):
    case = apps.get_model("cases", "Case")
    quote = schema_editor.quote_name
    own = _flag_index_names(schema_editor, case, "area_path")[0]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER INDEX {quote(AREA_PATH.name)} RENAME TO {quote(own)}")
        for column in ("area_path", "tracking_code"):
            schema_editor.execute(schema_editor._create_like_index_sql(case, case._meta.get_field(column)))
        unique = f"{case._meta.db_table}_tracking_code_key"
        schema_editor.execute(
            f"ALTER TABLE {quote(case._meta.db_table)} RENAME CONSTRAINT {quote(TRACKING_UNIQUE)} TO {quote(unique)}"
        )
    else:
        schema_editor.remove_index(case, AREA_PATH)
        schema_editor.execute(schema_editor._create_index_sql(case, fields=[case._meta.get_field("area_path")]))


class Migration(migrations.Migration):
    dependencies = [("cases", "0008_party_role_reporter")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="case",
                    name="area_path",
                    field=models.CharField(max_length=200, verbose_name="所在区域路径"),
                ),
                migrations.AlterField(
                    model_name="case",
                    name="tracking_code",
                    field=models.CharField(max_length=20, verbose_name="查询码"),
                ),
                migrations.AddIndex(model_name="case", index=AREA_PATH),
                migrations.AddConstraint(
                    model_name="case",
                    constraint=models.UniqueConstraint(fields=("tracking_code",), name=TRACKING_UNIQUE),
                ),
            ],
            database_operations=[migrations.RunPython(_forwards, _backwards)],
        )
    ]
