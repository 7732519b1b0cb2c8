"""Statements on the hottest paths, with their SQL built once.

Django builds a statement's SQL from its query tree on every call. For an INSERT of a wide
row that costs several times what the database spends on it, and intake writes two or
three such rows on every report. `OneRowInsert` builds the INSERT of one model once per
database vendor and then only prepares the values: the same `pre_save` and
`get_db_prep_save` per field as `Model.save()`, so every field (encrypted personal data,
JSON, timestamps with `auto_now`) is stored exactly as the ORM would store it.

Columns that are NULL are left out of the statement (the database fills them with NULL
anyway): a new case has a dozen empty timestamps, and on PostgreSQL a statement of more
than 50 parameters is parsed afresh on every call, where a shorter one is parsed once.
Each set of present columns gets its statement built once.

The values can be prepared before a transaction and written inside it (`prepare`, then
`write`), with the fields only known inside (the id of a row written just before) set at
the write: on SQLite the transaction holds the database's one write lock, and the less
work happens under it, the less the other writers wait.

Like `bulk_create`, it sends no `pre_save`/`post_save` signals and does not call
`Model.save()`: use it only for models whose saving has no side effects beyond the row.

`OneRowSelect` reads one row by primary key (optionally locking it) into a model instance,
with the same conversions of each column as a queryset applies; `PreparedRead` runs a
`values()` queryset compiled once, for another value each time (a case's timeline, say);
`update_columns` writes some fields of many rows in one statement run for all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, TypeVar

from django.db import connections, models, router

M = TypeVar("M", bound=models.Model)

# Fields whose value, when of its natural type, goes to the database as it is: for these
# exact classes `get_db_prep_save` returns such a value unchanged, after a chain of calls
# that costs more than the rest of the insert. Subclasses (encrypted text, say) may
# change the value, so they take the full path.
_AS_IS = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.SmallIntegerField: int,
    models.BigIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveSmallIntegerField: int,
    models.FloatField: float,
    models.BooleanField: bool,
}


class OneRowInsert(Generic[M]):
    """`insert(obj)` writes `obj` as a new row and sets its primary key."""

    def __init__(self, model: type[M]):
        meta = model._meta
        self.model = model
        # The primary key is left to the database (an auto-incremented id), as on save().
        self.fields = [f for f in meta.local_concrete_fields if not f.primary_key and not f.generated]
        self._position = {f.name: i for i, f in enumerate(self.fields)}
        self._converters = [_converter(f) for f in self.fields]
        self._steps = list(zip([_reader(f) for f in self.fields], self._converters, strict=True))
        unsupported = [f.name for f in self.fields if hasattr(f, "get_placeholder")]
        if unsupported or not isinstance(meta.pk, models.AutoField):
            raise TypeError(f"{meta.label}: fields {unsupported} need the ORM's own INSERT")
        # A column with a database default must be written even when NULL: left out, it
        # would take the default instead.
        self._always = tuple(f.db_default is not models.NOT_PROVIDED for f in self.fields)
        self._sql: dict[tuple[str, tuple[bool, ...]], str] = {}

    def sql(self, connection, present: tuple[bool, ...]) -> str:
        """The INSERT of the columns marked in `present`."""
        key = (connection.vendor, present)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            fields = [f for f, keep in zip(self.fields, present, strict=True) if keep]
            columns = ", ".join(quote(f.column) for f in fields)
            placeholders = ", ".join(["%s"] * len(fields))
            sql = (
                f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) VALUES ({placeholders})"
                f" RETURNING {quote(self.model._meta.pk.column)}"
            )
            self._sql[key] = sql
        return sql

    def prepare(self, obj: M) -> list[Any]:
        """The row's values as the database takes them."""
        connection = connections[router.db_for_write(self.model, instance=obj)]
        values = []
        for read, convert in self._steps:
            value = read(obj)
            values.append(None if value is None else convert(value, connection))
        return values

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
                position = self._position[name]
                field = self.fields[position]
                values[position] = self._converters[position](getattr(obj, field.attname), connection)
        present = tuple(value is not None or always for value, always in zip(values, self._always, strict=True))
        with connection.cursor() as cursor:
            cursor.execute(self.sql(connection, present), [v for v, keep in zip(values, present, strict=True) if keep])
            obj.pk = cursor.fetchone()[0]
        obj._state.adding = False
        obj._state.db = alias
        return obj

    def __call__(self, obj: M) -> M:
        return self.write(obj, self.prepare(obj))


