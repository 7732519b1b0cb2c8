"""HTTP intake through the whole pipeline (validation, grid lookup, duplicate check, colour,
routing, deadlines, timeline) on gunicorn with 2 workers and 16 concurrent clients, against
two yardsticks served by the same server in the same run: a no-op endpoint and one that
commits a bare row (`PUAN_BENCH_ENDPOINTS=1`).

Judged by: on SQLite, intake ≥ 0.5 × the no-op rate; on PostgreSQL (which shares the
machine's cores with the server and the clients), intake ≥ 0.6 × the bare-row rate; intake
p99 < 100 ms on both; no error responses. PostgreSQL is skipped when no server answers at
`PUAN_BENCH_PG_URL` (default postgres://postgres@127.0.0.1:5432/postgres).

Each database is fresh: a SQLite file in a temporary `PUAN_DATA_DIR`, or a throwaway
PostgreSQL database, migrated and loaded with the demo district (~2,020 grids), both
removed at the end even when the run fails.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _common import ROOT, report

WORKERS = 2
CLIENTS = 16
SECONDS = float(os.environ.get("PUAN_BENCH_SECONDS", "15"))  # measured, per endpoint
WARMUP_SECONDS = float(os.environ.get("PUAN_BENCH_WARMUP_SECONDS", "3"))
# The measured time is cut into rounds that visit the endpoints in turn, so that a burst of
# other work on the machine weighs on all three alike instead of skewing one ratio.
ROUNDS = int(os.environ.get("PUAN_BENCH_ROUNDS", "3"))
PG_URL = os.environ.get("PUAN_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SQLITE_RATIO = 0.5  # intake / no-op
PG_RATIO = 0.6  # intake / bare row
P99_LIMIT_MS = 100.0
REPEAT_SHARE = 0.05  # reports that deliberately repeat a recent one (linked, answered 200)
HOST = "127.0.0.1"
BIN = Path(sys.executable).parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Run inside the fresh database's environment: bearer tokens for grid workers, public
# categories, and a pool of points spread uniformly over random grids.
FIXTURE_SCRIPT = """
import json, random, sys
import django
django.setup()
import numpy as np, shapely
from shapely.geometry import shape
from puan.accounts.models import User
from puan.accounts.roles import Role
from puan.accounts.services import token_issue
from puan.org.models import Unit, UnitLevel
from puan.taxonomy.models import Category

clients, points = int(sys.argv[1]), int(sys.argv[2])
workers = list(
    User.objects.filter(role_grants__role=Role.GRID_WORKER, is_active=True).order_by("pk")[: clients - 1]
)
grid1 = User.objects.get(username="grid1")
users = [grid1] + [u for u in workers if u.pk != grid1.pk][: clients - 1]
tokens = [token_issue(user=u)[0] for u in users]
categories = [
    [c.code, c.name] for c in Category.objects.filter(public=True, is_active=True).order_by("code")
]
grids = [
    (name, shape(boundary))
    for name, boundary in Unit.objects.filter(
        level=UnitLevel.GRID, is_active=True, boundary__isnull=False
    ).values_list("name", "boundary")
]
rng = np.random.default_rng(2026)
out = []
while len(out) < points:
    name, geom = grids[int(rng.integers(len(grids)))]
    minx, miny, maxx, maxy = geom.bounds
    for _ in range(50):
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(geom, x, y):
            out.append([round(float(x), 7), round(float(y), 7), name])
            break
