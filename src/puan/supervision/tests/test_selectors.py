from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from puan.accounts.roles import Role
from puan.cases.models import Case
from puan.cases.tests.helpers import People
from puan.core.errors import NotVisible
from puan.supervision import services as svc
from puan.supervision.models import SupervisionOrder
from puan.supervision.selectors import (
    OrderFilters,
    order_get_visible,
    order_list_visible_to,
    order_page,
    overdue_cases_for_unit,
)
from puan.supervision.tests.factories import case_in, issue, make_head, overdue_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


@pytest.fixture
def orders(people, world):
    """One order to each of community A, street A, community B and the justice bureau."""
    justice_case = case_in(people, world.grid_a1, lead_department=world.justice)
    return {
        "community_a": issue(people, world.community_a, [overdue_case(people, world.grid_a1)]),
        "street_a": issue(people, world.street_a, [overdue_case(people, world.grid_a2)]),
        "community_b": issue(people, world.community_b, [overdue_case(people, world.grid_b1)], kind="reminder"),
        "justice": issue(people, world.justice, [justice_case], kind="verification"),
    }


def visible(user) -> set[int]:
    return set(order_list_visible_to(user=user).values_list("pk", flat=True))


def test_it_shows_each_unit_its_own_slice(people, world, orders):
    ids = {k: o.pk for k, o in orders.items()}
    assert visible(people.dispatcher) == set(ids.values())
    assert visible(people.leader) == set(ids.values())
    assert visible(people.street) == {ids["community_a"], ids["street_a"]}
    assert visible(people.community) == {ids["community_a"]}
    assert visible(people.other_community) == {ids["community_b"]}
    assert visible(people.justice) == {ids["justice"]}
    assert visible(people.police) == set()
    assert visible(people.volunteer) == set()
    with pytest.raises(NotVisible):
        order_get_visible(user=people.other_community, order_id=ids["community_a"])
    with pytest.raises(NotVisible):
        order_get_visible(user=people.community, order_id=ids["street_a"])


def test_it_shows_the_head_the_orders_of_the_unit_they_head(people, world, orders):
    # A head seated in the street office still answers for the community they head.
    head = make_head(world.community_a, Role.UNIT_HANDLER, username="head_elsewhere")
    head.unit = world.street_b
    head.save(update_fields=["unit"])
    assert orders["community_a"].pk in visible(head)


def test_it_filters_by_kind_state_unit_and_overdue(people, world, orders):
    def page(**filters) -> set[str]:
        rows, total = order_page(user=people.dispatcher, filters=OrderFilters(**filters), limit=50, offset=0)
        assert total == len(rows)
        return {o.code for o in rows}

    codes = {k: o.code for k, o in orders.items()}
    assert page(kind="reminder") == {codes["community_b"]}
    assert page(unit=world.street_a.pk) == {codes["community_a"], codes["street_a"]}
    svc.order_acknowledge(order=orders["street_a"], actor=people.street, version=1)
    assert page(state=["acknowledged"]) == {codes["street_a"]}
    SupervisionOrder.objects.filter(pk=orders["community_b"].pk).update(deadline=timezone.now() - timedelta(hours=2))
    assert page(overdue=True) == {codes["community_b"]}
    assert codes["community_b"] not in page(overdue=False)
    assert len(page()) == 4


def test_it_pages_newest_first_with_the_total(people, world, orders):
    rows, total = order_page(user=people.dispatcher, filters=OrderFilters(), limit=3, offset=0)
    more, _ = order_page(user=people.dispatcher, filters=OrderFilters(), limit=3, offset=3)
    assert total == 4 and len(rows) == 3 and len(more) == 1
    assert [o.pk for o in rows + more] == sorted((o.pk for o in orders.values()), reverse=True)
    assert rows[0].case_count == 1


def test_it_lists_a_units_overdue_cases_for_the_centre_to_pick(people, world):
    late = overdue_case(people, world.grid_a1, hours_late=30)
    later = overdue_case(people, world.grid_a2, hours_late=2)
    # Past its deadline but not yet marked by the sweep: still overdue.
    unmarked = case_in(people, world.grid_a1, resolve_due_at=timezone.now() - timedelta(hours=1))
    case_in(people, world.grid_a1, resolve_due_at=timezone.now() + timedelta(days=1))  # in time
    case_in(people, world.grid_a1, resolve_due_at=timezone.now() - timedelta(days=1), state="resolved")  # done
    overdue_case(people, world.grid_b1)  # another community
    issue(people, world.community_a, [later])

    found = list(overdue_cases_for_unit(user=people.dispatcher, unit_id=world.community_a.pk))
    assert [c.pk for c in found] == [late.pk, later.pk, unmarked.pk]
    assert [c.under_supervision for c in found] == [False, True, False]
    assert overdue_cases_for_unit(user=people.street, unit_id=world.street_a.pk).count() == 3
    with pytest.raises(NotVisible):
        overdue_cases_for_unit(user=people.other_community, unit_id=world.community_a.pk)


def test_it_lists_a_departments_overdue_cases(people, world):
    led = case_in(
        people, world.grid_b1, lead_department=world.justice, resolve_due_at=timezone.now() - timedelta(hours=3)
    )
    case_in(people, world.grid_a1, lead_department=world.police, resolve_due_at=timezone.now() - timedelta(hours=3))
    assert [c.pk for c in overdue_cases_for_unit(user=people.dispatcher, unit_id=world.justice.pk)] == [led.pk]
    assert Case.objects.count() == 2
    # The department itself sees its own list.
    assert [c.pk for c in overdue_cases_for_unit(user=people.justice, unit_id=world.justice.pk)] == [led.pk]
