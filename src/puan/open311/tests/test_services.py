from __future__ import annotations

import hashlib
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from puan.cases.models import CaseKind, Channel, Risk
from puan.cases.tests.helpers import IN_GRID_A1
from puan.core.errors import InvalidInput, NotAuthenticated, NotVisible, RateLimited
from puan.core.models import RateCounter
from puan.core.ratelimit import rate_limit_hit
from puan.open311 import services
from puan.open311.attributes import Attribute, AttributeDef, attributes_for, facts_from_answers
from puan.open311.models import ClientSystem, Open311Request
from puan.open311.selectors import unit_for_address
from puan.org.models import UnitLevel
from puan.org.services import unit_create
from puan.taxonomy.models import Category

pytestmark = pytest.mark.django_db


# --- client systems and keys ----------------------------------------------------------


def test_it_issues_a_key_once_and_stores_only_its_sha256():
    client, key = services.client_system_create(name="12345 热线", contact="值班室 020-1234")
    assert key.startswith("p311_") and len(key) > 40
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert client.key_prefix == key[:12] and client.is_active
    stored = ClientSystem.objects.filter(pk=client.pk).values().get()
    assert key not in [str(v) for v in stored.values()]
    assert services.client_system_authenticate(key=key) == client


@pytest.mark.parametrize(("name", "message"), [("  ", "名称"), ("12345 热线", "已存在")])
def test_it_refuses_a_blank_or_taken_name(name, message):
    services.client_system_create(name="12345 热线")
    with pytest.raises(InvalidInput) as err:
        services.client_system_create(name=name)
    assert message in err.value.message


@pytest.mark.parametrize(("key", "message"), [(None, "未提供"), ("", "未提供"), ("p311_guess", "无效")])
def test_it_refuses_a_missing_or_unknown_key(key, message):
    with pytest.raises(NotAuthenticated) as err:
        services.client_system_authenticate(key=key)
    assert message in err.value.message and err.value.field == "api_key"


def test_it_rotates_a_key_so_the_old_one_stops_working():
    client, old = services.client_system_create(name="A")
    new = services.client_system_rotate_key(client=client)
    assert new != old
    with pytest.raises(NotAuthenticated):
        services.client_system_authenticate(key=old)
    assert services.client_system_authenticate(key=new) == client


def test_it_revokes_a_client_for_good_even_across_a_rotation():
    client, key = services.client_system_create(name="A")
    services.client_system_revoke(client=client)
    with pytest.raises(NotAuthenticated) as err:
        services.client_system_authenticate(key=key)
    assert "停用" in err.value.message
    new = services.client_system_rotate_key(client=client)
    with pytest.raises(NotAuthenticated):
        services.client_system_authenticate(key=new)


def test_it_creates_the_demo_client_idempotently_with_the_given_key():
    first = services.open311_demo_client(key="demo-open311-key-2026")
    again = services.open311_demo_client(key="demo-open311-key-2026")
    assert first.pk == again.pk and ClientSystem.objects.count() == 1
    assert first.name == "12345 市民服务热线平台"
    assert services.client_system_authenticate(key="demo-open311-key-2026") == first
    # A new demo key replaces the old one, and a revoked demo client comes back.
    services.client_system_revoke(client=first)
    changed = services.open311_demo_client(key="another-demo-key")
    assert changed.pk == first.pk and changed.revoked_at is None
    assert services.client_system_authenticate(key="another-demo-key") == first
    with pytest.raises(NotAuthenticated):
        services.client_system_authenticate(key="demo-open311-key-2026")
    with pytest.raises(InvalidInput):
        services.open311_demo_client(key="")


# --- rate limits ----------------------------------------------------------------------