print(json.dumps({"tokens": tokens, "categories": categories, "points": out}))
"""


# --- databases and the server ---------------------------------------------------------


def _base_env(data_dir: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUAN_") and k != "DATABASE_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="puan.settings",
        # Never the developer's .env: the benchmark states every setting it relies on.
        PUAN_ENV_FILE=str(data_dir / "no.env"),
        PUAN_DATA_DIR=str(data_dir),
        DATABASE_URL=database_url,
        PUAN_DEBUG="0",
        PUAN_SECRET_KEY=secrets.token_urlsafe(48),
        PUAN_PII_KEY=secrets.token_urlsafe(48),
        PUAN_ALLOWED_HOSTS=HOST,
        PUAN_BENCH_ENDPOINTS="1",
        # Red cases log a warning each; keep the server's log to real problems.
        PUAN_LOG_LEVEL="ERROR",
        PUAN_DEMO_PASSWORD=os.environ.get("PUAN_DEMO_PASSWORD", "Puan@2026"),
    )
    return env


def _postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3):
            return True
    except Exception:
        return False


@contextlib.contextmanager
def sqlite_database(work: Path) -> Iterator[str]:
    yield ""  # empty DATABASE_URL: $PUAN_DATA_DIR/puan.sqlite3, removed with `work`


@contextlib.contextmanager
def postgres_database(work: Path) -> Iterator[str]:
    import psycopg

    name = f"puan_bench_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(PG_URL)
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(args: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def prepare(env: dict[str, str], *, points: int) -> dict:
    cli = [sys.executable, "-m", "puan.cli"]
    _run([*cli, "migrate", "--no-input", "-v", "0"], env, "migrate")
    # `--cases N` (demo cases) is newer than this benchmark; without it there are none anyway.
    help_text = _run([*cli, "load_demo", "--help"], env, "load_demo --help")
    extra = ["--cases", "0"] if "--cases" in help_text else []
    _run([*cli, "load_demo", *extra], env, "load_demo")
    out = _run([sys.executable, "-c", FIXTURE_SCRIPT, str(CLIENTS), str(points)], env, "fixtures")
    return json.loads(out.strip().splitlines()[-1])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class Server:
    port: int
    master_pid: int

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the master's worker processes: the
        server's own cost per request, whatever else the machine is running."""
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            if int(fields[1]) == self.master_pid:
                total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total


