"""Keeping the roll-ups in step with the timeline: the incremental fold and the rebuild.

The fold (`rollup_fold`, every minute from Huey, `puan rollup`) reads `CaseEvent` rows
past the watermark, recomputes each touched case's facts from its *whole* timeline, and
adds the difference between the new facts and the stored ones to the roll-ups — in one
transaction with the watermark, claimed by a compare-and-set on the watermark row. So:

- it is incremental: its cost follows the events since the last run, not the history;
- it is idempotent and order-proof: a case's facts are a function of its timeline, so
  folding a case twice, or its events out of order, changes nothing;
- two workers never double-count: the second one's compare-and-set finds the version
  moved and it gives up (on PostgreSQL it waits on the row lock first, then gives up);
- an event that commits late under a lower id (PostgreSQL hands out sequence values
  before commit) is remembered as a gap and folded when it appears, for `GAP_TTL`.

Every figure is computed over the fold's horizon: events with `id <= last_event_id` that
are not gaps. `verify.py` uses the same horizon, so it can demand exact equality.

The rebuild (`rollup_rebuild`, `puan rollup --rebuild`, after a bulk load) streams every
timeline once and replaces the tables in one transaction.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from puan.cases.models import Case, CaseEvent
from puan.command.definitions import (
    COLOUR_KEYS,
    DAILY_FIELDS,
    DEPARTMENT_FIELDS,
    OPEN_FIELDS,
    CaseFact,
    Event,
    LocalDays,
    case_fact,
    contributions,
    hex_cell,
)
from puan.command.models import CaseFact as CaseFactRow
from puan.command.models import DailyRollup, DepartmentDailyRollup, HexRollup, OpenRollup, RollupState

log = logging.getLogger(__name__)

# Events per fold transaction: a burst of thousands of cases an hour is a few seconds'
# work, and the transaction (SQLite's write lock) stays short.
FOLD_BATCH = 20_000
# How long an id skipped by the fold is waited for. A case transaction lasts
# milliseconds; a bulk-load batch a few seconds. Longer than this, and the event is
# folded when its case next moves, or by the next rebuild (verify-kpis would show it).
GAP_TTL = timedelta(minutes=15)
# At most this many gap ranges are remembered (each is one BETWEEN in the fold's query).
MAX_GAP_RANGES = 200
# A backlog this large (a bulk load) is rebuilt rather than folded batch by batch.
REBUILD_BACKLOG = 500_000
# When rebuilding, ids missing among the top ones may belong to transactions in flight.
REBUILD_GAP_WINDOW = 10_000
IN_CHUNK = 500

TABLES = {
    "daily": (DailyRollup, ("level", "path", "day"), DAILY_FIELDS),
    "department": (DepartmentDailyRollup, ("level", "path", "day", "department_id"), DEPARTMENT_FIELDS),
    "hex": (HexRollup, ("level", "path", "span", "day", "cell"), ("registered",)),
    "open": (OpenRollup, ("level", "path"), OPEN_FIELDS),
}
FACT_COLUMNS = (
    "case_id",
    "area_path",
    "registered_on",
    "status",
    "resolved_on",
    "resolved_tier",
    "on_time",
    "department_id",
    "satisfaction",
    "colour",
    "cell",
)


# --- gaps ---------------------------------------------------------------------------------


class Gaps:
    """Ranges of event ids the fold stepped over, each with when it was first missed:
    `[[first, last, since], ...]` (inclusive, epoch seconds), sorted and disjoint. Ranges,
    not ids: a bulk load in flight holds tens of thousands of ids, a fresh database may
    start its ids anywhere."""

    def __init__(self, ranges: Iterable[Iterable] = ()) -> None:
        self.ranges = sorted([int(a), int(b), float(t)] for a, b, t in ranges)
        self._starts = [r[0] for r in self.ranges]

    @classmethod
    def of(cls, state: RollupState) -> Gaps:
        return cls(state.gaps)

    def __contains__(self, pk: int) -> bool:
        i = bisect_right(self._starts, pk) - 1
        return i >= 0 and pk <= self.ranges[i][1]

    def __len__(self) -> int:
        return sum(b - a + 1 for a, b, _ in self.ranges)

    def q(self) -> Q:
        q = Q(pk__in=[])
        for a, b, _ in self.ranges:
            q |= Q(pk__range=(a, b))
        return q

    def updated(self, *, after: int, fresh: list[int], found: list[int], now: float) -> Gaps:
        """The gaps after a fold that read `fresh` (ascending ids above `after`) and found
        the gap ids `found`: found ids leave, expired ranges go, new holes come in."""
        keep: list[list] = []
        found_sorted = sorted(found)
        for a, b, t in self.ranges:
            if now - t >= GAP_TTL.total_seconds():
                continue
            keep += [[x, y, t] for x, y in _holes(a - 1, [f for f in found_sorted if a <= f <= b], b)]
        previous = after
        for pk in fresh:
            if pk > previous + 1:
                keep.append([previous + 1, pk - 1, now])
            previous = pk
        if len(keep) > MAX_GAP_RANGES:
            log.warning("command roll-up: %d gap ranges, keeping the newest %d", len(keep), MAX_GAP_RANGES)
            keep = sorted(keep)[-MAX_GAP_RANGES:]
        return Gaps(keep)


def _holes(before: int, ids: list[int], last: int) -> list[tuple[int, int]]:
    """The ranges in (before, last] not covered by the ascending `ids`."""
    out, previous = [], before
    for pk in [*ids, last + 1]:
        if pk > previous + 1:
            out.append((previous + 1, pk - 1))
        previous = pk
    return out


# --- reading timelines ------------------------------------------------------------------


def _event_sql(where: str) -> str:
    """Timeline rows with what the figures need pulled out of `data` by the database,
    so that millions of JSON documents are never decoded in Python."""
    table = CaseEvent._meta.db_table
    if connection.vendor == "postgresql":
        epoch = "FLOOR(EXTRACT(EPOCH FROM at))::bigint"

        def key(k: str) -> str:
            return f"data->>'{k}'"

    else:
        epoch = "CAST(strftime('%%s', at) AS INTEGER)"

        def key(k: str) -> str:
            return f"json_extract(data, '$.{k}')"

    colour = " ".join(f"WHEN '{kind}' THEN {key(k)}" for kind, k in COLOUR_KEYS.items())
    return (
        f"SELECT id, case_id, seq, kind, to_state, tier, {epoch},"
        f" CASE WHEN kind = 'assign' THEN {key('lead_department')} END,"
        f" CASE WHEN kind = 'rate' THEN {key('satisfaction')} END,"
        f" CASE WHEN kind = 'escalate' THEN {key('by')}"
        f" WHEN kind = 'resolve' AND {key('overdue')} IS NOT NULL THEN 'late' END,"
        f" CASE kind {colour} END"
        f" FROM {table} {where} ORDER BY case_id, seq"
    )


def _event(row: tuple) -> Event:
    return Event(
        row[0],
        row[2],
        row[3],
        row[4],
        row[5],
        row[6],
        int(row[7]) if row[7] is not None else 0,
        int(row[8]) if row[8] is not None else 0,
        row[9] or "",
        row[10] or "",
    )


def _fetch(cursor, size: int = 10_000) -> Iterator[tuple]:
    while rows := cursor.fetchmany(size):
        yield from rows


def timelines_of(case_ids: Iterable[int], *, horizon: int, gaps: Gaps) -> dict[int, list[Event]]:
    """The timelines of a few cases, cut to the fold's horizon."""

    def inside(event_id: int) -> bool:
        return event_id <= horizon and event_id not in gaps

    out: dict[int, list[Event]] = defaultdict(list)
    ids = sorted(set(case_ids))
    with connection.cursor() as cursor:
        for first in range(0, len(ids), IN_CHUNK):
            chunk = ids[first : first + IN_CHUNK]
            cursor.execute(_event_sql(f"WHERE case_id IN ({', '.join(['%s'] * len(chunk))})"), chunk)
            for row in cursor.fetchall():
                if inside(row[0]):
                    out[row[1]].append(_event(row))
    return out


