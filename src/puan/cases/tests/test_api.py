from __future__ import annotations

import json

import pytest

from puan.accounts.models import PiiAccess
from puan.cases import services as svc
from puan.cases.models import AssistTask, Case, CaseState
from puan.cases.tests.helpers import IN_GRID_A1, IN_GRID_A2, IN_GRID_B1, People, intake
from puan.core.errors import Conflict
from puan.org.models import Unit, UnitLevel

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(world):
    return People(world)


def report(**extra):
    lon, lat = extra.pop("at", IN_GRID_A1)
    return {
        "kind": "dispute",
        "channel": "patrol",
        "category": "G15-01",
        "title": "邻里纠纷",
        "description": "楼上漏水引发争吵",
        "lon": lon,
        "lat": lat,
        **extra,
    }


def test_it_creates_a_case_and_answers_with_its_timeline(api, people, world):
    response = api.login_as(people.grid_worker).post("/api/v1/cases", report())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["linked"] is False
    case = body["case"]
    assert case["state"] == "registered" and case["risk"] == "yellow" and case["tier"] == 1
    assert case["owner_unit"]["name"] == "深井社区"
    assert case["grid"]["id"] == world.grid_a1.pk
    assert [e["kind"] for e in case["timeline"]] == ["register"]
    assert case["version"] == 1


def test_it_returns_the_first_answer_for_a_retried_idempotency_key(api, people):
    api.login_as(people.grid_worker)
    headers = {"Idempotency-Key": "phone-7f3a-0001"}
    first = api.post("/api/v1/cases", report(), headers=headers)
    again = api.post("/api/v1/cases", report(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Case.objects.count() == 1
    misuse = api.post("/api/v1/cases", report(title="另一件事"), headers=headers)
    assert misuse.status_code == 422 and misuse.json()["field"] == "Idempotency-Key"
    # Another user's identical key is their own.
    other = api.login_as(people.community).post("/api/v1/cases", report(channel="window"), headers=headers)
    assert other.status_code == 200 and other.json()["linked"] is True


def test_it_says_when_a_report_was_linked_to_an_open_case(api, people):
    api.login_as(people.grid_worker)
    first = api.post("/api/v1/cases", report()).json()["case"]
    lon, lat = IN_GRID_A1
    second = api.post("/api/v1/cases", report(at=(lon + 0.0004, lat)))
    assert second.status_code == 200
    assert second.json()["linked"] is True and second.json()["case"]["id"] == first["id"]
    assert second.json()["case"]["report_count"] == 2
    assert second.json()["tracking_code"] == first["tracking_code"]


def test_it_shows_a_linked_case_only_to_those_who_may_see_it(api, people):
    lon, lat = IN_GRID_A1
    first = intake(people.grid_worker, category="G11-01", kind="event", lon_lat=(lon, lat), reporter_name="梁志明").case
    # A citizen reports the same thing 40 m away: it joins the grid worker's case, which
    # the citizen may not read.
    api.login_as(people.volunteer)
    answer = api.post("/api/v1/cases", report(kind="event", channel="app", category="G11-01", at=(lon + 0.0004, lat)))
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["linked"] is True and body["case"] is None
    assert body["tracking_code"] == first.tracking_code
    assert "梁志明" not in answer.content.decode()
    assert api.get(f"/api/v1/cases/{first.pk}").status_code == 404
    first.refresh_from_db()
    assert first.report_count == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "rumour"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"category": "NOPE"}, "category"),
        ({"description": "长" * 4001}, "description"),
        ({"title": ""}, "title"),
        ({"lon": 200}, "lon"),
        ({"at": (114.5, 24.5)}, "lon"),
        ({"lat": None}, "lat"),
        ({"reporter_phone": "12345"}, "reporter_phone"),
        ({"reporter_id_number": "110105194912310021"}, "reporter_id_number"),
        ({"facts": {"people_involved": -1}}, "facts.people_involved"),
        ({"parties": [{"role": "judge", "name": "x"}]}, "parties.0.role"),
    ],
)
def test_it_rejects_bad_input_with_422_naming_the_field(api, people, change, field):
    response = api.login_as(people.grid_worker).post("/api/v1/cases", report(**change))
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert Case.objects.count() == 0


