"""A party's blind indexes become partial indexes without the empty value, as the case's
are: most parties come without an ID number and many without a phone, and nobody looks up
the empty value. The fields' `db_index` flags go, and with them, on PostgreSQL, their LIKE
twins. Written out like 0009, so that nothing but these indexes is touched."""

from django.db import migrations, models
from django.db.models import Q

COLUMNS = ("phone_index", "id_index")
INDEXES = [
    models.Index(fields=["phone_index"], name="party_phone", condition=Q(phone_index__gt="")),
    models.Index(fields=["id_index"], name="party_id", condition=Q(id_index__gt="")),
]


def _forwards(apps, schema_editor):
    party = apps.get_model("cases", "CaseParty")
    table = party._meta.db_table
    for column in COLUMNS:
        for suffix in ("", "_like"):  # the flag's index, and its twin on PostgreSQL
            name = schema_editor._create_index_name(table, [column], suffix=suffix)
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")
    for index in INDEXES:
        schema_editor.add_index(party, index)


def _backwards(apps, schema_editor):
    party = apps.get_model("cases", "CaseParty")
    for index in INDEXES:
        schema_editor.remove_index(party, index)
    for column in COLUMNS:
        field = party._meta.get_field(column)
        schema_editor.execute(schema_editor._create_index_sql(party, fields=[field]))
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(schema_editor._create_like_index_sql(party, field))


class Migration(migrations.Migration):
    dependencies = [("cases", "0010_duplicate_check_function")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                *(
                    migrations.AlterField(
                        model_name="caseparty", name=column, field=models.CharField(blank=True, default="", max_length=32)
                    )
                    for column in COLUMNS
                ),
                *(migrations.AddIndex(model_name="caseparty", index=index) for index in INDEXES),
            ],
            database_operations=[migrations.RunPython(_forwards, _backwards)],
        )
    ]