def _places(case_ids: Iterable[int]) -> dict[int, tuple[str, int]]:
    """Where each case is (never changes after intake): its area path and h3 cell."""
    out = {}
    ids = sorted(set(case_ids))
    for first in range(0, len(ids), IN_CHUNK):
        rows = Case.objects.filter(pk__in=ids[first : first + IN_CHUNK]).values_list("pk", "area_path", "lon", "lat")
        for pk, area_path, lon, lat in rows:
            out[pk] = (area_path, hex_cell(lon, lat))
    return out


# --- writing ------------------------------------------------------------------------------


def _db_value(value):
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _upsert_deltas(deltas: dict[tuple[str, tuple], list[int]]) -> int:
    """Add each delta to its roll-up row, creating the row if needed."""
    by_table: dict[str, list[tuple]] = defaultdict(list)
    for (table, key), values in deltas.items():
        if any(values):
            by_table[table].append((*[_db_value(k) for k in key], *values))
    written = 0
    with connection.cursor() as cursor:
        for table, rows in by_table.items():
            model, keys, fields = TABLES[table]
            name = model._meta.db_table
            columns = ", ".join((*keys, *fields))
            marks = ", ".join(["%s"] * (len(keys) + len(fields)))
            sets = ", ".join(f"{f} = {name}.{f} + excluded.{f}" for f in fields)
            cursor.executemany(
                f"INSERT INTO {name} ({columns}) VALUES ({marks}) ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}",
                rows,
            )
            written += len(rows)
    return written


