"""The demo district: a deterministic, realistic 黄埔区 for `make demo` and for benchmarks.

Loads the org tree with ~2,000 grid boundaries, the departments, the police emergency
hierarchy, the taxonomy and staff accounts (one shared demo password).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.hashers import make_password
from django.db import transaction

from puan.accounts.models import RoleGrant, User
from puan.accounts.roles import ROLE_SPECS, Role
from puan.core.pii import blind_index
from puan.org.demo_geo import DemoDistrict, generate_district
from puan.org.models import PoliceLevel, PoliceUnit, Unit, UnitKind, UnitLevel
from puan.org.services import geoversion_bump, unit_create, units_create_bulk
from puan.taxonomy.services import taxonomy_load

DEPARTMENTS_FILE = Path(__file__).parent / "org" / "data" / "departments.json"

# The logins the README lists: (username, role, unit code or name, display name).
DEMO_LOGINS = [
    ("admin", Role.ADMIN, "district", "系统管理员"),
    ("dispatcher", Role.DISPATCHER, "district", "区指挥中心调度员"),
    ("street1", Role.UNIT_HANDLER, "长洲街", "长洲街综治中心"),
    ("community1", Role.UNIT_HANDLER, "深井社区", "深井社区工作站"),
    ("grid1", Role.GRID_WORKER, "grid:深井社区", "胡少坤"),
    ("dept_justice", Role.DEPARTMENT_HANDLER, "dept.justice", "区司法局窗口"),
    ("leader", Role.LEADER, "district", "区领导"),
]

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程苏魏吕丁任沈姚"
    "卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰文辉鹏飞斌宇浩凯健俊帆帅雪琳晨欣怡婷慧颖"
    "佳嘉子涵梓轩浩然诗雨思彤雅琪少坤影霞锦荣伟健家豪晓东海燕振华德明"
)


@dataclass
class DemoSummary:
    streets: int
    communities: int
    grids: int
    departments: int
    police_units: int
    users: int
    seconds: float
    already_loaded: bool = False


def chinese_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.7 else "")
    return rng.choice(SURNAMES) + given


def demo_phone(rng: random.Random) -> str:
    return rng.choice(["138", "139", "135", "137", "150", "158", "186", "189", "133", "177"]) + "".join(
        rng.choice("0123456789") for _ in range(8)
    )


def demo_load(*, password: str, seed: int = 20260630) -> DemoSummary:
    started = time.monotonic()
    existing = Unit.objects.filter(level=UnitLevel.DISTRICT).first()
    if existing is not None:
        return DemoSummary(
            streets=Unit.objects.filter(level=UnitLevel.STREET).count(),
            communities=Unit.objects.filter(level=UnitLevel.COMMUNITY).count(),
            grids=Unit.objects.filter(level=UnitLevel.GRID).count(),
            departments=Unit.objects.filter(level=UnitLevel.DEPARTMENT).count(),
            police_units=PoliceUnit.objects.count(),
            users=User.objects.count(),
            seconds=time.monotonic() - started,
            already_loaded=True,
        )
    district_spec = generate_district(seed)
    with transaction.atomic():
        district = _load_tree(district_spec)
        departments = _load_departments(district)
        police = _load_police(district_spec)
        taxonomy_load()
        users = _load_users(password=password, seed=seed)
        geoversion_bump()
    return DemoSummary(
        streets=len(district_spec.streets),
        communities=sum(len(s.communities) for s in district_spec.streets),
        grids=sum(len(c.grids) for s in district_spec.streets for c in s.communities),
        departments=departments,
        police_units=police,
        users=users,
        seconds=time.monotonic() - started,
    )


def _load_tree(spec: DemoDistrict) -> Unit:
    district = unit_create(
        code=spec.code, name=spec.name, level=UnitLevel.DISTRICT, parent=None, boundary=spec.geometry
    )
    streets = units_create_bulk(
        rows=[
            {
                "code": s.code,
                "name": s.name,
                "level": UnitLevel.STREET,
                "kind": s.kind,
                "parent_code": spec.code,
                "boundary": s.geometry,
                "sort_order": i,
            }
            for i, s in enumerate(spec.streets)
        ],
        parent_by_code={spec.code: district},
    )
    by_code = {u.code: u for u in streets}
    communities = units_create_bulk(
        rows=[
            {
                "code": c.code,
                "name": c.name,
                "level": UnitLevel.COMMUNITY,
                "kind": c.kind,
                "parent_code": s.code,
                "boundary": c.geometry,
                "sort_order": i,
            }
            for s in spec.streets
            for i, c in enumerate(s.communities)
        ],
        parent_by_code=by_code,
    )
    by_code = {u.code: u for u in communities}
    units_create_bulk(
        rows=[
            {
                "code": g.code,
                "name": g.name,
                "level": UnitLevel.GRID,
                "parent_code": c.code,
                "boundary": g.geometry,
                "sort_order": i,
            }
            for s in spec.streets
            for c in s.communities
            for i, g in enumerate(c.grids)
        ],
        parent_by_code=by_code,
    )
    return district


def _load_departments(district: Unit) -> int:
    data = json.loads(DEPARTMENTS_FILE.read_text(encoding="utf-8"))["departments"]
    units_create_bulk(
        rows=[
            {
                "code": f"dept.{d['code']}",
                "name": d["name"],
                "level": UnitLevel.DEPARTMENT,
                "kind": d.get("kind", UnitKind.DEPARTMENT),
                "stationing": d["stationing"],
                "parent_code": district.code,
                "sort_order": i,
            }
            for i, d in enumerate(data)
        ],
        parent_by_code={district.code: district},
    )
    return len(data)


def _load_police(spec: DemoDistrict) -> int:
    grid_ids = dict(Unit.objects.filter(level=UnitLevel.GRID).values_list("code", "id"))
    bureau = PoliceUnit.objects.create(code="PB", name="黄埔分局", level=PoliceLevel.BUREAU)
    stations = PoliceUnit.objects.bulk_create(
        [PoliceUnit(code=s.code, name=s.name, level=PoliceLevel.STATION, parent=bureau) for s in spec.police_stations]
    )
    offices = PoliceUnit.objects.bulk_create(
        [
            PoliceUnit(code=o.code, name=o.name, level=PoliceLevel.OFFICE, parent=station)
            for station, s in zip(stations, spec.police_stations, strict=True)
            for o in s.offices
        ]
    )
    office_specs = [o for s in spec.police_stations for o in s.offices]
    PoliceUnit.objects.bulk_create(
        [
            PoliceUnit(
                code=e.code,
                name=e.name,
                level=PoliceLevel.EMERGENCY_UNIT,
                parent=office,
                grid_id=grid_ids[e.grid_code],
                lon=e.lon,
                lat=e.lat,
            )
            for office, o in zip(offices, office_specs, strict=True)
            for e in o.emergency_units
        ],
        batch_size=1000,
    )
    grids = []
    for office, o in zip(offices, office_specs, strict=True):
        grids += [Unit(pk=grid_ids[code], police_office=office) for code in o.grid_codes]
    Unit.objects.bulk_update(grids, ["police_office"], batch_size=1000)
    return PoliceUnit.objects.count()


def _load_users(*, password: str, seed: int) -> int:
    """The README's demo logins plus realistic staff: a grid worker per grid, two
    handlers per community and street, handlers for every department."""
    rng = random.Random(seed)
    # One hash for every demo account: hashing thousands of times with Argon2 would take
    # minutes, and the accounts share the password anyway.
    password_hash = make_password(password)
    units = list(Unit.objects.defer("boundary").order_by("path"))
    by_code = {u.code: u for u in units}
    by_name = {u.name: u for u in units if u.level != UnitLevel.GRID}
    district = next(u for u in units if u.level == UnitLevel.DISTRICT)
    accounts: list[tuple[str, str, Unit, str]] = []
    for username, role, where, display in DEMO_LOGINS:
        if where == "district":
            unit = district
        elif where.startswith("grid:"):
            community = by_name[where[5:]]
            unit = next(u for u in units if u.parent_id == community.pk)
        else:
            unit = by_code.get(where) or by_name[where]
        accounts.append((username, role, unit, display))
    seq = 0
    for unit in units:
        if unit.level == UnitLevel.GRID:
            per_unit = [(Role.GRID_WORKER, 1)]
        elif unit.level in (UnitLevel.COMMUNITY, UnitLevel.STREET):
            per_unit = [(Role.UNIT_HANDLER, 2)]
        elif unit.level == UnitLevel.DEPARTMENT:
            per_unit = [(Role.MEDIATOR if unit.kind == UnitKind.MEDIATION else Role.DEPARTMENT_HANDLER, 3)]
        else:
            per_unit = [(Role.DISPATCHER, 6), (Role.LEADER, 2)]
        for role, count in per_unit:
            for _ in range(count):
                seq += 1
                accounts.append((f"u{seq:05d}", role, unit, chinese_name(rng)))
    users = []
    for username, role, unit, display in accounts:
        phone = demo_phone(rng)
        users.append(
            User(
                username=username,
                display_name=display,
                unit=unit,
                password=password_hash,
                phone=phone,
                phone_index=blind_index("phone", phone),
                is_staff=ROLE_SPECS[role].admin_site,
            )
        )
    # EncryptedTextField encrypts in get_prep_value, so bulk_create stores ciphertext.
    created = User.objects.bulk_create(users, batch_size=1000)
    RoleGrant.objects.bulk_create(
        [RoleGrant(user=u, role=a[1]) for u, a in zip(created, accounts, strict=True)], batch_size=1000
    )
    return len(created)


@dataclass
class HistorySummary:
    cases: int
    events: int
    seconds: float
    already_loaded: bool = False


def demo_load_history(
    *, count: int = 100_000, seed: int = 20260630, progress: Callable[[int], None] | None = None
) -> HistorySummary:
    """A year of case history for the demo district, so that every page and figure is
    alive on first start. Loads only into a district without cases (idempotent)."""
    # Imported here: the bulk loader borrows this module's name lists.
    from puan.cases.bulk import cases_bulk_load
    from puan.cases.models import Case

    started = time.monotonic()
    if count <= 0 or Case.objects.exists():
        return HistorySummary(cases=0, events=0, seconds=time.monotonic() - started, already_loaded=count > 0)
    report = cases_bulk_load(count=count, seed=seed, days=365, progress=progress)
    return HistorySummary(cases=report.cases, events=report.events, seconds=time.monotonic() - started)
