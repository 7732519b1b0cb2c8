"""Statements on the hottest write paths, with their SQL built once.

Django builds a statement's SQL from its query tree on every call. For an INSERT of a wide
row that costs several times what the database spends on it, and intake writes two or
three such rows on every report. `OneRowInsert` builds the INSERT of one model once per
database vendor and then only prepares the values: the same `pre_save` and
`get_db_prep_save` per field as `Model.save()`, so every field (encrypted personal data,
JSON, timestamps with `auto_now`) is stored exactly as the ORM would store it.

The values can be prepared before a transaction and written inside it (`prepare`, then
`write`), with the fields only known inside (the id of a row written just before) set at
the write: on SQLite the transaction holds the database's one write lock, and the less
work happens under it, the less the other writers wait.

Like `bulk_create`, it sends no `pre_save`/`post_save` signals and does not call
`Model.save()`: use it only for models whose saving has no side effects beyond the row.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)


class OneRowInsert(Generic[M]):
    """`insert(obj)` writes `obj` as a new row and sets its primary key."""

    def __init__(self, model: type[M]):
        meta = model._meta
        self.model = model
        # The primary key is left to the database (an auto-incremented id), as on save().
        self.fields = [f for f in meta.local_concrete_fields if not f.primary_key and not f.generated]
        self._position = {f.name: i for i, f in enumerate(self.fields)}
        unsupported = [f.name for f in self.fields if hasattr(f, "get_placeholder")]
        if unsupported or not isinstance(meta.pk, models.AutoField):
            raise TypeError(f"{meta.label}: fields {unsupported} need the ORM's own INSERT")
        self._sql: dict[str, str] = {}

    def sql(self, connection) -> str:
        sql = self._sql.get(connection.vendor)
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(f.column) for f in self.fields)
            placeholders = ", ".join(["%s"] * len(self.fields))
            sql = (
                f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES ({placeholders})"
                f" RETURNING {quote(self.model._meta.pk.column)}"
            )
            self._sql[connection.vendor] = sql
        return sql

    def prepare(self, obj: M) -> list[Any]:
        """The row's values as the database takes them."""
        connection = connections[router.db_for_write(self.model, instance=obj)]
        return [self._value(f, f.pre_save(obj, True), connection) for f in self.fields]

    def write(self, obj: M, values: list[Any], **late: Any) -> M:
        """Insert `obj` with its prepared `values`, after setting the fields in `late`
        (field name → value) on it and in the values."""
        if obj.pk is not None:
            raise ValueError("OneRowInsert writes new rows only")
        alias = router.db_for_write(self.model, instance=obj)
        connection = connections[alias]
        if late:
            values = list(values)
            for name, value in late.items():
                setattr(obj, name, value)
                field = self.fields[self._position[name]]
                values[self._position[name]] = self._value(field, getattr(obj, field.attname), connection)
        with connection.cursor() as cursor:
            cursor.execute(self.sql(connection), values)
            obj.pk = cursor.fetchone()[0]
        obj._state.adding = False
        obj._state.db = alias
        return obj

    def __call__(self, obj: M) -> M:
        return self.write(obj, self.prepare(obj))

    @staticmethod
    def _value(field: models.Field, value: Any, connection) -> Any:
        # NULL is NULL to every field (Django's own and ours); most of a new case's dozens
        # of timestamps are still empty.
        return None if value is None else field.get_db_prep_save(value, connection=connection)