def _fact_row(fact: CaseFact) -> tuple:
    return tuple(_db_value(getattr(fact, c)) for c in FACT_COLUMNS)


def _store_facts(facts: dict[int, CaseFact | None]) -> None:
    name = CaseFactRow._meta.db_table
    gone = [pk for pk, f in facts.items() if f is None]
    rows = [_fact_row(f) for f in facts.values() if f is not None]
    with connection.cursor() as cursor:
        if rows:
            columns = ", ".join(FACT_COLUMNS)
            marks = ", ".join(["%s"] * len(FACT_COLUMNS))
            sets = ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS[1:])
            cursor.executemany(
                f"INSERT INTO {name} ({columns}) VALUES ({marks}) ON CONFLICT (case_id) DO UPDATE SET {sets}", rows
            )
        for first in range(0, len(gone), IN_CHUNK):
            chunk = gone[first : first + IN_CHUNK]
            cursor.execute(f"DELETE FROM {name} WHERE case_id IN ({', '.join(['%s'] * len(chunk))})", chunk)


def _stored_facts(case_ids: list[int]) -> dict[int, CaseFact]:
    out = {}
    for first in range(0, len(case_ids), IN_CHUNK):
        rows = CaseFactRow.objects.filter(case_id__in=case_ids[first : first + IN_CHUNK]).values_list(*FACT_COLUMNS)
        for row in rows:
            out[row[0]] = CaseFact(*row)
    return out


# --- the fold -----------------------------------------------------------------------------


@dataclass
class FoldReport:
    events: int = 0
    cases: int = 0
    rows: int = 0
    batches: int = 0
    gaps: int = 0
    last_event_id: int = 0
    seconds: float = 0.0
    skipped: bool = False  # another worker was folding
    rebuild: RebuildReport | None = None  # the backlog was rebuilt rather than folded

    @property
    def rebuilt(self) -> bool:
        return self.rebuild is not None

    def as_line(self) -> str:
        if self.skipped:
            return "另一进程正在汇总，本次跳过。"
        if self.rebuild is not None:
            # What the rebuild took in; events that arrived meanwhile were folded after it.
            line = f"积压过多，已重建汇总。{self.rebuild.as_line()}"
            return line + (f"；其后{self._folded()}" if self.events else "")
        return self._folded()

    def _folded(self) -> str:
        return (
            f"汇总 {self.events:,} 条办理记录（{self.cases:,} 件案件，{self.rows:,} 行增量），"
            f"已汇总至记录号 {self.last_event_id:,}，待补 {self.gaps} 条，用时 {self.seconds:.2f} 秒"
        )


def _backlog() -> int:
    """Events above the watermark, roughly (ids, not rows)."""
    top = CaseEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return top - (RollupState.objects.filter(pk=1).values_list("last_event_id", flat=True).first() or 0)


def rollup_state() -> RollupState:
    state, _ = RollupState.objects.get_or_create(pk=1)
    return state


def _claim(state: RollupState) -> bool:
    """Compare-and-set on the watermark row: exactly one worker moves it from this version."""
    return RollupState.objects.filter(pk=1, version=state.version).update(version=F("version") + 1) == 1