def test_it_never_answers_500_to_garbage(api, people):
    api.login_as(people.grid_worker)
    for raw in ["", "[]", "null", '{"kind": 5}', "{" * 50, '{"lon": "east"}']:
        response = api.client.post(
            "/api/v1/cases", raw, content_type="application/json", headers={"Authorization": f"Bearer {api.token}"}
        )
        assert response.status_code in (400, 422), raw
    assert api.post("/api/v1/cases/1/actions/fly", {"version": 1}).status_code == 422
    assert api.get("/api/v1/cases", {"cursor": "%%%"}).status_code == 422
    assert api.get("/api/v1/cases", {"created_from": "yesterday"}).status_code == 422
    # Integers past what the database stores are refused up front.
    huge = 10**20
    assert api.post("/api/v1/cases", report(evidence_ids=[huge])).json()["field"] == "evidence_ids.0"
    assert api.post("/api/v1/cases", report(unit_id=huge, lon=None, lat=None)).status_code == 422
    assert api.get("/api/v1/cases", {"tier": [huge]}).status_code == 422
    assert api.post("/api/v1/cases/1/actions/add_assist", {"version": 1, "department_id": huge}).status_code == 422
    assert api.post("/api/v1/cases/1/actions/resolve", {"version": 1, "evidence_ids": [huge]}).status_code == 422


def act(api, case_id, action, **body):
    return api.post(f"/api/v1/cases/{case_id}/actions/{action}", body)


def test_it_maps_every_kind_of_refusal_to_its_status(api, people):
    case = intake(people.grid_worker).case
    api.login_as(people.community)
    assert act(api, case.pk, "accept", version=99).json()["code"] == "stale_version"
    assert act(api, case.pk, "accept", version=99).status_code == 409
    wrong_state = act(api, case.pk, "resolve", version=1, outcome="x")
    assert (wrong_state.status_code, wrong_state.json()["code"]) == (409, "wrong_state")
    assert act(api, case.pk, "reject", version=1).json()["field"] == "note"
    assert act(api, case.pk, "accept", version=1).status_code == 200
    # Another community cannot see it at all; the leader can see but not act.
    assert act(api.login_as(people.other_community), case.pk, "comment", version=2, note="x").status_code == 404
    assert act(api.login_as(people.leader), case.pk, "comment", version=2, note="x").status_code == 403
    assert act(api.login_as(people.justice), case.pk, "triage", version=2).status_code == 403
    assert api.client.get(f"/api/v1/cases/{case.pk}").status_code == 401


def test_it_scopes_cases_per_role(api, people, world):
    in_a1 = intake(people.grid_worker).case
    in_a2 = intake(people.community, lon_lat=IN_GRID_A2, channel="window", category="G11-01").case
    in_b1 = intake(people.other_community, lon_lat=IN_GRID_B1, channel="window").case
    citizen = intake(people.volunteer, lon_lat=IN_GRID_B1, channel="app", category="G11-01").case
    red = intake(
        people.grid_worker, category="G11-01", facts={"danger_to_life": True}, lon_lat=(113.4055, 23.1055)
    ).case
    expected = {
        people.grid_worker: {in_a1, red},
        people.community: {in_a1, in_a2, red},
        people.other_community: {in_b1, citizen},
        people.street: {in_a1, in_a2, red},
        people.other_street: {in_b1, citizen},
        people.dispatcher: {in_a1, in_a2, in_b1, citizen, red},
        people.leader: {in_a1, in_a2, in_b1, citizen, red},
        people.justice: {in_a1, in_b1},  # lead department of 邻里纠纷
        people.police: set(),
        people.volunteer: {citizen},
    }
    all_cases = {in_a1, in_a2, in_b1, citizen, red}
    for user, visible in expected.items():
        api.login_as(user)
        listed = {c["id"] for c in api.get("/api/v1/cases", {"limit": 200}).json()["items"]}
        assert listed == {c.pk for c in visible}, user.username
        for case in all_cases:
            status = api.get(f"/api/v1/cases/{case.pk}").status_code
            assert status == (200 if case in visible else 404), (user.username, case.title)