def db_timestamp(value: datetime, connection) -> Any:
    """An aware time as the database takes it: `adapt_datetimefield_value` without the
    checks around it on SQLite (naive, in the connection's zone, as text); a case carries
    eight times and intake's duplicate check one more."""
    if connection.vendor == "sqlite" and value.tzinfo is not None:
        return value.astimezone(connection.timezone).replace(tzinfo=None).isoformat(" ")
    return connection.ops.adapt_datetimefield_value(value)


# `pre_save` of these, on a field that stamps no time, only reads the instance's attribute.
_READS_ONLY = {models.Field.pre_save, models.DateField.pre_save, models.DateTimeField.pre_save}


def _reader(field: models.Field) -> Callable[[Any], Any]:
    """The value `pre_save(obj, add=True)` gives for the field: read straight off the
    instance where that is all it does (most fields: tests hold the two to each other)."""
    stamps = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if type(field).pre_save in _READS_ONLY and not stamps:
        return attrgetter(field.attname)
    return lambda obj: field.pre_save(obj, True)


def _converter(field: models.Field) -> Callable[[Any, Any], Any]:
    """`get_db_prep_save` for one field, with a short cut for the values it passes through
    unchanged (tests hold the two to each other)."""

    def full(value, connection):
        # NULL is NULL to every field (Django's own and ours); most of a new case's dozens
        # of timestamps are still empty.
        return None if value is None else field.get_db_prep_save(value, connection=connection)

    natural = _AS_IS.get(type(field))
    if natural is None and isinstance(field, models.ForeignKey) and isinstance(field.target_field, models.AutoField):
        natural = int
    if natural is not None:
        return lambda value, connection: value if type(value) is natural else full(value, connection)
    if type(field) is models.DateTimeField:

        def timestamp(value, connection):
            if type(value) is datetime and value.tzinfo is not None:
                return db_timestamp(value, connection)
            return full(value, connection)

        return timestamp
    return full


@functools.cache
def _relations(model: type[models.Model]) -> dict[str, models.ForeignKey]:
    return {f.name: f for f in model._meta.concrete_fields if f.many_to_one}


def new_row(model: type[M], **values: Any) -> M:
    """`model(**values)` for a row about to be written. Related objects given as instances
    are kept on the new object as they are, but go into the constructor as their keys:
    Django's constructor passes each through the relation's descriptor, which asks the
    database router about it, a cost that counts for the seven relations of a case."""
    relations = _relations(model)
    related = []
    for name in [name for name in values if name in relations]:
        value = values[name]
        if value is None or isinstance(value, models.Model):
            field = relations[name]
            if value is not None and not isinstance(value, field.remote_field.model):
                # As the descriptor would refuse it.
                raise ValueError(
                    f'Cannot assign "{value!r}": "{model.__name__}.{name}" must be a '
                    f'"{field.remote_field.model.__name__}" instance.'
                )
            related.append((field, values.pop(name)))
            values[field.attname] = None if value is None else getattr(value, field.target_field.attname)
    obj = model(**values)
    for field, value in related:
        field.set_cached_value(obj, value)
    return obj


