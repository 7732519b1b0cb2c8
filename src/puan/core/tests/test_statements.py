from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.test.utils import isolate_apps

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import Case, CaseEvent, CaseParty, CommandAlert
from puan.cases.services import PartyInput
from puan.cases.tests.helpers import intake
from puan.core.statements import OneRowInsert, OneRowSelect, PreparedRead, new_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def written(world):
    """A red dispute with a reporter's phone and ID number, and parties: intake writes the
    case, its parties, its timeline and its alert with OneRowInsert."""
    worker = make_user(Role.GRID_WORKER, unit=world.grid_a1, username="gw")
    result = intake(
        worker,
        facts={"danger_to_life": True, "people_involved": 12},
        reporter_name="王伟",
        reporter_phone="13800138000",
        reporter_id_number="11010519491231002X",
        parties=[PartyInput(role="applicant", name="李娜", phone="13900139000")],
    )
    return result.case


def _rows(model, ids, exclude=("id",)):
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in exclude]
    return [tuple(row) for row in model.objects.filter(pk__in=ids).order_by("pk").values_list(*fields)]


def test_it_stores_every_field_as_save_does(written):
    """Each row intake wrote is copied with the ORM's own save(): read back, the copy and
    the original agree on every column (encrypted data, JSON, times, keys)."""
    for model, rows in [
        (Case, [written]),
        (CaseEvent, list(written.events.all())),
        (CaseParty, list(written.parties.all())),
        (CommandAlert, list(written.alerts.all())),
    ]:
        assert rows, model
        for row in rows:
            copy = model.objects.get(pk=row.pk)
            copy.pk = None
            if model is Case:
                copy.tracking_code = "HPCOPY"
            elif model is CaseEvent:
                copy.seq += 100
            copy.save()
            exclude = ("id", "tracking_code", "updated_at", "seq")
            original, saved = _rows(model, [row.pk, copy.pk], exclude=exclude)
            assert original == saved, model
    assert Case.objects.get(pk=written.pk).reporter_phone == "13800138000"


def test_its_short_cuts_give_what_get_db_prep_save_gives(written):
    values_of = {
        Case: [Case.objects.get(pk=written.pk)],
        CaseEvent: list(written.events.all()),
        CaseParty: list(written.parties.all()),
        CommandAlert: list(written.alerts.all()),
    }
    odd_values = [None, "", "文字", 0, 7, -3, 2.5, True, False, written.created_at]
    for model, objects in values_of.items():
        insert = OneRowInsert(model)
        for obj in objects:
            for field, convert in zip(insert.fields, insert._converters, strict=True):
                if field.get_internal_type() in ("JSONField", "TextField") and type(field) is not models.TextField:
                    continue  # no short cut: JSON and encrypted text always take the full path
                # The value the object holds, and values of other types the field may meet.
                for value in [getattr(obj, field.attname), *odd_values]:
                    try:
                        expected = None if value is None else field.get_db_prep_save(value, connection=connection)
                    except (TypeError, ValueError, AttributeError, ValidationError):
                        continue  # not a value this field takes at all
                    assert convert(value, connection) == expected, (model, field.name, value)


def test_it_writes_new_rows_only(written):
    with pytest.raises(ValueError):
        OneRowInsert(Case)(Case.objects.get(pk=written.pk))


def test_it_reads_a_row_as_a_queryset_does(written):
    for model, pk in [
        (Case, written.pk),
        (CaseEvent, written.events.first().pk),
        (CaseParty, written.parties.first().pk),
    ]:
        fast = OneRowSelect(model).get(pk)
        slow = model.objects.get(pk=pk)
        for field in model._meta.concrete_fields:
            assert getattr(fast, field.attname) == getattr(slow, field.attname), (model, field.name)
        assert not fast._state.adding and fast._state.db == slow._state.db
    assert OneRowSelect(Case).get(written.pk + 1000) is None


def test_it_gives_a_case_its_units_as_a_joined_read_does(written):
    from puan.cases.selectors import CASE_UNITS, case_with_units

    with transaction.atomic():
        fast = case_with_units(written.pk, for_update=True)
    slow = Case.objects.select_related("category", *CASE_UNITS).get(pk=written.pk)
    assert fast.category.code == slow.category.code
    for name in CASE_UNITS:
        mine, theirs = getattr(fast, name), getattr(slow, name)
        assert (mine.pk, mine.name) == (theirs.pk, theirs.name) if theirs else mine is None, name