def test_it_lets_an_assisting_department_see_and_close_its_task(api, people, world):
    case = intake(people.grid_worker, facts={"people_involved": 8}).case  # orange → street
    api.login_as(people.police)
    assert api.get(f"/api/v1/cases/{case.pk}").status_code == 404
    api.login_as(people.street)
    for action in ("accept", "triage"):
        case.refresh_from_db()
        assert act(api, case.pk, action, version=case.version).status_code == 200
    case.refresh_from_db()
    body = act(
        api,
        case.pk,
        "assign",
        version=case.version,
        assists=[{"department_id": world.police.pk, "task": "到场维持秩序"}],
    ).json()
    task_id = body["assists"][0]["id"]
    api.login_as(people.police)
    detail = api.get(f"/api/v1/cases/{case.pk}").json()
    assert "close_assist" in detail["allowed_actions"]
    done = act(api, case.pk, "close_assist", version=detail["version"], task_id=task_id, status="done", note="已到场")
    assert done.status_code == 200 and done.json()["assists"][0]["status"] == "done"


def test_it_pages_with_a_cursor_and_filters(api, people):
    for i in range(7):
        intake(people.community, channel="window", lon_lat=(113.401 + i * 0.0012, 23.1015), title=f"事项{i}")
    intake(people.community, channel="window", category="G11-01", facts={"injury": True}, lon_lat=IN_GRID_A2)
    api.login_as(people.community)
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/cases", params).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 8
    assert seen == sorted(seen, reverse=True)
    assert [c["risk"] for c in api.get("/api/v1/cases", {"risk": "orange"}).json()["items"]] == ["orange"]
    assert len(api.get("/api/v1/cases", {"text": "事项3"}).json()["items"]) == 1
    assert len(api.get("/api/v1/cases", {"category": "G15"}).json()["items"]) == 7
    assert len(api.get("/api/v1/cases", {"state": ["registered", "accepted"], "tier": [1]}).json()["items"]) == 7


def test_it_orders_the_queue_escalated_then_colour_then_deadline(api, people, world):
    yellow = intake(people.grid_worker, category="G11-01", lon_lat=(113.401, 23.101)).case
    urgent_yellow = intake(people.grid_worker, category="G11-05", lon_lat=(113.402, 23.102)).case  # 24 h lane
    orange = intake(people.grid_worker, category="G11-01", facts={"public_place": True}, lon_lat=(113.403, 23.103)).case
    red = intake(people.grid_worker, category="G11-01", facts={"danger_to_life": True}, lon_lat=(113.404, 23.104)).case
    escalated = intake(people.grid_worker, category="G15-01", lon_lat=(113.405, 23.105)).case
    escalated = svc.case_accept(case=escalated, actor=people.community, version=1)
    svc.case_escalate(case=escalated, actor=people.community, version=escalated.version, note="需要街道会诊")
    body = api.login_as(people.dispatcher).get("/api/v1/cases/queue").json()
    assert [c["id"] for c in body["items"]] == [red.pk]  # the district owns only the red case
    body = api.login_as(people.street).get("/api/v1/cases/queue").json()
    assert [c["id"] for c in body["items"]][:2] == [escalated.pk, orange.pk]
    assert body["counts"]["escalated"] == 1 and body["counts"]["registered"] == 1
    assert body["total"] == 2
    body = api.login_as(people.community).get("/api/v1/cases/queue").json()
    assert [c["id"] for c in body["items"]] == [urgent_yellow.pk, yellow.pk]
    assert body["total"] == 2


def test_it_masks_reporter_data_and_audits_reveals(api, people):
    case = intake(
        people.community,
        channel="window",
        reporter_name="王芳",
        reporter_phone="13812345678",
        reporter_id_number="11010519491231002X",
    ).case
    masked = api.login_as(people.grid_worker).get(f"/api/v1/cases/{case.pk}").json()
    assert masked["reporter_phone"] == "138****5678" and masked["reporter_id_number"] == "110***********002X"
    assert api.get(f"/api/v1/cases/{case.pk}", {"reveal": "true"}).status_code == 403
    clear = api.login_as(people.community).get(f"/api/v1/cases/{case.pk}", {"reveal": "true"}).json()
    assert clear["reporter_phone"] == "13812345678"
    assert PiiAccess.objects.filter(subject_type="case", subject_id=str(case.pk), user=people.community).count() == 1


