"""Every write to a case. Each move is one function: permission check, compare-and-set on
the version (a stale version is a 409), a timeline event in the same transaction, side
effects after commit."""

from __future__ import annotations

import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, router, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from puan.accounts.models import User
from puan.accounts.roles import Role
from puan.accounts.selectors import is_read_only
from puan.cases.deadlines import plan_for_case
from puan.cases.models import (
    OPEN_STATES,
    RISK_RANK,
    AssistStatus,
    AssistTask,
    Attachment,
    Case,
    CaseEvent,
    CaseKind,
    CaseParty,
    CaseState,
    Channel,
    CommandAlert,
    PartyRole,
    Risk,
)
from puan.cases.risk import active_rules, clean_facts, grade
from puan.cases.routing import MIN_TIER_FOR_RISK, lane_for_risk, route, unit_at_tier
from puan.cases.selectors import case_with_units
from puan.cases.transitions import MOVES, Who, actor_relations, grades_own_work, returns_below_colour
from puan.core.device_time import device_time
from puan.core.errors import ConcurrentChange, Conflict, InvalidInput, NotAllowed
from puan.core.pii import blind_index, is_valid_id_number, is_valid_phone
from puan.core.statements import OneRowInsert, db_timestamp, new_row, update_columns
from puan.org import geo
from puan.org.models import Unit, UnitLevel
from puan.org.selectors import area_units
from puan.sla.engine import plan_for
from puan.taxonomy.models import Category, Lane, Tier
from puan.taxonomy.selectors import category_by_code

log = logging.getLogger(__name__)

STATE_TIMESTAMP = {
    CaseState.ACCEPTED: "accepted_at",
    CaseState.REJECTED: "rejected_at",
    CaseState.TRIAGED: "triaged_at",
    CaseState.ASSIGNED: "assigned_at",
    CaseState.IN_PROGRESS: "started_at",
    CaseState.ESCALATED: "escalated_at",
    CaseState.RETURNED: "returned_at",
    CaseState.RESOLVED: "resolved_at",
    CaseState.VERIFIED: "verified_at",
    CaseState.RATED: "rated_at",
    CaseState.CLOSED: "closed_at",
    CaseState.REOPENED: "reopened_at",
}
REOPEN_WINDOW = timedelta(days=15)
UNSATISFIED_AT_MOST = 2
CITIZEN_CHANNELS = {Channel.APP, Channel.ONLINE}
_TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # 32 characters: 5 random bits each
_KINDS = frozenset(CaseKind.values)
_CHANNELS = frozenset(Channel.values)
# Every report writes a case (some sixty columns) and its first timeline: the INSERTs are
# built once.
_insert_case = OneRowInsert(Case)
_insert_party = OneRowInsert(CaseParty)
_insert_alert = OneRowInsert(CommandAlert)


def duplicate_radius_m() -> float:
    return float(getattr(settings, "PUAN_DUPLICATE_RADIUS_M", 100))


def duplicate_window() -> timedelta:
    return timedelta(hours=getattr(settings, "PUAN_DUPLICATE_WINDOW_HOURS", 72))


