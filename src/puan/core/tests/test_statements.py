from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models, transaction

from puan.accounts.roles import Role
from puan.accounts.tests.factories import make_user
from puan.cases.models import Case, CaseEvent, CaseParty, CommandAlert
from puan.cases.services import PartyInput
from puan.cases.tests.helpers import intake
from puan.core.statements import OneRowInsert, OneRowSelect

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