@contextlib.contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[Server]:
    port = _free_port()
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "puan.wsgi:application", "-w", str(WORKERS), "-b", f"{HOST}:{port}"],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(proc, port, log)
            yield Server(port, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_up(proc: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            status, _ = Connection(port).request("GET", "/api/v1/me", b"", token="")
            if status == 401:  # routed through Django, auth answered: the server is up
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within 60 s:\n{log.read_text()[-4000:]}")


# --- the client -----------------------------------------------------------------------


class Connection:
    """A minimal HTTP/1.1 client on a raw socket: the client shares the 2 cores with the
    server, so it must cost as little as possible. It keeps the connection alive when the
    server does (gunicorn's sync workers close it after every response)."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None

    def request(self, method: str, path: str, body: bytes, *, token: str) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection((HOST, self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.sock.sendall(head.encode() + body)
            return self._read()
        except OSError:
            self.close()
            raise

    def _read(self) -> tuple[int, bytes]:
        sock = self.sock
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed before the response headers")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = headers.get("content-length")
        if length is None:  # body runs to the end of the connection
            while chunk := sock.recv(65536):
                rest += chunk
            self.close()
            return status, rest
        while len(rest) < int(length):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed in the middle of the body")
            rest += chunk
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, rest

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


@dataclass
class Result:
    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds of the gunicorn workers' CPU
    client_cpu: float = 0.0  # seconds of this process's CPU

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def add(self, other: Result) -> None:
        self.seconds += other.seconds
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.errors += other.errors
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu

    def cpu_per_request_ms(self, seconds: float) -> float:
        return seconds / self.requests * 1000 if self.requests else float("nan")

    def line(self) -> str:
        statuses = ", ".join(f"{code}×{n:,}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.requests:,} requests in {self.seconds:.1f} s = {self.rate:,.0f} req/s; "
            f"p50 {self.percentile(50):.1f} ms, p95 {self.percentile(95):.1f} ms, "
            f"p99 {self.percentile(99):.1f} ms; CPU per request: "
            f"server {self.cpu_per_request_ms(self.server_cpu):.2f} ms, "
            f"client {self.cpu_per_request_ms(self.client_cpu):.2f} ms; {statuses}; errors {len(self.errors)}"
        )


def drive(server: Server, tokens: list[str], path: str, bodies: Iterator[bytes], seconds: float) -> Result:
    """CLIENTS closed-loop clients, each sending its next request as soon as the last one
    is answered, for `seconds`. Any non-2xx answer (or broken connection) is an error.
    The clients take their bodies in turn from `bodies`, written before the run so that
    writing them takes nothing from the cores the server runs on."""
    result = Result(path)
    lock = threading.Lock()
    start_gate = threading.Barrier(CLIENTS + 1)
    deadline = [0.0]

    def client(number: int) -> None:
        conn = Connection(server.port)
        token = tokens[number % len(tokens)]
        latencies: list[float] = []
        statuses: Counter = Counter()
        errors: list[str] = []
        start_gate.wait()
        clock = time.perf_counter
        while clock() < deadline[0]:
            body = next(bodies, None)
            if body is None:  # more requests than reports written: the machine outran the pool
                errors.append("ran out of reports written ahead (raise the points per second in bench_database)")
                break
            started = clock()
            try:
                status, answer = conn.request("POST", path, body, token=token)
            except OSError as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                time.sleep(0.05)  # a server that is down must not turn this into a busy loop
                continue
            latencies.append(clock() - started)
            statuses[status] += 1
            if not 200 <= status < 300:
                errors.append(f"{status}: {answer[:300].decode('utf-8', 'replace')}")
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)
            result.errors.extend(errors)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    server_cpu, client_cpu = server.worker_cpu_seconds(), time.process_time()
    deadline[0] = time.perf_counter() + seconds
    started = time.perf_counter()
    start_gate.wait()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - started
    result.server_cpu = server.worker_cpu_seconds() - server_cpu
    result.client_cpu = time.process_time() - client_cpu
    return result


# --- payloads -------------------------------------------------------------------------

KINDS = ["event"] * 5 + ["hazard"] * 3 + ["dispute"] * 2 + ["appeal", "emergency"]
ORANGE_FACTS = [
    {"public_place": True},
    {"safety_hazard": True},
    {"people_involved": 8},
    {"vulnerable_people": True},
    {"injury": True},
    {"property_loss": 150_000},
]
RED_FACTS = [
    {"group_incident": True, "people_involved": 40},
    {"danger_to_life": True},
    {"public_place": True, "injury": True},
    {"property_loss": 2_000_000},
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
PLACES = ["小区北门", "菜市场旁", "公交站附近", "沿街商铺前", "村委会对面", "学校门口", "河涌边", "工地围挡外"]


class IntakePayloads:
    """Realistic, varied reports by grid workers on patrol: random points in random
    grids, public categories, mostly without risk facts, a few orange and red ones, and a
    small share that repeats a recent report (which intake links to the open case)."""

    def __init__(self, fixtures: dict):
        self.categories = fixtures["categories"]
        self.points = fixtures["points"]
        self.next_point = 0
        self.recent: list[tuple[float, float, str, str, str]] = []

    def __call__(self, rng: random.Random) -> bytes:
        if self.recent and rng.random() < REPEAT_SHARE:
            lon, lat, grid, code, name = rng.choice(self.recent)
        else:
            lon, lat, grid = self.points[self.next_point % len(self.points)]
            self.next_point += 1
            code, name = rng.choice(self.categories)
            self.recent = [*self.recent[-199:], (lon, lat, grid, code, name)]
        kind = rng.choice(KINDS)
        roll = rng.random()
        facts = rng.choice(RED_FACTS) if roll < 0.08 else rng.choice(ORANGE_FACTS) if roll < 0.25 else {}
        place = rng.choice(PLACES)
        body = {
            "kind": kind,
            "channel": "patrol",
            "category": code,
            "title": f"{grid}{place}{name}"[:200],
            "description": f"巡查发现{place}存在{name}问题，现场已拍照记录，请相关部门尽快处理。",
            "lon": lon,
            "lat": lat,
            "address": f"{grid}{place}",
            "facts": facts,
        }
        if rng.random() < 0.3:
            body["reporter_name"] = _name(rng)
            body["reporter_phone"] = "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))
        if kind == "dispute":
            body["parties"] = [{"role": "applicant", "name": _name(rng)}, {"role": "respondent", "name": _name(rng)}]
        return json.dumps(body, ensure_ascii=False).encode()


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")


def _bench_body(rng: random.Random) -> bytes:
    return b'{"note": "bench", "n": %d}' % rng.randrange(1000)


def written_ahead(make_body: Callable[[random.Random], bytes], count: int, *, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [make_body(rng) for _ in range(count)]


# --- one database ---------------------------------------------------------------------


def bench_database(label: str, database: Callable[[Path], contextlib.AbstractContextManager[str]]) -> dict:
    with tempfile.TemporaryDirectory(prefix="puan-bench-intake-") as tmp:
        work = Path(tmp)
        with database(work) as url:
            env = _base_env(work, url)
            started = time.perf_counter()
            # Enough distinct points (at 1,000 intakes/s, well above what 2 cores manage) that
            # no point comes round twice and turns into a duplicate by accident.
            fixtures = prepare(env, points=int((SECONDS + WARMUP_SECONDS) * 1000))
            print(f"[intake] {label}: fresh database migrated and loaded in {time.perf_counter() - started:.1f} s")
            # Reports in order (a repeat follows the report it repeats), one per request and
            # never sent twice; the yardsticks' bodies come round again.
            reports = iter(written_ahead(IntakePayloads(fixtures), len(fixtures["points"]), seed=2026))
            bench_bodies = written_ahead(_bench_body, 1000, seed=7919)
            tokens = fixtures["tokens"]
            endpoints = (
                ("no-op", "/api/v1/bench/noop", itertools.cycle(bench_bodies)),
                ("bare row", "/api/v1/bench/row", itertools.cycle(bench_bodies)),
                ("intake", "/api/v1/cases", reports),
            )
            results = {name: Result(path) for name, path, _ in endpoints}
            with gunicorn(env, work / "gunicorn.log") as server:
                for _, path, bodies in endpoints:  # first requests build each worker's caches
                    drive(server, tokens, path, bodies, WARMUP_SECONDS)
                for round_number in range(1, ROUNDS + 1):
                    for name, path, bodies in endpoints:
                        part = drive(server, tokens, path, bodies, SECONDS / ROUNDS)
                        results[name].add(part)
                        print(f"[intake] {label} round {round_number} {name}: {part.line()}", flush=True)
            log = (work / "gunicorn.log").read_text(errors="replace")
            if "Traceback" in log or "[ERROR]" in log:
                print(f"[intake] {label}: the server logged errors:\n{log[-3000:]}")
            return results


def judge(label: str, results: dict, yardstick: str, threshold: float) -> bool:
    intake, noop = results["intake"], results["no-op"]
    created, linked = intake.statuses.get(201, 0), intake.statuses.get(200, 0)
    answered = max(1, created + linked)
    figures = {f"{name} ({label})": result.line() for name, result in results.items()} | {
        "intake answers": (
            f"{created / answered:.1%} new cases (201), {linked / answered:.1%} linked to an open one (200)"
        ),
        "server CPU per request": ", ".join(
            f"{name} {result.cpu_per_request_ms(result.server_cpu):.2f} ms" for name, result in results.items()
        )
        + f" (intake = {intake.server_cpu / intake.requests / (noop.server_cpu / noop.requests):.1f} × no-op)",
        "requirement": f"intake ≥ {threshold:g} × {yardstick}, intake p99 < {P99_LIMIT_MS:g} ms, no errors",
    }
    for name, result in results.items():
        for error in result.errors[:5]:
            print(f"[intake] {label} {name} error: {error}")
    ok = report(f"intake/{label}", figures, f"intake / {yardstick}", intake.rate / results[yardstick].rate, threshold)
    p99 = intake.percentile(99)
    p99_ok = p99 < P99_LIMIT_MS
    errors = sum(len(r.errors) for r in results.values())
    print(f"[intake/{label}] intake p99: {p99:.1f} ms (needs < {P99_LIMIT_MS:g}) → {'PASS' if p99_ok else 'FAIL'}")
    print(f"[intake/{label}] errors: {errors} (needs 0) → {'PASS' if errors == 0 else 'FAIL'}")
    return ok and p99_ok and errors == 0


def _load() -> str:
    try:
        return " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> int:
    # Other work on the machine competes for the same cores; the load average tells the
    # reader how quiet it was (the ratios are robust to it, the absolute rates are not).
    print(f"[intake] load average (1, 5, 15 min) before: {_load()}")
    ok = True
    runs: list[tuple[str, Callable, str, float]] = [("SQLite", sqlite_database, "no-op", SQLITE_RATIO)]
    if _postgres_answers():
        runs.append(("PostgreSQL", postgres_database, "bare row", PG_RATIO))
    else:
        print(f"[intake] PostgreSQL: no server answers at {PG_URL}; skipped")
    verdicts = []
    for label, database, yardstick, threshold in runs:
        results = bench_database(label, database)
        verdicts.append((label, results, yardstick, threshold))
    print(f"[intake] load average (1, 5, 15 min) after: {_load()}")
    for label, results, yardstick, threshold in verdicts:
        ok = judge(label, results, yardstick, threshold) and ok
    print(f"[intake] overall → {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