def test_it_leaves_null_columns_out_unless_the_database_has_a_default_for_them(written):
    with isolate_apps("puan.core"):

        class Stamped(models.Model):
            note = models.CharField(max_length=10, null=True)
            stamped = models.DateTimeField(null=True, db_default=models.functions.Now())

            def __str__(self) -> str:
                return str(self.note)

    insert = OneRowInsert(Stamped)
    assert insert._always == (False, True)  # a NULL `stamped` is written: left out, it would be now
    sql = insert.sql(connection, (False, True))
    assert '"note"' not in sql and '"stamped"' in sql

    # A new case's empty timestamps are not in its statement, and they read back as NULL.
    rows = OneRowInsert(Case)
    case = Case.objects.get(pk=written.pk)
    case.pk, case.tracking_code = None, "HPNULLS"
    rows(case)
    (present,) = [present for (_, present) in rows._sql]
    left_out = {f.name for f, keep in zip(rows.fields, present, strict=True) if not keep}
    assert {"closed_at", "verified_at", "satisfaction"} <= left_out
    assert "reporter_phone" not in left_out
    copy = Case.objects.get(pk=case.pk)
    assert copy.closed_at is None and copy.satisfaction is None and copy.reporter_phone == "13800138000"


def test_its_prepared_reads_give_what_the_queryset_gives(written):
    from puan.cases.models import AssistTask

    reads = [
        lambda case_id: (
            CaseEvent.objects.filter(case_id=case_id)
            .order_by("seq")
            .values("seq", "kind", "actor__username", "actor_unit__name", "data", "at")
        ),
        lambda case_id: CaseParty.objects.filter(case_id=case_id).order_by("pk").values("name", "phone", "id_number"),
        lambda case_id: AssistTask.objects.filter(case_id=case_id).values("id", "department__name", "created_at"),
    ]
    for make in reads:
        read = PreparedRead(make)
        for case_id in (written.pk, written.pk, written.pk + 1000):  # compiled once, run again
            assert read(case_id) == list(make(case_id)), make
    parties = PreparedRead(reads[1])(written.pk)
    assert parties[0]["phone"] == "13900139000"  # decrypted, as the queryset does
    events = PreparedRead(reads[0])(written.pk)
    assert isinstance(events[0]["data"], dict) and events[0]["at"].tzinfo is not None

    with pytest.raises(TypeError):
        PreparedRead(lambda case_id: Case.objects.filter(pk=case_id))(written.pk)
    with pytest.raises(TypeError):
        PreparedRead(lambda case_id: Case.objects.filter(pk=case_id, version=case_id).values("id"))(written.pk)


def test_it_reads_each_field_as_pre_save_does(written):
    for model, obj in [
        (Case, Case.objects.get(pk=written.pk)),
        (CaseEvent, written.events.first()),
        (CaseParty, written.parties.first()),
        (CommandAlert, written.alerts.first()),
    ]:
        insert = OneRowInsert(model)
        for field, (read, _) in zip(insert.fields, insert._steps, strict=True):
            stamps = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            if stamps:
                # A time the row stamps itself takes pre_save's path, which sets it.
                setattr(obj, field.attname, None)
                assert read(obj) is not None and getattr(obj, field.attname) is not None, (model, field.name)
            else:
                assert read(obj) == field.pre_save(obj, True), (model, field.name)


def test_it_builds_a_new_row_as_the_constructor_does(world, django_assert_num_queries):
    from puan.taxonomy.models import Category

    category = Category.objects.select_related("lead_department").filter(lead_department__isnull=False).first()
    values = {
        "tracking_code": "HPNEW",
        "category": category,
        "grid": world.grid_a1,
        "community": None,
        "street_id": world.grid_a1.parent.parent_id,
        "lead_department": category.lead_department,
        "title": "标题",
        "risk_facts": {"injury": True},
    }
    fast, slow = new_row(Case, **dict(values)), Case(**values)
    for field in Case._meta.concrete_fields:
        assert getattr(fast, field.attname) == getattr(slow, field.attname), field.name
    with django_assert_num_queries(0):  # the related objects given are the ones it holds
        assert fast.category is category and fast.grid is world.grid_a1 and fast.community is None
        assert fast.lead_department is category.lead_department
    assert fast._state.adding and fast.pk is None


def test_it_gives_a_time_as_the_backend_adapts_it():
    from datetime import UTC, datetime, timedelta, timezone
    from zoneinfo import ZoneInfo

    from puan.core.statements import db_timestamp

    for value in [
        datetime(2026, 11, 28, 21, 5, 3, 123456, tzinfo=ZoneInfo("Asia/Shanghai")),
        datetime(2026, 1, 1, tzinfo=UTC),
        datetime(2026, 6, 30, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
    ]:
        assert db_timestamp(value, connection) == connection.ops.adapt_datetimefield_value(value), value


def test_it_refuses_a_related_object_of_the_wrong_model_as_the_constructor_does(world):
    with pytest.raises(ValueError, match="must be a"):
        Case(category=world.grid_a1)
    with pytest.raises(ValueError, match="must be a"):
        new_row(Case, category=world.grid_a1)