def new_tracking_code(now: datetime) -> str:
    """HP + date + 6 random characters: short enough to read out on the phone, random
    enough that nobody can guess another person's case."""
    if now.tzinfo is None:
        raise ValueError("new_tracking_code takes an aware time")
    local = now.astimezone(timezone.get_default_timezone())  # the district's date
    bits = secrets.randbits(5 * 6)  # one draw for the six characters
    date = f"{local.year % 100:02d}{local.month:02d}{local.day:02d}"
    return "HP" + date + "".join(_TRACKING_ALPHABET[(bits >> (5 * i)) & 31] for i in range(6))


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine), in metres."""
    r = 6_371_000.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


# --- intake ---------------------------------------------------------------------------


@dataclass
class PartyInput:
    role: str
    name: str
    phone: str = ""
    id_number: str = ""

    def row(self, case: Case) -> CaseParty:
        """The party of `case`: PII encrypted on save, with its blind indexes."""
        return new_row(
            CaseParty,
            case=case,
            role=self.role,
            name=self.name.strip()[:100],
            phone=self.phone,
            phone_index=blind_index("phone", self.phone),
            id_number=self.id_number,
            id_index=blind_index("id_number", self.id_number),
        )


@dataclass
class IntakeInput:
    kind: str
    channel: str
    category_code: str
    title: str
    description: str
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    unit_id: int | None = None
    facts: dict = field(default_factory=dict)
    reporter_name: str = ""
    reporter_phone: str = ""
    reporter_id_number: str = ""
    parties: list[PartyInput] = field(default_factory=list)
    handled_on_spot: bool = False
    outcome: str = ""
    evidence_ids: list[int] = field(default_factory=list)
    # When the reporter saw it, if earlier than now (a report queued offline).
    observed_at: datetime | None = None


@dataclass
class IntakeResult:
    case: Case
    linked: bool  # True: the report was linked to an existing open case
    similar_earlier: int = 0  # earlier cases of the same reporter
    # The timeline and parties intake wrote for a new case (empty for a linked report), so
    # the answer need not read them back.
    events: list[CaseEvent] = field(default_factory=list)
    parties: list[CaseParty] = field(default_factory=list)


@dataclass
class IntakePlan:
    """Everything intake decides from reads alone, down to the rows it will write and their
    values as the database takes them: made before the write transaction, so that the
    transaction (on SQLite, the database's one write lock) holds only the duplicate check
    and the inserts."""

    actor: object
    data: IntakeInput
    earlier: int
    case: Case  # not yet written: its `created_at` is intake's moment, its `category` the report's
    case_values: list
    # Rows that point at the case, written after it: the first timeline (register, and
    # resolve for a matter handled on the spot), the parties and a red case's alert.
    events: list[tuple[CaseEvent, list]]
    parties: list[tuple[CaseParty, list]]
    alert: tuple[CommandAlert, list] | None


def _validate_intake(actor, data: IntakeInput) -> Category:
    if actor is not None and is_read_only(actor):
        raise NotAllowed("当前角色为只读，不能登记案件。")
    if data.kind not in _KINDS:
        raise InvalidInput("案件类型无效。", field="kind")
    if data.channel not in _CHANNELS:
        raise InvalidInput("来源渠道无效。", field="channel")
    category = category_by_code(data.category_code)
    if category is None or not category.is_active:
        raise InvalidInput("事项分类不存在或已停用。", field="category")
    citizen = actor is None or actor.unit_id is None or set(actor.role_codes) <= {Role.VOLUNTEER}
    if citizen and not category.public:
        raise InvalidInput("该事项分类不接受群众直接上报。", field="category")
    if citizen and data.channel not in CITIZEN_CHANNELS:
        raise InvalidInput("群众上报只能通过App或网上渠道。", field="channel")
    if not data.title.strip():
        raise InvalidInput("请填写标题。", field="title")
    if not data.description.strip():
        raise InvalidInput("请填写事项描述。", field="description")
    if len(data.description) > 4000:
        raise InvalidInput("事项描述不能超过4000字。", field="description")
    if data.reporter_phone and not is_valid_phone(data.reporter_phone):
        raise InvalidInput("反映人电话格式不正确。", field="reporter_phone")
    if data.reporter_id_number and not is_valid_id_number(data.reporter_id_number):
        raise InvalidInput("反映人身份证号码格式或校验位不正确。", field="reporter_id_number")
    for i, party in enumerate(data.parties):
        if party.phone and not is_valid_phone(party.phone):
            raise InvalidInput("当事人电话格式不正确。", field=f"parties.{i}.phone")
        if party.id_number and not is_valid_id_number(party.id_number):
            raise InvalidInput("当事人身份证号码格式或校验位不正确。", field=f"parties.{i}.id_number")
    if (data.lon is None) != (data.lat is None):
        raise InvalidInput("经度和纬度须同时提供。", field="lat" if data.lat is None else "lon")
    if data.handled_on_spot:
        if actor is None or Role.GRID_WORKER not in actor.role_codes:
            raise NotAllowed("只有网格员可以现场处置。")
        if not data.outcome.strip():
            raise InvalidInput("现场处置须填写处置结果。", field="outcome")
        if not data.evidence_ids:
            raise InvalidInput("现场处置须上传至少一张现场照片或凭证。", field="evidence_ids")
    return category


# `from_db` takes the columns in the model's order.
_GRID_COLUMNS = [f.attname for f in Unit._meta.concrete_fields if f.attname in ("id", "name", "path")]


def _resolve_place(actor, data: IntakeInput) -> tuple[Unit | None, str]:
    """(grid or None, area path) for the case, or a 422 that says what is wrong."""
    if data.lon is not None:
        hit = geo.locate(data.lon, data.lat)
        if hit is None:
            raise InvalidInput("该位置不在本区网格范围内，请核对经纬度。", field="lon")
        # The grid as a read of its id, name and path alone would give it (the rest deferred).
        known = {"id": hit.grid_id, "name": hit.grid_name, "path": hit.path}
        grid = Unit.from_db(router.db_for_read(Unit), _GRID_COLUMNS, [known[name] for name in _GRID_COLUMNS])
        return grid, hit.path
    if data.unit_id is not None:
        unit = Unit.objects.defer("boundary").filter(pk=data.unit_id, is_active=True).first()
        if unit is None or unit.level not in (UnitLevel.COMMUNITY, UnitLevel.GRID):
            # A case belongs to a community at least: that is where first diagnosis happens.
            raise InvalidInput("请选择案件所在的社区/村或网格。", field="unit_id")
        return (unit if unit.level == UnitLevel.GRID else None), unit.path
    raise InvalidInput("请提供位置（经纬度）或所属社区/网格。", field="lon")


# Intake's one read inside the write transaction, on every report: written out once in SQL
# (the ORM would rebuild the same statement for each report). It uses case_category_place.
_DUPLICATE_SQL = (
    f"SELECT id, lon, lat FROM {Case._meta.db_table}"
    f" WHERE category_id = %s AND state IN ({', '.join(['%s'] * len(OPEN_STATES))})"
    " AND created_at >= %s AND lon BETWEEN %s AND %s AND lat BETWEEN %s AND %s"
    " ORDER BY created_at, id"
)
_OPEN_STATE_VALUES = [state.value for state in OPEN_STATES]


# On PostgreSQL, reports of one category take turns between their duplicate check and
# their insert: without it, two reports of one thing arriving together would each find no
# open case and open two. (SQLite's IMMEDIATE transaction already holds the database's one
# write lock.) The lock is the transaction's own, released at its end. Intake takes it and
# reads the candidates in one call of `cases_duplicate_candidates` (migration 0010), whose
# query starts after the lock is held: it sees a case the other report has just committed.
_INTAKE_LOCK_CLASS = 0x5055  # the first of the two keys of PostgreSQL's advisory locks
# The rows in the function's order (earliest first), which a plain call does not promise.
_TAKE_TURN_AND_FIND_SQL = (
    "SELECT id, lon, lat FROM cases_duplicate_candidates(%s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " WITH ORDINALITY AS found (id, lon, lat, n) ORDER BY n"
)


def _find_duplicate(
    category_id: int, lon: float | None, lat: float | None, now: datetime, *, take_turn: bool = False
) -> int | None:
    """The id of the earliest open case of this category reported within the duplicate
    window and radius of the point, if any. With `take_turn` (intake, inside its
    transaction), reports of the category wait for each other from here to their commit."""
    if lon is None:
        return None
    radius = duplicate_radius_m()
    dlat = radius / 111_320.0
    dlon = radius / (111_320.0 * max(math.cos(math.radians(lat)), 0.01))
    since = db_timestamp(now - duplicate_window(), connection)
    box = [lon - dlon, lon + dlon, lat - dlat, lat + dlat]
    with connection.cursor() as cursor:
        if take_turn and connection.vendor == "postgresql":
            lock = [_INTAKE_LOCK_CLASS, category_id % 2**31]
            cursor.execute(_TAKE_TURN_AND_FIND_SQL, [*lock, category_id, _OPEN_STATE_VALUES, since, *box])
        else:
            cursor.execute(_DUPLICATE_SQL, [category_id, *_OPEN_STATE_VALUES, since, *box])
        for pk, c_lon, c_lat in cursor.fetchall():
            if distance_m(lon, lat, c_lon, c_lat) <= radius:
                return pk
    return None


def duplicate_target(*, category_code: str, lon: float, lat: float, now: datetime | None = None) -> int | None:
    """The open case a report of this category at this point would be joined to now (the
    rule intake applies), if any. For the intake form's warning; intake itself decides
    again inside its transaction."""
    category = category_by_code(category_code)
    if category is None:
        return None
    return _find_duplicate(category.pk, lon, lat, now or timezone.now())


# Intake counts a reporter's earlier cases of the category whenever a phone or an ID
# number comes with the report: the cases they reported, and those their reports joined
# (where they are a party as 反映人). Also written once. The `> ''` terms name the
# condition of the blind indexes' partial indexes, so that both databases know they may use them.
_EARLIER_SQL = {
    column: (
        f"SELECT COUNT(*) FROM (SELECT id FROM {Case._meta.db_table}"
        f" WHERE reporter_{column} = %s AND reporter_{column} > '' AND category_id = %s"
        f" UNION SELECT p.case_id FROM {CaseParty._meta.db_table} p JOIN {Case._meta.db_table} c ON c.id = p.case_id"
        f" WHERE p.{column} = %s AND p.{column} > '' AND p.role = '{PartyRole.REPORTER}' AND c.category_id = %s)"
        " AS earlier"
    )
    for column in ("id_index", "phone_index")
}


def _earlier_cases_of_reporter(phone_index: str, id_index: str, category: Category) -> int:
    if not phone_index and not id_index:
        return 0
    column, value = ("id_index", id_index) if id_index else ("phone_index", phone_index)
    with connection.cursor() as cursor:
        cursor.execute(_EARLIER_SQL[column], [value, category.pk, value, category.pk])
        return cursor.fetchone()[0]


def intake_prepare(*, actor, data: IntakeInput, now: datetime | None = None) -> IntakePlan:
    """Validate, locate, grade, route and set the deadlines of a report: reads only, so it
    runs before the write transaction. Raises InvalidInput/NotAllowed for bad reports."""
    now = now or timezone.now()
    category = _validate_intake(actor, data)
    observed_at = None
    if data.observed_at is not None:
        seen = device_time(data.observed_at, now=now, field="observed_at", what="发现时间")
        observed_at = seen if seen < now else None  # "now" or a clock a little ahead: no gap to show
    grid, area_path = _resolve_place(actor, data)
    phone_index = blind_index("phone", data.reporter_phone)
    id_index = blind_index("id_number", data.reporter_id_number)
    earlier = _earlier_cases_of_reporter(phone_index, id_index, category)
    facts = clean_facts(data.facts)
    if earlier:
        facts["repeat_reports"] = max(facts.get("repeat_reports", 0), earlier)
    graded = grade(facts, active_rules())
    if data.handled_on_spot and graded.colour != Risk.YELLOW:
        raise InvalidInput("红色、橙色事项不能现场处置，请正常上报。", field="handled_on_spot")
    way = route(category, graded.colour)
    units = area_units(area_path)
    owner = unit_at_tier(area_path, way.tier)
    sla_fields = plan_for(lane=way.lane, tier=way.tier, risk=graded.colour, kind=data.kind, start=now).case_fields()
    if data.handled_on_spot:
        sla_fields["next_sla_at"] = None
    else:
        sla_fields = _with_response_look(sla_fields, CaseState.REGISTERED)
    on_spot = data.handled_on_spot
    case = new_row(
        Case,
        tracking_code=new_tracking_code(now),
        kind=data.kind,
        channel=data.channel,
        category=category,
        title=data.title.strip()[:200],
        description=data.description.strip(),
        lon=data.lon,
        lat=data.lat,
        address=data.address.strip()[:300],
        grid=grid,
        community=next((u for u in units.values() if u.level == UnitLevel.COMMUNITY), None),
        street=next((u for u in units.values() if u.level == UnitLevel.STREET), None),
        area_path=area_path,
        risk=graded.colour,
        risk_reasons=list(graded.reasons),
        risk_facts=facts,
        lane=way.lane,
        tier=way.tier,
        owner_unit=owner,
        owner_path=owner.path,
        lead_department=category.lead_department,
        state=CaseState.RESOLVED if on_spot else CaseState.REGISTERED,
        version=2 if on_spot else 1,
        **sla_fields,
        reporter=actor if actor is not None and actor.is_authenticated else None,
        reporter_name=data.reporter_name.strip()[:50],
        reporter_phone=data.reporter_phone,
        reporter_phone_index=phone_index,
        reporter_id_number=data.reporter_id_number,
        reporter_id_index=id_index,
        handled_on_spot=on_spot,
        outcome=data.outcome.strip() if on_spot else "",
        created_at=now,
        observed_at=observed_at,
        resolved_at=now if on_spot else None,
    )
    events = _first_timeline(case, actor, data, now, earlier=earlier, observed_at=observed_at)
    parties = [party.row(case) for party in data.parties]
    alert = CommandAlert.for_red_case(case, now) if case.risk == Risk.RED else None
    return IntakePlan(
        actor=actor,
        data=data,
        earlier=earlier,
        case=case,
        case_values=_insert_case.prepare(case),
        events=[(event, CaseEvent.rows().prepare(event)) for event in events],
        parties=[(party, _insert_party.prepare(party)) for party in parties],
        alert=(alert, _insert_alert.prepare(alert)) if alert is not None else None,
    )


def _first_timeline(
    case: Case, actor, data: IntakeInput, now: datetime, *, earlier: int, observed_at: datetime | None
) -> list[CaseEvent]:
    actor_unit = _unit_of(actor)
    events = [
        CaseEvent.build(
            case=case,
            tier=case.tier,
            seq=1,
            kind="register",
            from_state="",
            to_state=CaseState.REGISTERED,
            actor=actor,
            now=now,
            data={
                "risk": case.risk,
                "reasons": case.risk_reasons,
                "lane": case.lane,
                "tier": case.tier,
                "owner_unit": case.owner_unit_id,
                "channel": data.channel,
                "earlier_reports": earlier,
                **({"observed_at": observed_at.isoformat()} if observed_at else {}),
            },
            actor_unit=actor_unit,
        )
    ]
    if data.handled_on_spot:
        events.append(
            CaseEvent.build(
                case=case,
                tier=case.tier,
                seq=2,
                kind="resolve",
                from_state=CaseState.REGISTERED,
                to_state=CaseState.RESOLVED,
                actor=actor,
                now=now,
                note=case.outcome,
                data={"on_spot": True, "evidence": data.evidence_ids},
                actor_unit=actor_unit,
            )
        )
    return events


def _unit_of(actor) -> Unit | None:
    """The actor's unit without its boundary: as token authentication loaded it, or read."""
    if actor is None or actor.unit_id is None:
        return None
    if User.unit.is_cached(actor):
        return actor.unit
    return Unit.objects.defer("boundary").get(pk=actor.unit_id)


def intake_commit(plan: IntakePlan) -> IntakeResult:
    """The writes of intake, inside the caller's transaction: link the report to an open
    case of the same thing nearby, or open a new case with its timeline. Red cases go to
    the district and raise a command-centre alert."""
    actor, data, now, category = plan.actor, plan.data, plan.case.created_at, plan.case.category
    if not data.handled_on_spot and data.lon is not None:
        duplicate_id = _find_duplicate(category.pk, data.lon, data.lat, now, take_turn=True)
        if duplicate_id is not None:
            linked = _link_duplicate(duplicate_id, category=category, actor=actor, data=data, now=now)
            if data.evidence_ids:
                _attach_evidence(linked, actor=actor, ids=data.evidence_ids)
            return IntakeResult(case=linked, linked=True)

    case = _insert_case.write(plan.case, plan.case_values)
    parties = [_insert_party.write(party, values, case=case) for party, values in plan.parties]
    events = [CaseEvent.rows().write(event, values, case=case) for event, values in plan.events]
    if data.evidence_ids:
        # Photos taken with the report (or the on-the-spot evidence) belong to the case.
        _attach_evidence(case, actor=actor, ids=data.evidence_ids)
    if plan.alert is not None:
        _insert_alert.write(*plan.alert, case=case)
        _log_red_case(case)
    return IntakeResult(case=case, linked=False, similar_earlier=plan.earlier, events=events, parties=parties)


def case_intake(*, actor, data: IntakeInput, now: datetime | None = None) -> IntakeResult:
    """Take a report in once: validate, locate, link duplicates, grade, route, set deadlines
    and open the timeline (`intake_prepare` before the transaction, `intake_commit` in it)."""
    plan = intake_prepare(actor=actor, data=data, now=now)
    with transaction.atomic():
        return intake_commit(plan)


def _event(case, *, tier=None, **step) -> CaseEvent:
    """One step of the case's timeline, at the case's tier unless told otherwise."""
    return CaseEvent.record(case=case, tier=tier or case.tier, **step)


def _raise_red_alert(case: Case, now: datetime) -> None:
    _insert_alert(CommandAlert.for_red_case(case, now))
    _log_red_case(case)


def _log_red_case(case: Case) -> None:
    transaction.on_commit(lambda: log.warning("red case %s: %s", case.tracking_code, case.title))


def _alert_if_turning_red(case: Case, colour: str, now: datetime, *, was: str) -> None:
    """A case turning red lights up the command centre, each time it does (as the sweep's
    escalations do): one alert per red spell. Staying red raises nothing. Every move that
    changes the colour passes here (`_commit_move`), and so does a joined report."""
    if colour == Risk.RED and was != Risk.RED:
        _raise_red_alert(case, now)


def _with_response_look(fields: dict, state: str) -> dict:
    """A fresh clock's columns for a case in `state`: a report nobody has accepted yet gets
    the sweep's first look at its response deadline, if that comes before the 50% mark."""
    if state == CaseState.REGISTERED:
        fields = {**fields, "next_sla_at": min(fields["respond_due_at"], fields["next_sla_at"])}
    return fields


def _handed_to_tier(case: Case, tier: int, now: datetime, **clock) -> dict:
    """The columns that hand the case to `tier`: its owner there, and a fresh deadline clock
    at that tier (`clock`: a lane or colour about to change), whose first look is the
    response deadline while nobody has accepted the case."""
    owner = unit_at_tier(case.area_path, tier)
    fields = _with_response_look(_deadline_changes(case, now, tier=tier, **clock), case.state)
    return {"tier": tier, "owner_unit": owner, "owner_path": owner.path, **fields}


def _tier_for_colour(case: Case, colour: str, now: datetime) -> dict:
    """A case whose colour now needs a higher tier than it is at goes there at once: red to
    the district (`_district_if_red`), orange to the street, on a fresh clock at that tier.
    The changes, if needed."""
    if colour == Risk.RED:
        return _district_if_red(case, colour, now)
    tier = MIN_TIER_FOR_RISK[Risk(colour)]
    if case.tier >= tier:
        return {}
    return _handed_to_tier(case, tier, now, risk=colour)


def _district_if_red(case: Case, colour: str, now: datetime) -> dict:
    """Red goes straight to the district tier: the changes that move it there, if needed.
    Like a case reported red, it goes on the urgent lane (unless it is one of the hard,
    long-running kinds), on a fresh deadline clock at the district."""
    if colour != Risk.RED or case.tier >= Tier.DISTRICT:
        return {}
    lane = lane_for_risk(case.lane, Risk.RED)
    return {"lane": lane, **_handed_to_tier(case, Tier.DISTRICT, now, lane=lane, risk=Risk.RED)}


def _attach_evidence(case: Case, *, actor, ids: list[int]) -> None:
    found = Attachment.objects.filter(pk__in=ids, case__isnull=True, uploaded_by=actor).update(case=case)
    if found != len(set(ids)):
        raise InvalidInput("凭证附件不存在或已被使用。", field="evidence_ids")


def _regraded(case: Case, graded) -> dict:
    """The colour columns after a re-grade from the case's facts to new ones (`graded`).

    A dispatcher's override judged the facts of its time, up or down. It holds unless the
    new facts grade graver than both the facts before them and the override itself; then
    it ends, and the case takes the colour and reasons of the new facts."""
    if case.risk_override:
        new = RISK_RANK[graded.colour]
        before = RISK_RANK[grade(case.risk_facts, active_rules()).colour]
        if not (new < before and new < RISK_RANK[Risk(case.risk)]):
            return {"risk": case.risk, "risk_reasons": case.risk_reasons, "risk_override": case.risk_override}
    return {"risk": graded.colour, "risk_reasons": list(graded.reasons), "risk_override": ""}


def _link_duplicate(case_id: int, *, category: Category, actor, data: IntakeInput, now: datetime) -> Case:
    """A second report of the same thing at the same place joins the first case (of the
    same category), which is returned with its category and units for the answer."""
    case = case_with_units(case_id, for_update=True, category=category)
    facts = dict(case.risk_facts)
    # What this report tells adds to what is known (new facts re-grade the case); a fact
    # it leaves out or puts lower takes nothing away.
    for name, value in clean_facts(data.facts).items():
        facts[name] = max(int(facts.get(name) or 0), value)
    # Reports before this one; never fewer than the case already counted (a repeat reporter
    # recognised at intake, facts a handler added), so a repeat cannot lower the colour.
    facts["repeat_reports"] = max(int(facts.get("repeat_reports") or 0), case.report_count)
    graded = grade(facts, active_rules())
    changes = {"risk_facts": facts, **_regraded(case, graded)}
    new_colour, was = changes["risk"], case.risk
    changes |= {"report_count": case.report_count + 1, "version": case.version + 1, "updated_at": now}
    for name, value in changes.items():
        setattr(case, name, value)
    update_columns([case], list(changes))  # the row is locked: nobody else moved it meanwhile
    _event(
        case,
        seq=case.version,
        kind="duplicate_report",
        from_state=case.state,
        to_state=case.state,
        actor=actor,
        now=now,
        note=data.description[:500],
        data={
            "channel": data.channel,
            "lon": data.lon,
            "lat": data.lat,
            "reporter": data.reporter_name[:50],
            "risk": new_colour,
        },
        actor_unit_id=actor.unit_id if actor is not None else None,
    )
    _keep_joined_people(case, data)
    _alert_if_turning_red(case, new_colour, now, was=was)
    if new_colour in _REPEAT_REASON and case.tier < MIN_TIER_FOR_RISK[Risk(new_colour)]:
        moved = _send_up_for_colour(case, new_colour, actor=None, now=now, reason=_REPEAT_REASON[new_colour])
        case = case_with_units(moved.pk, category=category)
    return case


_REPEAT_REASON = {Risk.RED: "再次反映后升级为红色预警", Risk.ORANGE: "再次反映后升级为橙色预警"}


def _keep_joined_people(case: Case, data: IntakeInput) -> None:
    """The people a joined report names stay with the case, each once: its reporter, as a
    further 反映人 who can be called back and is recognised on later reports, and the
    parties it names."""
    named = list(data.parties)
    if data.reporter_name.strip() or data.reporter_phone or data.reporter_id_number:
        named.append(
            PartyInput(
                role=PartyRole.REPORTER,
                name=data.reporter_name,
                phone=data.reporter_phone,
                id_number=data.reporter_id_number,
            )
        )
    if not named:
        return

    # One person: any blind index in common, or, with none at all, the same name and role.
    indexes: set[str] = set()
    names: set[tuple[str, str]] = set()

    def known_else_note(role: str, name: str, phone_index: str, id_index: str) -> bool:
        own = {index for index in (phone_index, id_index) if index}
        known = bool(own & indexes) if own else (role, name.strip()) in names
        indexes.update(own)
        if not own:
            names.add((role, name.strip()))
        return known

    for person in case.parties.values_list("role", "name", "phone_index", "id_index"):
        known_else_note(*person)
    known_else_note(PartyRole.REPORTER, case.reporter_name, case.reporter_phone_index, case.reporter_id_index)
    rows = [
        row
        for row in (party.row(case) for party in named)
        if not known_else_note(row.role, row.name, row.phone_index, row.id_index)
    ]
    CaseParty.objects.bulk_create(rows)


# --- moves ----------------------------------------------------------------------------


def _assist_departments(case: Case) -> set[int]:
    return set(case.assists.filter(status=AssistStatus.OPEN).values_list("department_id", flat=True))


def _state_label(state: str):
    """A state's name, translated as the pages name states."""
    return pgettext_lazy("state", CaseState(state).label)


def check_move(case: Case, actor, action: str, version: int | None = None) -> set[Who]:
    """Raise unless `actor` may make `action` on `case` now; else the actor's relations to
    the case, for a move whose rule depends on them. The caller has already fetched the
    case through a scoped selector (invisible cases are 404 before this). A stale
    `version` is answered first: the client's view is out of date, whatever else."""
    move = MOVES[action]
    if version is not None and version != case.version:
        raise ConcurrentChange()
    if is_read_only(actor):
        raise NotAllowed("当前角色为只读，不能进行此操作。")
    if case.state not in move.sources:
        raise Conflict(
            "案件当前状态为“%(state)s”，不能%(move)s。",
            params={"state": _state_label(case.state), "move": gettext_lazy(move.label)},
            code="wrong_state",
        )
    if not (move.min_tier <= case.tier <= move.max_tier):
        raise Conflict(
            "案件当前在%(tier)s，不能%(move)s。",
            params={"tier": gettext_lazy(Tier(case.tier).label), "move": gettext_lazy(move.label)},
            code="wrong_tier",
        )
    relations = actor_relations(case, actor, assist_departments=_assist_departments(case))
    if not relations & move.who:
        raise NotAllowed("您无权对该案件进行“%(move)s”操作。", params={"move": gettext_lazy(move.label)})
    return relations


def _commit_move(
    case: Case,
    *,
    actor,
    action: str,
    version: int,
    now: datetime | None = None,
    changes: dict | None = None,
    note: str = "",
    data: dict | None = None,
    target: str | None = None,
    kind: str | None = None,
) -> Case:
    """Compare-and-set the case at `version`, then write its timeline event."""
    move = MOVES[action]
    now = now or timezone.now()
    if move.needs_note and not note.strip():
        raise InvalidInput("%(move)s须填写理由或说明。", params={"move": gettext_lazy(move.label)}, field="note")
    if version != case.version:
        raise ConcurrentChange()
    target = target or move.target
    updates = dict(changes or {})
    if target:
        updates["state"] = target
        updates[STATE_TIMESTAMP[target]] = now
        if target not in OPEN_STATES:
            # Nothing left for the deadline sweep to do.
            updates["next_sla_at"] = None
    updated = Case.objects.filter(pk=case.pk, version=version).update(
        version=F("version") + 1, updated_at=now, **updates
    )
    if updated != 1:
        raise ConcurrentChange()
    from_state, was = case.state, case.risk
    if (
        action != "resume"
        and case.suspended_at is not None
        and "suspended_at" in updates
        and not updates["suspended_at"]
    ):
        # A fresh deadline clock (new tier, owner or colour) replaced the suspended one.
        data = {**(data or {}), "suspension_ended": True}
    case.refresh_from_db()
    _event(
        case,
        seq=version + 1,
        kind=kind or action,
        from_state=from_state,
        to_state=case.state,
        actor=actor,
        now=now,
        note=note.strip(),
        data=data,
        actor_unit_id=actor.unit_id if actor is not None else None,
    )
    _alert_if_turning_red(case, updates.get("risk", was), now, was=was)
    return case


def _deadline_changes(case: Case, now: datetime, **overrides) -> dict:
    """A fresh deadline clock for the case from `now` (its lane/tier/colour/kind may be
    about to change: pass the new values)."""
    return plan_for_case(case, now, **overrides).case_fields()


@transaction.atomic
def case_accept(*, case: Case, actor, version: int, note: str = "") -> Case:
    check_move(case, actor, "accept", version)
    return _commit_move(case, actor=actor, action="accept", version=version, note=note)


@transaction.atomic
def case_reject(*, case: Case, actor, version: int, note: str) -> Case:
    check_move(case, actor, "reject", version)
    return _commit_move(case, actor=actor, action="reject", version=version, note=note)


@transaction.atomic
def case_triage(
    *,
    case: Case,
    actor,
    version: int,
    category_code: str | None = None,
    lane: str | None = None,
    facts: dict | None = None,
    note: str = "",
) -> Case:
    check_move(case, actor, "triage", version)
    now = timezone.now()
    category = case.category
    if category_code and category_code != category.code:
        category = Category.objects.filter(code=category_code, is_active=True).first()
        if category is None:
            raise InvalidInput("事项分类不存在或已停用。", field="category")
    if lane is not None and lane not in Lane.values:
        raise InvalidInput("办理通道无效。", field="lane")
    merged = clean_facts({**case.risk_facts, **(facts or {})})
    graded = grade(merged, active_rules())
    regraded = _regraded(case, graded)
    colour = regraded["risk"]
    way = route(category, colour)
    new_lane = lane or way.lane
    changes = {
        "category": category,
        "lead_department_id": category.lead_department_id,
        "risk_facts": merged,
        "lane": new_lane,
        **_deadline_changes(case, now, lane=new_lane, risk=colour, tier=max(way.tier, case.tier)),
    }
    changes |= regraded
    # Triage can send a case up to the tier its colour and category demand, never down.
    if way.tier > case.tier:
        owner = unit_at_tier(case.area_path, way.tier)
        changes |= {"tier": way.tier, "owner_unit": owner, "owner_path": owner.path}
    case = _commit_move(
        case,
        actor=actor,
        action="triage",
        version=version,
        now=now,
        changes=changes,
        note=note,
        data={"category": category.code, "lane": new_lane, "risk": colour, "tier": changes.get("tier", case.tier)},
    )
    return case


@transaction.atomic
def case_assign(
    *,
    case: Case,
    actor,
    version: int,
    lead_department_id: int | None = None,
    assists: list[tuple[int, str]] | None = None,
    note: str = "",
) -> Case:
    check_move(case, actor, "assign", version)
    now = timezone.now()
    lead_id = lead_department_id or case.lead_department_id
    departments = _departments([lead_id] + [d for d, _ in assists or []])
    if lead_id not in departments:
        raise InvalidInput("牵头部门不存在。", field="lead_department_id")
    if assists and case.tier < Tier.STREET:
        raise InvalidInput("社区层级的案件不能增加协办部门，请上报街道联合处置。", field="assists")
    if lead_id in _assist_departments(case):
        raise InvalidInput("该部门正在协办本案，不能同时牵头，请先完成或撤销其协办任务。", field="lead_department_id")
    named = [d for d, _ in assists or []]
    for i, department_id in enumerate(named):
        if department_id in named[:i]:
            raise InvalidInput("同一部门只能列为一次协办部门。", field=f"assists.{i}.department_id")
    # Departments asked before, whose tasks (done or waived) open again.
    asked = case.assists.filter(department_id__in=named).exclude(status=AssistStatus.OPEN)
    again = sorted(asked.values_list("department_id", flat=True))
    case = _commit_move(
        case,
        actor=actor,
        action="assign",
        version=version,
        now=now,
        note=note,
        changes={"lead_department_id": lead_id, **_deadline_changes(case, now)},
        data={"lead_department": lead_id, "assists": named, **({"assists_again": again} if again else {})},
    )
    for i, (department_id, task) in enumerate(assists or []):
        try:
            _add_assist_row(case, department_id=department_id, task=task, now=now)
        except InvalidInput as error:  # named as the request names it
            raise InvalidInput(error.message, field=f"assists.{i}.{error.field}") from None
    return case


def _departments(ids: list[int]) -> set[int]:
    return set(Unit.objects.filter(pk__in=ids, level=UnitLevel.DEPARTMENT, is_active=True).values_list("pk", flat=True))


def _add_assist_row(case: Case, *, department_id: int, task: str, now: datetime) -> tuple[AssistTask, bool]:
    """The department's task on the case, and whether it was asked before."""
    if not _departments([department_id]):
        raise InvalidInput("协办部门不存在。", field="department_id")
    if department_id == case.lead_department_id:
        raise InvalidInput("牵头部门不能同时作为协办部门。", field="department_id")
    earlier = case.assists.filter(department_id=department_id).first()
    if earlier is not None and earlier.status == AssistStatus.OPEN:
        raise Conflict("该部门已是协办部门。", code="duplicate_assist")
    if not task.strip():
        raise InvalidInput("请填写协办任务。", field="task")
    if earlier is None:
        row = AssistTask.objects.create(case=case, department_id=department_id, task=task.strip()[:500], created_at=now)
        return row, False
    # A department whose task was done or waived is asked again (a later tier needs it,
    # or the matter came back): its task opens anew. How the earlier task ended, with its
    # note, stays on the timeline in the close_assist event.
    earlier.task, earlier.status, earlier.note = task.strip()[:500], AssistStatus.OPEN, ""
    earlier.created_at, earlier.closed_at = now, None
    earlier.save(update_fields=["task", "status", "note", "created_at", "closed_at"])
    return earlier, True


@transaction.atomic
def case_start(*, case: Case, actor, version: int, note: str = "") -> Case:
    check_move(case, actor, "start", version)
    return _commit_move(case, actor=actor, action="start", version=version, note=note)


def escalation_changes(case: Case, now: datetime, plans: dict | None = None) -> dict:
    """The columns an escalation changes: one tier up (straight to the district if the
    extra escalation turns the case red), re-graded, on a fresh deadline clock. Shared by
    the handler's move and the deadline sweep so both escalate alike. `plans` lets a batch
    reuse deadline plans (every case of a batch escalates at the same `now`)."""
    tier = case.tier + 1
    facts, regraded = _facts_with_escalation(case)
    colour = regraded["risk"]
    lane = case.lane
    if colour == Risk.RED:
        # As any case that turns red: the district, on the urgent lane (`_district_if_red`).
        tier, lane = Tier.DISTRICT, lane_for_risk(case.lane, Risk.RED)
    owner = unit_at_tier(case.area_path, tier)
    key = (lane, tier, colour, case.kind)
    if plans is None or key not in plans:
        deadline = _deadline_changes(case, now, lane=lane, tier=tier, risk=colour)
        if plans is not None:
            plans[key] = deadline
    else:
        deadline = plans[key]
    return {
        "tier": tier,
        "owner_unit": owner,
        "owner_path": owner.path,
        "lane": lane,
        "risk_facts": facts,
        **regraded,
        **deadline,
    }


def unaccepted_send_up_changes(case: Case, now: datetime) -> dict:
    """The columns that hand a report its tier never accepted in time to the tier above,
    still to be accepted (or refused) there: its owner, and a fresh clock at that tier
    whose first look is the response deadline. Its colour, facts and lane stay: lateness
    at intake is not a judgement of the matter (the sweep's step; DOMAIN: a case not
    resolved in time at its tier goes up)."""
    return _handed_to_tier(case, case.tier + 1, now)


def _facts_with_escalation(case: Case) -> tuple[dict, dict]:
    facts = dict(case.risk_facts)
    facts["escalations"] = facts.get("escalations", 0) + 1
    return facts, _regraded(case, grade(facts, active_rules()))


@transaction.atomic
def case_escalate(*, case: Case, actor, version: int, note: str, now: datetime | None = None) -> Case:
    """Send the case one tier up (community → street → district), with the reason.
    `actor=None` is the system (the deadline sweep)."""
    if actor is not None:
        check_move(case, actor, "escalate", version)
    elif case.state not in MOVES["escalate"].sources or case.tier >= Tier.DISTRICT:
        raise Conflict("案件当前不能上报。", code="wrong_state")
    now = now or timezone.now()
    changes = escalation_changes(case, now)
    return _commit_move(
        case,
        actor=actor,
        action="escalate",
        version=version,
        now=now,
        note=note,
        changes=changes,
        data={"tier": changes["tier"], "owner_unit": changes["owner_unit"].pk, "risk": changes["risk"]},
    )


_ROUTE_KIND = {Risk.RED: "route_red", Risk.ORANGE: "route_orange"}


def _send_up_for_colour(case: Case, colour: str, *, actor, now: datetime, reason: str) -> Case:
    """A case whose colour now needs a higher tier than it is at goes there at once (red:
    the district, on the urgent lane; orange: the street), on a fresh clock at that tier,
    as its own step on the timeline. The case as it is now."""
    changes = _tier_for_colour(case, colour, now)
    if not changes:
        return case
    Case.objects.filter(pk=case.pk, version=case.version).update(**changes, version=F("version") + 1, updated_at=now)
    _event(
        case,
        seq=case.version + 1,
        kind=_ROUTE_KIND[Risk(colour)],
        from_state=case.state,
        to_state=case.state,
        actor=actor,
        now=now,
        note=reason,
        data={
            "tier": changes["tier"],
            "owner_unit": changes["owner_unit"].pk,
            "lane": changes.get("lane", case.lane),
            # The fresh clock replaced a suspended one, as on any move that starts one.
            **({"suspension_ended": True} if case.suspended_at is not None else {}),
        },
        tier=changes["tier"],
    )
    case.refresh_from_db()
    return case


_NO_RETURN_BELOW = {
    Risk.RED: "红色预警案件须由区级办理，不能退回下级。",
    Risk.ORANGE: "橙色预警案件须由街（镇）级及以上办理，不能退回社区。",
}


@transaction.atomic
def case_return(*, case: Case, actor, version: int, note: str) -> Case:
    """A higher tier hands the case back down one tier, with instructions."""
    check_move(case, actor, "return", version)
    now = timezone.now()
    tier = case.tier - 1
    if returns_below_colour(case):
        # Red stays with the district, orange at least with the street, whoever asks.
        raise Conflict(_NO_RETURN_BELOW[case.risk], code="tier_below_risk")
    if tier < Tier.STREET and case.assists.filter(status=AssistStatus.OPEN).exists():
        # Assisting departments work with a street or the district, not a community.
        raise Conflict("协办任务尚未完成，请先完成或撤销协办任务再退回社区。", code="assists_open")
    owner = unit_at_tier(case.area_path, tier)
    if owner.pk == case.owner_unit_id:
        raise Conflict("该案件没有可退回的下级单位。", code="no_lower_unit")
    return _commit_move(
        case,
        actor=actor,
        action="return",
        version=version,
        now=now,
        note=note,
        changes={
            "tier": tier,
            "owner_unit": owner,
            "owner_path": owner.path,
            **_deadline_changes(case, now, tier=tier),
        },
        data={"tier": tier, "owner_unit": owner.pk},
    )


@transaction.atomic
def case_resolve(*, case: Case, actor, version: int, outcome: str, evidence_ids: list[int] | None = None) -> Case:
    check_move(case, actor, "resolve", version)
    if not outcome.strip():
        raise InvalidInput("请填写办理结果。", field="outcome")
    open_tasks = case.assists.filter(status=AssistStatus.OPEN).select_related("department")
    if open_tasks:
        names = "、".join(t.department.name for t in open_tasks)
        raise Conflict("协办任务尚未完成：%(names)s。", params={"names": names}, code="assists_open")
    now = timezone.now()
    data = {"evidence": evidence_ids or []}
    if case.past_due(now):
        # Past the deadline in force, whether or not the sweep has marked it yet: the
        # resolution itself says so, and the on-time figures count it as late.
        data["overdue"] = True
    case = _commit_move(
        case,
        actor=actor,
        action="resolve",
        version=version,
        note=outcome,
        changes={"outcome": outcome.strip()},
        data=data,
        now=now,
    )
    if evidence_ids:
        _attach_evidence(case, actor=actor, ids=evidence_ids)
    return case


@transaction.atomic
def case_verify(*, case: Case, actor, version: int, note: str = "") -> Case:
    check_move(case, actor, "verify", version)
    return _commit_move(case, actor=actor, action="verify", version=version, note=note)


@transaction.atomic
def case_rate(*, case: Case, actor, version: int, satisfaction: int, note: str = "") -> Case:
    """The citizen's verdict, 1–5: their own, or recorded by a supervising unit after a
    callback (回访), which the timeline marks as such. Unsatisfied (1–2) within 15 days of
    resolution reopens the case at once."""
    relations = check_move(case, actor, "rate", version)
    if grades_own_work(case, actor):
        raise NotAllowed("办理单位不能录入本单位所办案件的群众评价，请由上级单位回访后录入。")
    by = "reporter" if Who.REPORTER in relations else "callback"
    return _record_rating(case, actor=actor, version=version, satisfaction=satisfaction, note=note, by=by)


@transaction.atomic
def case_rate_by_reporter(*, case: Case, version: int, satisfaction: int, note: str = "") -> Case:
    """The verdict of a reporter without an account (the citizen page), who has already
    proved the case is theirs (tracking code + the phone they gave). Same rules as
    `case_rate`; the timeline records it as the citizen's."""
    if version != case.version:
        raise ConcurrentChange()
    if case.state not in MOVES["rate"].sources:
        raise Conflict(
            "案件当前状态为“%(state)s”，暂不能评价。", params={"state": _state_label(case.state)}, code="wrong_state"
        )
    return _record_rating(case, actor=None, version=version, satisfaction=satisfaction, note=note, by="citizen")


def _record_rating(case: Case, *, actor, version: int, satisfaction: int, note: str, by: str = "") -> Case:
    if satisfaction not in range(1, 6):
        raise InvalidInput("满意度须为1至5。", field="satisfaction")
    now = timezone.now()
    extra = {"by": by} if by else {}
    case = _commit_move(
        case,
        actor=actor,
        action="rate",
        version=version,
        now=now,
        note=note,
        changes={"satisfaction": satisfaction},
        data={"satisfaction": satisfaction, **extra},
    )
    if satisfaction <= UNSATISFIED_AT_MOST and case.resolved_at and now - case.resolved_at <= REOPEN_WINDOW:
        case = _commit_move(
            case,
            actor=actor,
            action="reopen",
            version=case.version,
            now=now,
            note=note or "群众评价不满意，案件重启办理。",
            data={"because": "unsatisfied", **extra},
            changes=_deadline_changes(case, now),
        )
    return case


@transaction.atomic
def case_reopen(*, case: Case, actor, version: int, note: str) -> Case:
    relations = check_move(case, actor, "reopen", version)
    now = timezone.now()
    if Who.SUPERVISOR not in relations and (case.resolved_at is None or now - case.resolved_at > REOPEN_WINDOW):
        raise Conflict("办结已超过15天，不能由反映人重启，请重新上报。", code="reopen_window_passed")
    return _commit_move(
        case,
        actor=actor,
        action="reopen",
        version=version,
        now=now,
        note=note,
        changes=_deadline_changes(case, now),
    )


@transaction.atomic
def case_close(*, case: Case, actor, version: int, note: str = "") -> Case:
    check_move(case, actor, "close", version)
    return _commit_move(case, actor=actor, action="close", version=version, note=note)


@transaction.atomic
def case_add_assist(*, case: Case, actor, version: int, department_id: int, task: str) -> Case:
    check_move(case, actor, "add_assist", version)
    now = timezone.now()
    row, again = _add_assist_row(case, department_id=department_id, task=task, now=now)
    return _commit_move(
        case,
        actor=actor,
        action="add_assist",
        version=version,
        now=now,
        note=task,
        data={"department": department_id, "task": row.pk, **({"again": True} if again else {})},
    )


@transaction.atomic
def case_close_assist(*, case: Case, actor, version: int, task_id: int, status: str, note: str = "") -> Case:
    """An assisting department finishes its task (done), or the owner waives it with a reason."""
    check_move(case, actor, "close_assist", version)
    task = case.assists.filter(pk=task_id).first()
    if task is None:
        raise InvalidInput("协办任务不存在。", field="task_id")
    if task.status != AssistStatus.OPEN:
        raise Conflict("该协办任务已结束。", code="assist_closed")
    if status not in (AssistStatus.DONE, AssistStatus.WAIVED):
        raise InvalidInput("协办任务只能完成或免除。", field="status")
    relations = actor_relations(case, actor, assist_departments={task.department_id})
    from puan.cases.transitions import Who

    own_task = Who.ASSIST in relations and actor.unit_id == task.department_id
    if status == AssistStatus.DONE and not own_task:
        raise NotAllowed("只有协办部门本身可以完成该任务。")
    if status == AssistStatus.WAIVED:
        if Who.OWNER not in relations:
            raise NotAllowed("只有责任单位可以免除协办任务。")
        if not note.strip():
            raise InvalidInput("免除协办任务须填写理由。", field="note")
    now = timezone.now()
    case = _commit_move(
        case,
        actor=actor,
        action="close_assist",
        version=version,
        now=now,
        note=note,
        data={"task": task.pk, "department": task.department_id, "status": status},
    )
    AssistTask.objects.filter(pk=task.pk).update(status=status, note=note.strip(), closed_at=now)
    return case


@transaction.atomic
def case_override_risk(*, case: Case, actor, version: int, risk: str, note: str) -> Case:
    check_move(case, actor, "override_risk", version)
    if risk not in Risk.values:
        raise InvalidInput("风险等级无效。", field="risk")
    now = timezone.now()
    reasons = [*case.risk_reasons, f"调度员调整为{Risk(risk).label}：{note.strip()}"]
    changes = {"risk": risk, "risk_override": note.strip()[:500], "risk_reasons": reasons}
    changes |= _tier_for_colour(case, risk, now)
    return _commit_move(
        case,
        actor=actor,
        action="override_risk",
        version=version,
        now=now,
        note=note,
        changes=changes,
        data={"from": case.risk, "to": risk},
    )


@transaction.atomic
def case_update_facts(*, case: Case, actor, version: int, facts: dict, note: str = "") -> Case:
    """New facts re-grade the case (a dispatcher's override holds unless they are graver)."""
    check_move(case, actor, "update_facts", version)
    now = timezone.now()
    merged = clean_facts({**case.risk_facts, **facts})
    changes: dict = {"risk_facts": merged, **_regraded(case, grade(merged, active_rules()))}
    colour = changes["risk"]
    changes |= _tier_for_colour(case, colour, now)
    return _commit_move(
        case,
        actor=actor,
        action="update_facts",
        version=version,
        now=now,
        note=note,
        changes=changes,
        data={"facts": merged, "risk": colour},
    )


@transaction.atomic
def case_comment(*, case: Case, actor, version: int, note: str) -> Case:
    check_move(case, actor, "comment", version)
    if not note.strip():
        raise InvalidInput("请填写备注内容。", field="note")
    return _commit_move(case, actor=actor, action="comment", version=version, note=note)