def rollup_fold(*, batch: int = FOLD_BATCH, max_batches: int | None = None) -> FoldReport:
    """Fold every event since the watermark (in batches of `batch` events), or up to
    `max_batches` batches. Safe to run anywhere, any number of times, concurrently.

    A backlog of more than REBUILD_BACKLOG events (a bulk load, `puan load-demo`) is
    rebuilt instead: the rebuild reads outside any write transaction, where a hundred fold
    batches would each hold SQLite's write lock for seconds."""
    started = time.perf_counter()
    report = FoldReport()
    if max_batches is None and _backlog() > REBUILD_BACKLOG:
        log.info("command roll-up: %d events behind, rebuilding instead of folding", _backlog())
        report.rebuild = rollup_rebuild()
    while max_batches is None or report.batches < max_batches:
        with transaction.atomic():
            state = rollup_state()
            if not _claim(state):
                report.skipped = True
                break
            moved = _fold_batch(state, batch, report)
        report.batches += 1
        if not moved:
            break
    report.seconds = time.perf_counter() - started
    return report


def _fold_batch(state: RollupState, batch: int, report: FoldReport) -> bool:
    """One claimed transaction's work. Returns whether there may be more to fold."""
    now = timezone.now()
    old = Gaps.of(state)
    fresh = list(
        CaseEvent.objects.filter(pk__gt=state.last_event_id).order_by("pk").values_list("pk", "case_id")[:batch]
    )
    late = list(CaseEvent.objects.filter(old.q()).values_list("pk", "case_id")) if old.ranges else []
    horizon = fresh[-1][0] if fresh else state.last_event_id
    gaps = old.updated(
        after=state.last_event_id, fresh=[pk for pk, _ in fresh], found=[pk for pk, _ in late], now=now.timestamp()
    )
    touched = sorted({case_id for _, case_id in fresh} | {case_id for _, case_id in late})
    rows = _refold_cases(touched, horizon=horizon, gaps=gaps)
    RollupState.objects.filter(pk=1).update(last_event_id=horizon, gaps=gaps.ranges, folded_at=now)
    report.events += len(fresh) + len(late)
    report.cases += len(touched)
    report.rows += rows
    report.gaps = len(gaps)
    report.last_event_id = horizon
    return len(fresh) == batch


def _refold_cases(case_ids: list[int], *, horizon: int, gaps: Gaps) -> int:
    """Recompute the cases' facts and move the roll-ups by new − old."""
    if not case_ids:
        return 0
    timelines = timelines_of(case_ids, horizon=horizon, gaps=gaps)
    places = _places(case_ids)
    old = _stored_facts(case_ids)
    day = LocalDays()
    new: dict[int, CaseFact | None] = {}
    deltas: dict[tuple[str, tuple], list[int]] = {}
    for pk in case_ids:
        area_path, cell = places.get(pk, ("", 0))
        fact = case_fact(pk, area_path, cell, timelines.get(pk, ()), day) if area_path else None
        before = old.get(pk)
        if fact == before:
            continue
        new[pk] = fact
        for key, values in contributions(fact).items():
            _merge(deltas, key, values, 1)
        for key, values in contributions(before).items():
            _merge(deltas, key, values, -1)
    _store_facts(new)
    return _upsert_deltas(deltas)


def _merge(deltas: dict, key, values: list[int], sign: int) -> None:
    row = deltas.get(key)
    if row is None:
        deltas[key] = [sign * v for v in values]
    else:
        for i, v in enumerate(values):
            row[i] += sign * v


# --- the rebuild --------------------------------------------------------------------------


@dataclass
class RebuildReport:
    cases: int = 0
    events: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    last_event_id: int = 0
    read_seconds: float = 0.0
    write_seconds: float = 0.0

    def as_line(self) -> str:
        rows = "，".join(f"{k} {v:,} 行" for k, v in self.rows.items())
        return (
            f"重建完成：{self.cases:,} 件案件、{self.events:,} 条办理记录 → {rows}；"
            f"读取计算 {self.read_seconds:.1f} 秒，写入 {self.write_seconds:.1f} 秒"
        )


