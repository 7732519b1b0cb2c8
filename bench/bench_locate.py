"""Point-in-grid lookups in batch against the demo district's ~2,000 grids, with an STRtree
versus a brute-force scan of every grid. Judged by: ≥ 100,000 lookups/s, and the ratio of
the tree's rate to the brute-force rate is printed. Single lookups (one report's point)
are timed beside a tree query per point, and must give the batch's answers."""

from __future__ import annotations

import time

import numpy as np
import shapely
from _common import report

from puan.org.demo_geo import generate_district
from puan.org.geo import GridIndex

POINTS = 1_000_000
BRUTE_POINTS = 50_000
SINGLE_POINTS = 50_000


def main() -> int:
    district = generate_district()
    rows = [
        (i, g.code, g.name, f"{i:08d}", g.geometry)
        for i, g in enumerate((g for s in district.streets for c in s.communities for g in c.grids), start=1)
    ]
    started = time.perf_counter()
    index = GridIndex(rows)
    build_seconds = time.perf_counter() - started

    rng = np.random.default_rng(7)
    minx, miny, maxx, maxy = shapely.bounds(shapely.from_geojson(_dumps(district.geometry)))
    lons = rng.uniform(minx, maxx, POINTS)
    lats = rng.uniform(miny, maxy, POINTS)

    index.locate_many(lons[:10_000], lats[:10_000])  # warm-up
    started = time.perf_counter()
    found = index.locate_many(lons, lats)
    tree_seconds = time.perf_counter() - started
    tree_rate = POINTS / tree_seconds

    # Brute force, vectorised as well as it can be: each grid tests every point at once
    # (prepared geometry), the first grid to claim a point keeps it.
    b_lons, b_lats = lons[:BRUTE_POINTS], lats[:BRUTE_POINTS]
    started = time.perf_counter()
    brute = np.full(BRUTE_POINTS, -1)
    for pos, geom in enumerate(index.geometries):
        hit = shapely.intersects_xy(geom, b_lons, b_lats) & (brute == -1)
        brute[hit] = pos
    brute_seconds = time.perf_counter() - started
    brute_rate = BRUTE_POINTS / brute_seconds
    agree = int((brute == found[:BRUTE_POINTS]).sum())

    # One point at a time, as a report is located: the cell table and crossing test, and
    # a tree query per point for comparison (warm caches here; a request's are cold).
    single_lons, single_lats = lons[:SINGLE_POINTS].tolist(), lats[:SINGLE_POINTS].tolist()
    started = time.perf_counter()
    singles = [index.locate(x, y) for x, y in zip(single_lons, single_lats, strict=True)]
    single_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for x, y in zip(single_lons, single_lats, strict=True):
        index.tree.query(shapely.Point(x, y), predicate="intersects")
    tree_single_seconds = time.perf_counter() - started
    single_agree = sum(
        (hit.grid_id if hit else None) == (index.hits[p].grid_id if p >= 0 else None)
        for hit, p in zip(singles, found[:SINGLE_POINTS].tolist(), strict=True)
    )

    ok = report(
        "locate",
        {
            "grids": f"{len(index):,}",
            "index build": f"{build_seconds * 1000:.0f} ms",
            "STRtree batch": f"{POINTS:,} points in {tree_seconds:.2f} s = {tree_rate:,.0f} lookups/s",
            "inside the district": f"{(found >= 0).mean() * 100:.1f}% of points",
            "brute-force scan (vectorised per grid)": (
                f"{BRUTE_POINTS:,} points in {brute_seconds:.2f} s = {brute_rate:,.0f} lookups/s"
            ),
            "answers agree": f"{agree:,}/{BRUTE_POINTS:,}",
            "single lookups (cell table)": (
                f"{single_seconds / SINGLE_POINTS * 1e6:.1f} µs each against"
                f" {tree_single_seconds / SINGLE_POINTS * 1e6:.1f} µs for a tree query per point;"
                f" answers agree with the batch {single_agree:,}/{SINGLE_POINTS:,}"
            ),
            "requirement": "≥ 100,000 lookups/s",
        },
        "STRtree / brute force",
        tree_rate / brute_rate,
        1.0,
    )
    ok = ok and tree_rate >= 100_000 and agree == BRUTE_POINTS and single_agree == SINGLE_POINTS
    return 0 if ok else 1


def _dumps(geometry: dict) -> str:
    import json

    return json.dumps(geometry)


if __name__ == "__main__":
    raise SystemExit(main())