def test_it_counts_requests_in_fixed_one_minute_windows():
    now = timezone.now().replace(second=10, microsecond=0)
    assert [rate_limit_hit(bucket="b", limit=3, now=now) for _ in range(3)] == [1, 2, 3]
    with pytest.raises(RateLimited) as err:
        rate_limit_hit(bucket="b", limit=3, now=now)
    assert err.value.retry_after == 50
    assert rate_limit_hit(bucket="other", limit=3, now=now) == 1
    # The next minute starts afresh, and windows nobody needs any more are swept away.
    assert rate_limit_hit(bucket="b", limit=3, now=now + timedelta(minutes=1)) == 1
    rate_limit_hit(bucket="b", limit=3, now=now + timedelta(minutes=3))
    assert not RateCounter.objects.filter(minute__lt=int((now + timedelta(minutes=2)).timestamp() // 60)).exists()


def test_it_does_not_limit_when_the_limit_is_zero():
    assert {rate_limit_hit(bucket="b", limit=0) for _ in range(5)} == {0}
    assert not RateCounter.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_holds_the_limit_exactly_under_concurrent_writers():
    """Each thread has its own database connection, as separate worker processes would."""
    allowed: list[int] = []
    refused: list[int] = []
    now = timezone.now()

    def worker():
        try:
            for _ in range(10):
                try:
                    rate_limit_hit(bucket="shared", limit=25, now=now)
                    allowed.append(1)
                except RateLimited:
                    refused.append(1)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(allowed), len(refused)) == (25, 15)
    assert RateCounter.objects.get(bucket="shared").count == 40


# --- taking requests in ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "attributes", "kind"),
    [
        ("G05-01", {"danger_to_life": ["no"]}, CaseKind.EMERGENCY),  # a fire is happening now
        ("G05-02", {"danger_to_life": ["no"]}, CaseKind.HAZARD),
        ("G15-01", {"people_involved": ["2"]}, CaseKind.DISPUTE),
        ("G16-01", {"people_involved": ["1"]}, CaseKind.PETITION),
        ("G11-01", {}, CaseKind.EVENT),
        ("G13-01", {}, CaseKind.APPEAL),
    ],
)
def test_it_takes_a_request_in_as_an_anonymous_online_report_of_the_right_kind(world, code, attributes, kind):
    client, _ = services.client_system_create(name="A")
    lon, lat = IN_GRID_A1
    result = services.request_submit(
        client=client,
        data=services.SubmitInput(service_code=code, lat=lat, long=lon, description="情况说明", attributes=attributes),
    )
    case = result.case
    assert (case.kind, case.channel, case.reporter_id) == (kind, Channel.ONLINE, None)
    assert case.title == "情况说明"
    assert Open311Request.objects.get(case=case).client == client


def test_it_titles_a_request_without_description_by_its_service(world):
    client, _ = services.client_system_create(name="A")
    lon, lat = IN_GRID_A1
    result = services.request_submit(client=client, data=services.SubmitInput(service_code="G11-01", lat=lat, long=lon))
    assert result.case.title == "占道经营"
    assert result.case.description == "占道经营（未填写描述）"


def test_it_grades_a_request_from_its_attributes(world):
    client, _ = services.client_system_create(name="A")
    lon, lat = IN_GRID_A1
    data = services.SubmitInput(
        service_code="G14-03",
        lat=lat,
        long=lon,
        description="楼道里有很重的煤气味",
        attributes={"danger_to_life": ["yes"]},
    )
    case = services.request_submit(client=client, data=data).case
    assert case.risk == Risk.RED and case.tier == 3
    assert "危及生命安全" in case.risk_reasons


def test_it_refuses_an_unknown_service_as_not_found(world):
    client, _ = services.client_system_create(name="A")
    with pytest.raises(NotVisible) as err:
        services.request_submit(client=client, data=services.SubmitInput(service_code="G02-01", lat=23.1, long=113.4))
    assert err.value.field == "service_code"


# --- attributes -----------------------------------------------------------------------


def test_it_gives_every_public_service_a_definition_with_orders_from_one(world):
    for category in Category.objects.filter(public=True).select_related("group"):
        attributes = attributes_for(category)
        assert [a.order for a in attributes] == list(range(1, len(attributes) + 1))
        assert len({a.code for a in attributes}) == len(attributes)


def test_it_validates_list_answers_against_the_defined_values():
    colours = AttributeDef("colours", "multivaluelist", "颜色", values=(("r", "红"), ("g", "绿")))
    note = AttributeDef("note", "text", "补充说明")
    attributes = [Attribute(colours, 1, False), Attribute(note, 2, False)]
    facts, cleaned = facts_from_answers(attributes, {"colours": ["r", "g"], "note": ["多行\n说明"]})
    assert facts == {} and cleaned == {"colours": ["r", "g"], "note": "多行\n说明"}
    with pytest.raises(InvalidInput) as err:
        facts_from_answers(attributes, {"colours": ["r", "b"]})
    assert err.value.field == "attribute[colours]"


# --- places ---------------------------------------------------------------------------


def test_it_places_an_address_by_the_most_specific_unit_it_names(world):
    assert unit_for_address("长洲街深井社区第02网格旁") == world.grid_a2
    assert unit_for_address("长洲街深井社区") == world.community_a
    assert unit_for_address("云埔街某路") == world.street_b
    assert unit_for_address("天河区体育西路") is None
    assert unit_for_address("") is None


def test_it_will_not_guess_between_namesakes_unless_a_street_settles_it(world):
    unit_create(code="C9", name="深井社区", level=UnitLevel.COMMUNITY, parent=world.street_b)
    assert unit_for_address("深井社区金洲北路") is None
    assert unit_for_address("云埔街深井社区金洲北路").code == "C9"
    assert unit_for_address("长洲街深井社区金洲北路") == world.community_a