class OneRowSelect(Generic[M]):
    """`select.get(pk)`: the row with this primary key as a model instance, or None."""

    def __init__(self, model: type[M]):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self._attnames = [f.attname for f in self.fields]
        self._prepared: dict[str, tuple[str, str, list]] = {}

    def _for(self, connection) -> tuple[str, str, list]:
        prepared = self._prepared.get(connection.vendor)
        if prepared is None:
            quote = connection.ops.quote_name
            meta = self.model._meta
            columns = ", ".join(quote(f.column) for f in self.fields)
            sql = f"SELECT {columns} FROM {quote(meta.db_table)} WHERE {quote(meta.pk.column)} = %s"
            locking = sql + (" FOR UPDATE" if connection.features.has_select_for_update else "")
            converters = _converters([field.get_col(meta.db_table) for field in self.fields], connection)
            prepared = self._prepared[connection.vendor] = (sql, locking, converters)
        return prepared

    def get(self, pk: Any, *, for_update: bool = False) -> M | None:
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        sql, locking, converters = self._for(connection)
        with connection.cursor() as cursor:
            cursor.execute(locking if for_update else sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        return self.model.from_db(alias, self._attnames, _converted(row, converters, connection))


class PreparedRead:
    """`read(value)`: the rows of `make(value)`, a `values()` queryset, as dicts.

    The queryset is built and compiled once per database, with a marker in place of the
    value; each call runs that SQL with the value in the marker's place and converts each
    column as the queryset would (JSON, times, decrypted personal data). Compiling a read
    with joins costs the ORM several times what the database spends on it."""

    # Never sent: only its place among the compiled parameters matters. A positive 32-bit
    # integer, which every key (and integer column) takes as a value.
    MARKER = 2_073_400_331

    def __init__(self, make: Callable[[Any], models.QuerySet]):
        self.make = make
        self._model: type[models.Model] | None = None
        self._prepared: dict[str, tuple[str, list, int, list[str], list]] = {}

    def _for(self, alias: str, connection) -> tuple[str, list, int, list[str], list]:
        prepared = self._prepared.get(connection.vendor)
        if prepared is None:
            queryset = self.make(self.MARKER)
            query = queryset.query
            if not query.values_select:
                raise TypeError("PreparedRead takes a values() queryset")
            compiler = query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            places = [i for i, param in enumerate(params) if param == self.MARKER]
            if len(places) != 1:
                raise TypeError(f"the value must appear once among the parameters, not {len(places)} times")
            names = [*query.extra_select, *query.values_select, *query.annotation_select]
            converters = _converters([selected[0] for selected in compiler.select[: compiler.col_count]], connection)
            prepared = self._prepared[connection.vendor] = (sql, list(params), places[0], names, converters)
        return prepared

    def __call__(self, value: Any) -> list[dict[str, Any]]:
        if self._model is None:
            self._model = self.make(self.MARKER).model
        alias = router.db_for_read(self._model)
        connection = connections[alias]
        sql, params, place, names, converters = self._for(alias, connection)
        params = list(params)
        params[place] = value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [dict(zip(names, _converted(row, converters, connection), strict=True)) for row in rows]


def _converters(columns: Sequence[Any], connection) -> list[tuple[int, Any, list]]:
    """(position, column, conversions) for each selected column the database's value needs
    converting for: what a queryset applies to the same columns."""
    found = []
    for position, column in enumerate(columns):
        steps = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if steps:
            found.append((position, column, steps))
    return found


def _converted(row: Sequence[Any], converters: list[tuple[int, Any, list]], connection) -> list[Any]:
    values = list(row)
    for position, column, steps in converters:
        value = values[position]
        for step in steps:
            value = step(value, column, connection)
        values[position] = value
    return values


_UPDATES: dict[tuple[type[models.Model], str, tuple[str, ...]], tuple[str, list[models.Field]]] = {}


def update_columns(objs: Sequence[models.Model], names: Sequence[str]) -> None:
    """Write the fields `names`, as set on each of `objs` (instances of one model), to their
    rows: one parameterised UPDATE run for all of them. The ORM's `bulk_update` builds a CASE
    expression per field and row, far too slow on a hot path. Values shared between objects
    (one deadline plan serving a whole batch) are prepared once. No signals are sent."""
    if not objs:
        return
    model = type(objs[0])
    connection = connections[router.db_for_write(model, instance=objs[0])]
    key = (model, connection.vendor, tuple(names))
    statement = _UPDATES.get(key)
    if statement is None:
        meta, quote = model._meta, connection.ops.quote_name
        fields = [meta.get_field(name) for name in names]
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"
        statement = _UPDATES[key] = (sql, fields)
    sql, fields = statement
    prepared: dict[tuple[str, int], Any] = {}

    def prep(field: models.Field, value: Any) -> Any:
        shared = (field.attname, id(value))
        if shared not in prepared:
            prepared[shared] = field.get_db_prep_save(value, connection=connection)
        return prepared[shared]

    rows = [[prep(f, getattr(obj, f.attname)) for f in fields] + [obj.pk] for obj in objs]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