def test_it_types_uploads_by_content_and_limits_their_size(api, people, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    api.login_as(people.grid_worker)
    headers = {"Authorization": f"Bearer {api.token}"}
    png = SimpleUploadedFile("photo.jpg", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, content_type="image/jpeg")
    response = api.client.post("/api/v1/attachments", {"file": png}, headers=headers)
    assert response.status_code == 201 and response.json()["content_type"] == "image/png"
    exe = SimpleUploadedFile("photo.png", b"MZ\x90\x00" + b"\0" * 64, content_type="image/png")
    refused = api.client.post("/api/v1/attachments", {"file": exe}, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "file"
    settings.PUAN_MAX_UPLOAD_MB = 1
    big = SimpleUploadedFile("big.png", b"\x89PNG\r\n\x1a\n" + b"\0" * (1024 * 1024 + 10))
    assert api.client.post("/api/v1/attachments", {"file": big}, headers=headers).status_code == 422
    attachment_id = response.json()["id"]
    assert api.get(f"/api/v1/attachments/{attachment_id}").status_code == 200
    assert api.login_as(people.community).get(f"/api/v1/attachments/{attachment_id}").status_code == 404


def test_it_publishes_an_openapi_document_with_every_action(api, db):
    doc = api.client.get("/api/v1/openapi.json").json()
    assert "/api/v1/cases" in doc["paths"]
    action_path = doc["paths"]["/api/v1/cases/{case_id}/actions/{action}"]["post"]
    schema = next(p for p in action_path["parameters"] if p["name"] == "action")["schema"]
    enum = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]["enum"] if "$ref" in schema else schema["enum"]
    assert {
        "accept",
        "reject",
        "triage",
        "assign",
        "start",
        "escalate",
        "return",
        "resolve",
        "verify",
        "rate",
        "reopen",
        "close",
        "add_assist",
        "close_assist",
        "override_risk",
        "comment",
    } <= set(enum)
    case_in = doc["components"]["schemas"]["CaseIn"]["properties"]
    assert all("description" in case_in[f] for f in ("kind", "channel", "category", "description", "lon"))
    # Every field of every schema the case endpoints take or give is described (a field
    # that is another schema is described there).
    schemas, names = doc["components"]["schemas"], set()

    def refs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and value.split("/")[-1] not in names:
                    names.add(value.split("/")[-1])
                    refs(schemas[value.split("/")[-1]])
                else:
                    refs(value)
        elif isinstance(node, list):
            for value in node:
                refs(value)

    refs({path: item for path, item in doc["paths"].items() if path.startswith("/api/v1/cases")})
    assert {"CaseIn", "CaseDetail", "ActionIn", "CasePage"} <= names
    undescribed = [
        f"{name}.{field}"
        for name in sorted(names)
        for field, prop in schemas[name].get("properties", {}).items()
        if "description" not in prop and "$ref" not in prop and "allOf" not in prop
    ]
    assert undescribed == []


def test_it_walks_the_loop_through_the_api(api, people):
    case_id = api.login_as(people.grid_worker).post("/api/v1/cases", report()).json()["case"]["id"]

    def step(user, action, **body):
        version = Case.objects.get(pk=case_id).version
        response = act(api.login_as(user), case_id, action, version=version, **body)
        assert response.status_code == 200, (action, response.content)
        return response.json()

    step(people.community, "accept")
    step(people.community, "triage")
    step(people.community, "assign")
    step(people.community, "start")
    step(people.community, "resolve", outcome="已调解")
    step(people.dispatcher, "verify")
    step(people.grid_worker, "rate", satisfaction=4)
    final = step(people.dispatcher, "close")
    assert final["state"] == CaseState.CLOSED
    assert [e["kind"] for e in final["timeline"]][-3:] == ["verify", "rate", "close"]
    assert final["allowed_actions"] == ["reopen"]


def test_it_answers_intake_with_the_case_exactly_as_reading_it_shows(api, people):
    from puan.cases.schemas import IntakeOut

    api.login_as(people.grid_worker)
    elsewhere_in_a1 = (113.408, 23.108)  # some 400 m from IN_GRID_A1: not the same place
    reports = [
        # Red: on the clock, straight to the district with an alert.
        report(facts={"danger_to_life": True}),
        # Yellow: deadlines in working time, computed in local time.
        report(at=elsewhere_in_a1, reporter_phone="13800138000"),
        # The same again: linked to the open case (200).
        report(at=elsewhere_in_a1, reporter_phone="13800138000"),
        # With parties, by a reporter with an earlier case.
        report(
            at=(113.401, 23.101),
            reporter_phone="13800138000",
            parties=[
                {"role": "applicant", "name": "王伟", "phone": "13900139000"},
                {"role": "respondent", "name": "李娜", "id_number": "11010519491231002X"},
            ],
        ),
    ]
    answers = []
    for body in reports:
        answer = api.post("/api/v1/cases", body)
        assert answer.status_code in (200, 201), answer.content
        answer = answer.json()
        # Exactly what the schema would have written, and exactly what reading the case
        # shows: the answer was built from what intake wrote, without reading it back.
        assert answer == IntakeOut.model_validate(answer).model_dump(mode="json")
        shown = api.get(f"/api/v1/cases/{answer['case']['id']}").json()
        # The clock runs on between the two (on a working day, or on the clock): the time
        # left may have crossed a second.
        assert 0 <= answer["case"].pop("remaining_seconds") - shown.pop("remaining_seconds") <= 1
        assert answer["case"] == shown
        assert answer["case"]["resolve_due_at"].endswith("Z")
        answers.append(answer)
    assert [a["linked"] for a in answers] == [False, False, True, False]
    assert answers[0]["case"]["risk"] == "red"
    assert answers[0]["case"]["timeline"][0]["actor_unit"] == "深井社区第01网格"
    assert answers[2]["case"]["report_count"] == 2 and answers[3]["earlier_reports"] == 1
    parties = answers[3]["case"]["parties"]
    assert [p["name"] for p in parties] == ["王伟", "李娜"]
    assert "13900139000" not in str(parties) and "11010519491231002X" not in str(parties)  # masked


def test_it_replays_a_retry_without_re_examining_the_report(api, people, world):
    from puan.core.cache import invalidate_all
    from puan.taxonomy.models import Category

    api.login_as(people.grid_worker)
    headers = {"Idempotency-Key": "phone-7f3a-0002"}
    first = api.post("/api/v1/cases", report(), headers=headers)
    # The category is switched off meanwhile: a fresh report would be refused, the retry is not.
    Category.objects.filter(code="G15-01").update(is_active=False)
    invalidate_all()  # `update` sends no signal: forget this process's copy of the categories
    again = api.post("/api/v1/cases", report(), headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and Case.objects.count() == 1


def test_it_keeps_when_a_report_queued_offline_was_seen(api, people):
    from datetime import timedelta

    from django.utils import timezone

    api.login_as(people.grid_worker)
    seen = (timezone.now() - timedelta(hours=3)).replace(microsecond=0)
    created = api.post("/api/v1/cases", report(observed_at=seen.isoformat()))
    assert created.status_code == 201, created.content
    case = Case.objects.get()
    assert case.observed_at == seen and case.created_at > seen + timedelta(hours=2)
    body = created.json()["case"]
    assert body["timeline"][0]["data"]["observed_at"] == seen.isoformat()
    # Deadlines run from registration, not from the moment it was seen.
    assert case.sla_started_at == case.created_at
    # A phone clock ahead of time, a queue too old, a time without a zone (local time).
    ahead = api.post(
        "/api/v1/cases", report(title="另一件", observed_at=(timezone.now() + timedelta(hours=1)).isoformat())
    )
    assert ahead.status_code == 422 and ahead.json()["field"] == "observed_at"
    stale = api.post(
        "/api/v1/cases", report(title="再一件", observed_at=(timezone.now() - timedelta(days=8)).isoformat())
    )
    assert stale.status_code == 422 and stale.json()["field"] == "observed_at"
    local = (timezone.localtime() - timedelta(minutes=40)).replace(tzinfo=None, microsecond=0)
    naive = api.post("/api/v1/cases", report(title="第三件", at=IN_GRID_B1, observed_at=local.isoformat()))
    assert naive.status_code == 201, naive.content
    assert Case.objects.get(title="第三件").observed_at == timezone.make_aware(local)


def test_it_shows_a_volunteer_the_progress_of_their_report_without_other_peoples_words(api, people):
    lon, lat = IN_GRID_A1
    mine = intake(people.volunteer, category="G11-01", kind="event", channel="app", lon_lat=(lon, lat)).case
    other = intake(
        None,
        category="G11-01",
        kind="event",
        channel="online",
        lon_lat=(lon + 0.0004, lat),
        reporter_name="赵六",
        reporter_phone="13900001111",
        description="我是赵六，住3栋502，摊贩天天堵我家门口",
    )
    assert other.linked and other.case.pk == mine.pk
    case = svc.case_accept(case=Case.objects.get(pk=mine.pk), actor=people.community, version=mine.version + 1)
    svc.case_comment(case=case, actor=people.community, version=case.version, note="内部：摊主王五有前科")
    body = api.login_as(people.volunteer).get(f"/api/v1/cases/{mine.pk}").json()
    text = json.dumps(body, ensure_ascii=False)
    assert body["parties"] == [] and "赵六" not in text and "1111" not in text and "住3栋502" not in text
    assert "王五" not in text
    assert [step["kind"] for step in body["timeline"]] == ["register", "duplicate_report", "accept", "comment"]
    # Staff see it all, masked as their role requires.
    staff = json.dumps(api.login_as(people.community).get(f"/api/v1/cases/{mine.pk}").json(), ensure_ascii=False)
    assert "赵六" in staff and "王五" in staff


def test_it_keeps_assisting_departments_to_streets_and_apart_from_the_lead(api, people, world):
    case = intake(people.grid_worker, facts={"people_involved": 8}).case  # orange: the street
    case = svc.case_accept(case=case, actor=people.street, version=case.version)
    case = svc.case_triage(case=case, actor=people.street, version=case.version)
    api.login_as(people.street)
    police, justice = world.police.pk, world.justice.pk

    def assign(**body):
        return api.post(f"/api/v1/cases/{case.pk}/actions/assign", {"version": case.version, **body})

    # Errors name the field as the request does.
    twice = assign(assists=[{"department_id": police, "task": "维持秩序"}, {"department_id": police, "task": "调查"}])
    assert (twice.status_code, twice.json()["field"]) == (422, "assists.1.department_id")
    other = Unit.objects.filter(level=UnitLevel.DEPARTMENT).exclude(pk__in=[police, justice]).first().pk
    blank = assign(assists=[{"department_id": police, "task": "维持秩序"}, {"department_id": other, "task": " "}])
    assert (blank.status_code, blank.json()["field"]) == (422, "assists.1.task")
    not_a_department = assign(assists=[{"department_id": world.street_a.pk, "task": "协助"}])
    assert (not_a_department.status_code, not_a_department.json()["field"]) == (422, "assists.0.department_id")
    assert not AssistTask.objects.exists() and Case.objects.get(pk=case.pk).version == case.version
    done = assign(assists=[{"department_id": police, "task": "到场维持秩序"}])
    assert done.status_code == 200
    case = Case.objects.get(pk=case.pk)
    # The department assisting cannot also lead.
    case = svc.case_escalate(case=case, actor=people.street, version=case.version, note="需区里协调")
    api.login_as(people.dispatcher)
    lead = assign(lead_department_id=police)
    assert (lead.status_code, lead.json()["field"]) == (422, "lead_department_id")


def test_it_returns_no_case_to_the_community_with_an_assisting_task_open(people, world):
    case = intake(people.grid_worker, category="G11-01", kind="event").case
    case = svc.case_accept(case=case, actor=people.community, version=case.version)
    case = svc.case_escalate(case=case, actor=people.community, version=case.version, note="需街道协调")
    case = svc.case_assign(case=case, actor=people.street, version=case.version, assists=[(world.police.pk, "到场")])
    with pytest.raises(Conflict) as err:
        svc.case_return(case=case, actor=people.street, version=case.version, note="社区继续办理")
    assert err.value.code == "assists_open"
    assert Case.objects.get(pk=case.pk).tier == 2


def test_it_filters_the_list_by_state_unit_kind_channel_and_creation_time(api, people, world):
    from datetime import timedelta

    from django.utils import timezone

    disputes = [intake(people.grid_worker, lon_lat=(113.401 + i * 0.003, 23.1015)).case for i in range(2)]
    accepted = svc.case_accept(case=disputes[0], actor=people.community, version=disputes[0].version)
    hazard = intake(people.community, channel="hotline", kind="hazard", category="G11-01", lon_lat=IN_GRID_A2).case
    elsewhere = intake(people.grid_worker, lon_lat=IN_GRID_B1).case
    Case.objects.filter(pk=disputes[1].pk).update(created_at=timezone.now() - timedelta(days=10))
    api.login_as(people.dispatcher)

    def ids(**params) -> set[int]:
        response = api.get("/api/v1/cases", params)
        assert response.status_code == 200, response.content
        return {c["id"] for c in response.json()["items"]}

    assert ids() == {accepted.pk, disputes[1].pk, hazard.pk, elsewhere.pk}
    assert ids(state="accepted") == {accepted.pk}
    assert ids(state=["accepted", "registered"]) == {accepted.pk, disputes[1].pk, hazard.pk, elsewhere.pk}
    assert ids(unit=world.community_b.pk) == {elsewhere.pk}
    assert ids(unit=world.grid_a2.pk) == {hazard.pk}
    assert ids(kind="hazard") == {hazard.pk}
    assert ids(channel="hotline") == {hazard.pk}
    week_ago = (timezone.now() - timedelta(days=7)).isoformat()
    assert ids(created_to=week_ago) == {disputes[1].pk}
    assert disputes[1].pk not in ids(created_from=week_ago)


def test_it_orders_a_queue_of_every_colour_red_then_orange_then_yellow(api, people):
    from datetime import timedelta

    from django.utils import timezone

    # Cases of a category the district takes first, so that one queue holds all three colours;
    # the deadlines run against the colours, so only the colour can put red first.
    yellow = intake(people.grid_worker, category="G02-01", lon_lat=(113.401, 23.101)).case
    orange = intake(people.grid_worker, category="G02-01", facts={"public_place": True}, lon_lat=(113.404, 23.104)).case
    red = intake(people.grid_worker, category="G02-01", facts={"danger_to_life": True}, lon_lat=(113.408, 23.108)).case
    soon = timezone.now() + timedelta(hours=1)
    for hours, case in enumerate((yellow, orange, red)):
        Case.objects.filter(pk=case.pk).update(resolve_due_at=soon + timedelta(hours=hours))
    body = api.login_as(people.dispatcher).get("/api/v1/cases/queue").json()
    assert [c["id"] for c in body["items"]] == [red.pk, orange.pk, yellow.pk]


def test_it_wires_each_remaining_action_to_its_move(api, people, world):
    """The loop test walks the main line; these are the actions it does not pass, each made
    over HTTP and checked on the case it answers with."""
    case = intake(people.grid_worker).case

    def act(user, action, **body):
        current = Case.objects.get(pk=case.pk)
        response = api.login_as(user).post(
            f"/api/v1/cases/{case.pk}/actions/{action}", {"version": current.version, **body}
        )
        assert response.status_code == 200, (action, response.content)
        return response.json()

    answer = act(people.community, "comment", note="已电话联系双方")
    assert answer["timeline"][-1]["kind"] == "comment" and answer["timeline"][-1]["note"] == "已电话联系双方"
    answer = act(people.dispatcher, "override_risk", risk="orange", note="当事人情绪激动")
    assert answer["risk"] == "orange" and answer["tier"] == 2  # orange belongs with the street
    answer = act(people.street, "accept")
    answer = act(people.street, "add_assist", department_id=world.police.pk, task="派民警到场")
    assert [a["department"]["id"] for a in answer["assists"]] == [world.police.pk]
    task = answer["assists"][0]["id"]
    answer = act(people.police, "close_assist", task_id=task, status="done", note="已到场")
    assert answer["assists"][0]["status"] == "done"
    answer = act(people.dispatcher, "override_risk", risk="yellow", note="经核实风险可控")
    act(people.street, "triage")
    answer = act(people.street, "return", note="社区先行调解")
    assert (answer["state"], answer["tier"]) == ("returned", 1)
    for action in ("assign", "start"):
        act(people.community, action)
    act(people.community, "resolve", outcome="已调解")
    act(people.street, "verify")
    answer = act(people.grid_worker, "reopen", note="问题又出现了")
    assert answer["state"] == "reopened"