def _all_timelines() -> Iterator[tuple[int, str, int, list[Event], int]]:
    """Every case with its timeline, streamed: events ordered by (case, seq) merged with
    the cases ordered by id. Yields (case id, area path, cell, events, top event id)."""
    with connection.chunked_cursor() as events, connection.chunked_cursor() as cases:
        events.execute(_event_sql(""), [])
        cases.execute(f"SELECT id, area_path, lon, lat FROM {Case._meta.db_table} ORDER BY id", [])
        case_rows = _fetch(cases)
        place = next(case_rows, None)
        current, timeline, top = None, [], 0
        for row in _fetch(events):
            if row[1] != current:
                if current is not None:
                    while place is not None and place[0] < current:
                        place = next(case_rows, None)
                    if place is not None and place[0] == current:
                        yield current, place[1], hex_cell(place[2], place[3]), timeline, top
                current, timeline, top = row[1], [], 0
            timeline.append(_event(row))
            top = max(top, row[0])
        if current is not None:
            while place is not None and place[0] < current:
                place = next(case_rows, None)
            if place is not None and place[0] == current:
                yield current, place[1], hex_cell(place[2], place[3]), timeline, top


def rollup_rebuild() -> RebuildReport:
    """Recompute every fact and roll-up row from the whole timeline and replace the
    tables. Reading happens outside any write transaction (SQLite keeps serving writes
    meanwhile); events committed during the read are folded by the next fold."""
    report = RebuildReport()
    started = time.perf_counter()
    facts: list[CaseFact] = []
    sums: dict[tuple[str, tuple], list[int]] = {}
    top = 0
    ids_near_top: set[int] = set()
    day = LocalDays()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {CaseEvent._meta.db_table}")
        ceiling = cursor.fetchone()[0] or 0
    for case_id, area_path, cell, timeline, case_top in _all_timelines():
        report.events += len(timeline)
        top = max(top, case_top)
        ids_near_top.update(e.id for e in timeline if e.id > ceiling - REBUILD_GAP_WINDOW)
        fact = case_fact(case_id, area_path, cell, timeline, day)
        if fact is None:
            continue
        facts.append(fact)
        for key, values in contributions(fact).items():
            row = sums.get(key)
            if row is None:
                sums[key] = list(values)  # contributions may share one list between keys
            else:
                for i, v in enumerate(values):
                    row[i] += v
    # Ids below the top the stream did not see may be transactions still in flight.
    now = timezone.now()
    floor = max(0, top - REBUILD_GAP_WINDOW)
    gaps = Gaps([a, b, now.timestamp()] for a, b in _holes(floor, sorted(i for i in ids_near_top if i > floor), top))
    report.cases, report.last_event_id = len(facts), top
    report.read_seconds = time.perf_counter() - started

    started = time.perf_counter()
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for (table, key), values in sums.items():
        grouped[table].append((*key, *values))
    with transaction.atomic():
        state = rollup_state()
        # Not a compare-and-set that may fail: the rebuild wins, it waits for a running fold.
        RollupState.objects.filter(pk=1).update(version=F("version") + 1)
        for model in (CaseFactRow, DailyRollup, DepartmentDailyRollup, HexRollup, OpenRollup):
            model.objects.all().delete()
        _bulk_insert(
            CaseFactRow._meta.db_table, FACT_COLUMNS, (tuple(getattr(f, c) for c in FACT_COLUMNS) for f in facts)
        )
        for table, rows in grouped.items():
            model, keys, fields = TABLES[table]
            _bulk_insert(model._meta.db_table, (*keys, *fields), rows)
            report.rows[table] = len(rows)
        RollupState.objects.filter(pk=state.pk).update(
            last_event_id=top, gaps=gaps.ranges, folded_at=now, rebuilt_at=now
        )
    report.rows["facts"] = len(facts)
    if connection.vendor == "postgresql":
        # Fresh statistics for the planner and, outside a transaction, a fresh visibility
        # map, so that the heat map's covering index is read without visiting the table.
        command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
        with connection.cursor() as cursor:
            for model in (CaseFactRow, DailyRollup, DepartmentDailyRollup, HexRollup, OpenRollup):
                cursor.execute(f"{command} {model._meta.db_table}")
    report.write_seconds = time.perf_counter() - started
    return report


def _bulk_insert(table: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Many rows fast: COPY on PostgreSQL, multi-row INSERTs on SQLite."""
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    per = max(1, 30_000 // len(columns))
    one = "(" + ", ".join(["?"] * len(columns)) + ")"
    raw = connection.connection
    batch: list = []
    count = 0

    def flush() -> None:
        if count:
            raw.execute(f"INSERT INTO {table} ({names}) VALUES " + ", ".join([one] * count), batch)

    for row in rows:
        batch.extend(v.isoformat() if isinstance(v, date) else (int(v) if isinstance(v, bool) else v) for v in row)
        count += 1
        if count == per:
            flush()
            batch, count = [], 0
    flush()
