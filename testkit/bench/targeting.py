"""``bousai bench targeting``: resolve an alert's recipients among N places, against plain PostGIS.

Data (database ``bousai_bench_targeting``, kept between runs with ``--reuse``): N places
spread uniformly over Fukushima's land area, geocoded with the app's own area polygons
(shapely STRtree, vectorized), bulk-loaded with COPY: N/2 residents, each with a home and
either a work place or a device's current location.

Three alerts, each measured through ``iter_matches`` (what the worker runs: rows in resident
order for codes, column arrays per bucket of resident ids for a polygon, off a server-side
cursor) and its baseline in the same run (the
plain query's rows, a row per place in resident order, off a server-side cursor in chunks),
best of ``--repeat``. For the polygon two more figures: the plain query shipped the same way
as ours (so the spatial part alone is compared end to end), and ours with a ``Match`` object
built for every place (what a consumer that iterates pays on top):

(a) an area-coded weather warning on the JMA city codes that together hold about half of
    the places (index join on the stored codes) — baseline: plain ``ST_Intersects`` of the
    raw points with the union of those cities' polygons;
(b) a polygon alert with a ~5,000-vertex polygon (中通り's outline) — grid cover (geo.grid)
    places in interior cells by index, exact test only in boundary cells — baseline:
    ``ST_Intersects`` on the whole polygon;
(c) a prefecture-wide alert (all N places): the fan-out whose peak RSS is reported.

Measurements run in a fresh process (spawned), so ``peak_rss_mb`` is the consumer's own peak.
The last line printed is a JSON object.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import resource
import time
from typing import Any

BENCH_DB = "bousai_bench_targeting"
POLYGON_VERTICES = 5000


# --- data ------------------------------------------------------------------------------------


def _cities():
    from geo.areas.loader import build_rows, read_fixture

    return [r for r in build_rows(read_fixture()) if r["kind"] == "jma_city"]


def _generate_points(n: int, seed: int = 42):
    """n points inside the JMA city polygons, with the index of the city each falls in."""
    import numpy as np
    import shapely
    from shapely import STRtree

    cities = _cities()
    geoms = [c["geom"] for c in cities]
    tree = STRtree(geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    rng = np.random.default_rng(seed)
    xs, ys, idx = [], [], []
    have = 0
    while have < n:
        m = int((n - have) * 2.2) + 1000
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        pts = shapely.points(x, y)
        pi, gi = tree.query(pts, predicate="intersects")
        # Shared borders: keep the first (lowest-index) area, as the geocoder picks one.
        first, pos = np.unique(pi, return_index=True)
        xs.append(x[first])
        ys.append(y[first])
        idx.append(gi[pos])
        have += len(first)
    x, y, ci = (np.concatenate(a)[:n] for a in (xs, ys, idx))
    return x, y, ci, cities


def _prepare(url: str, n: int, reuse: bool) -> None:
    import numpy as np
    import psycopg

    from geo.areas.loader import load_areas_sync
    from server.db import asyncpg_dsn
    from server.dbsetup import create_database, upgrade

    dsn = asyncpg_dsn(url)
    if reuse:
        from alembic.script import ScriptDirectory

        from server.dbsetup import alembic_config

        heads = set(ScriptDirectory.from_config(alembic_config(url)).get_heads())
        try:
            with psycopg.connect(dsn) as c:
                have = c.execute("SELECT count(*) FROM places").fetchone()[0]
                versions = {r[0] for r in c.execute("SELECT version_num FROM alembic_version")}
            if have == n and versions == heads:  # same data, same schema
                print(f"  reusing {n:,} places in {BENCH_DB}", flush=True)
                return
        except psycopg.Error:
            pass
    t0 = time.perf_counter()
    create_database(url, drop=True)
    upgrade(url)
    load_areas_sync(url, quiet=True)
    x, y, ci, cities = _generate_points(n)
    print(f"  {n:,} points generated and geocoded in {time.perf_counter() - t0:.1f} s", flush=True)
    residents = (n + 1) // 2
    # Place i (< residents) is resident i+1's home; place residents+j is resident j+1's second
    # place: a work place for odd residents, a device's current location for even ones.
    rid = np.concatenate([np.arange(1, residents + 1), np.arange(1, n - residents + 1)])
    attrs = [c["attrs"] for c in cities]
    codes = [
        (a["municipality_code"], c["code"], a.get("matome"), a.get("first"), a.get("pref"), a.get("quake"), a.get("tsunami"))
        for a, c in zip(attrs, cities)
    ]
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("INSERT INTO residents (language) SELECT 'ja' FROM generate_series(1, %s)", (residents,))
        c.execute(
            "INSERT INTO devices (resident_id, platform, push_kind, push_token, language, token_hash) "
            "SELECT r, 'android', 'fcm_token', 'bench-' || r, 'ja', sha256(r::text::bytea) "
            "FROM generate_series(2, %s, 2) r ORDER BY r",
            (residents,),
        )
        device_of = {r: d for d, r in c.execute("SELECT id, resident_id FROM devices")}
        t1 = time.perf_counter()
        with c.cursor() as cur:
            with cur.copy(
                "COPY places (resident_id, device_id, kind, geom, expires_at, municipality_code, jma_city_code, "
                "jma_matome_code, jma_first_code, jma_pref_code, quake_area_code, tsunami_area_code) FROM STDIN"
            ) as cp:
                for i in range(n):
                    r = int(rid[i])
                    if i < residents:
                        kind, dev, exp = "home", None, None
                    elif r % 2:
                        kind, dev, exp = "work", None, None
                    else:
                        kind, dev, exp = "current", device_of[r], "2100-01-01T00:00:00Z"
                    cp.write_row(
                        (r, dev, kind, f"SRID=4326;POINT({x[i]:.6f} {y[i]:.6f})", exp, *codes[ci[i]])
                    )
        print(f"  {n:,} places copied in {time.perf_counter() - t1:.1f} s", flush=True)
        c.execute("VACUUM ANALYZE")
    print(f"  data ready in {time.perf_counter() - t0:.1f} s", flush=True)


def _half_codes(dsn: str, n: int) -> list[tuple[str, str]]:
    """JMA city codes in code order until they hold about half of the places."""
    import psycopg

    with psycopg.connect(dsn) as c:
        counts = c.execute(
            "SELECT p.jma_city_code, a.name, count(*) FROM places p JOIN areas a ON a.kind = 'jma_city' "
            "AND a.code = p.jma_city_code GROUP BY 1, 2 ORDER BY 1"
        ).fetchall()
    picked, total = [], 0
    for code, name, k in counts:
        if total >= n / 2:
            break
        picked.append((code, name))
        total += k
    return picked


def _polygon_geojson(n_vertices: int) -> dict:
    """中通り's outline (the union of its cities), simplified or densified to ~n_vertices."""
    import shapely
    from shapely.geometry import Polygon, mapping
    from shapely.ops import unary_union

    u = unary_union([c["geom"] for c in _cities() if c["attrs"]["first"] == "070010"])
    poly = max(getattr(u, "geoms", [u]), key=lambda g: g.area)
    poly = Polygon(poly.exterior)
    count = lambda g: len(g.exterior.coords)  # noqa: E731
    if count(poly) > n_vertices:
        lo, hi = 0.0, 0.05
        for _ in range(40):
            mid = (lo + hi) / 2
            if count(poly.simplify(mid)) > n_vertices:
                lo = mid
            else:
                hi = mid
        poly = poly.simplify(hi)
    if count(poly) < n_vertices:
        lo, hi = 1e-7, poly.exterior.length
        for _ in range(60):
            mid = (lo + hi) / 2
            if count(shapely.segmentize(poly, mid)) > n_vertices:
                lo = mid
            else:
                hi = mid
        poly = shapely.segmentize(poly, hi)
    return mapping(poly)


async def _ingest_alerts(url: str, n: int) -> dict[str, Any]:
    from shapely.geometry import mapping
    from shapely.ops import unary_union
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from alerts.events.service import ingest
    from server.db import asyncpg_dsn

    half = _half_codes(asyncpg_dsn(url), n)
    geoms = {c["code"]: c["geom"] for c in _cities()}
    union = unary_union([geoms[c] for c, _ in half])
    poly = _polygon_geojson(POLYGON_VERTICES)
    base = {"msg_type": "alert", "issued_at": "2025-08-10T14:00:00+09:00", "severity": "Severe"}
    stamp = str(time.time_ns())
    docs = {
        "codes": {
            **base, "source": "jma", "source_id": f"bench-codes-{stamp}", "event_id": f"bench-codes-{stamp}",
            "category": "weather_warning", "headline": "大雨警報",
            "areas": [
                {"code": c, "name": nm, "kind": "jma_city", "level": "city",
                 "warnings": [{"name": "大雨警報", "code": "03", "status": "発表"}]}
                for c, nm in half
            ],
        },
        "codes_baseline": {
            **base, "source": "cap", "source_id": f"bench-union-{stamp}", "event_id": f"bench-union-{stamp}",
            "category": "other", "headline": "union of the warned cities", "areas": [], "geometry": mapping(union),
        },
        "polygon": {
            **base, "source": "cap", "source_id": f"bench-poly-{stamp}", "event_id": f"bench-poly-{stamp}",
            "category": "evacuation", "headline": "避難指示", "areas": [], "geometry": poly,
        },
        "fanout": {
            **base, "source": "cap", "source_id": f"bench-all-{stamp}", "event_id": f"bench-all-{stamp}",
            "category": "civil_protection", "headline": "弾道ミサイル情報",
            "areas": [{"code": "070009", "name": "福島県全域", "kind": "municipality"}],
        },
    }
    engine = create_async_engine(url)
    ids: dict[str, Any] = {"codes_count": len(half)}
    async with AsyncSession(engine) as s:
        await s.execute(text("TRUNCATE alert_outbox, alerts, alert_events CASCADE"))
        for key, doc in docs.items():
            ids[key] = (await ingest(s, doc)).alert_id
        ids["polygon_vertices"] = (
            await s.execute(text("SELECT ST_NPoints(geom) FROM alerts WHERE id = :i"), {"i": ids["polygon"]})
        ).scalar_one()
        await s.commit()
    await engine.dispose()
    return ids


# --- measurement (in a spawned process) ------------------------------------------------------


def _peak_rss_mb() -> float:
    """This process's peak RSS. VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so a
    spawned child would report the parent's peak (the data generation) as its own."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _run(url: str, ids: dict, repeat: int, chunk_size: int) -> dict:
    from sqlalchemy.ext.asyncio import create_async_engine

    from alerts.targeting import repository as repo
    from alerts.targeting.service import SESSION_SETTINGS, MatchQuery, bucket_width, iter_matches, match_query, stream_query

    engine = create_async_engine(url, pool_size=1)

    async def consume(chunks) -> int:
        n = 0
        async for chunk in chunks:
            n += len(chunk)
        return n

    async def consume_each(chunks) -> int:
        n = 0
        async for chunk in chunks:
            for _ in chunk:
                n += 1
        return n

    async def timed(make, consumer=consume) -> tuple[int, float]:
        times, n = [], 0
        for _ in range(repeat + 1):  # the first run warms caches and is dropped
            async with engine.connect() as conn:
                t0 = time.perf_counter()
                n = await consumer(make(conn))
                times.append(time.perf_counter() - t0)
                await conn.rollback()
        return n, min(times[1:])

    async def db_time(make_sql) -> float:
        """Server-side execution only (EXPLAIN ANALYZE, same settings): no transfer, no Python."""
        best = float("inf")
        for _ in range(repeat + 1):
            async with engine.connect() as conn:
                sql, args, settings = await make_sql(conn)
                raw = (await conn.get_raw_connection()).driver_connection
                await conn.exec_driver_sql("SELECT 1")
                await raw.execute(SESSION_SETTINGS)
                if settings:
                    await raw.execute(settings)
                plan = await raw.fetchval(f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) {sql}", *args)
                plan = json.loads(plan) if isinstance(plan, (str, bytes)) else plan
                best = min(best, plan[0]["Execution Time"] / 1000)
                await conn.rollback()
        return best

    def ours_sql(alert_id):
        async def make(conn):
            query = await match_query(conn, alert_id, chunk_size)
            return query.sql, query.args, query.settings
        return make

    def plain_sql(alert_id):
        async def make(conn):
            return (*repo.plain_intersects_query(alert_id), "")
        return make

    def ours(alert_id):
        return lambda conn: iter_matches(conn, alert_id, chunk_size=chunk_size)

    def plain(alert_id):
        query = MatchQuery(*repo.plain_intersects_query(alert_id), bucketed=False)
        return lambda conn: stream_query(conn, query, chunk_size=chunk_size)

    def plain_shipped_like_ours(alert_id):
        sql, args = repo.by_bucket(*repo.plain_intersects_query(alert_id, ordered=False), bucket_width(chunk_size), area_codes=False)
        return lambda conn: stream_query(conn, MatchQuery(sql, args, True), chunk_size=chunk_size)

    out: dict[str, Any] = {}
    out["matched"], out["seconds"] = await timed(ours(ids["codes"]))
    out["baseline_matched"], out["baseline_seconds"] = await timed(plain(ids["codes_baseline"]))
    out["polygon_matched"], out["polygon_seconds"] = await timed(ours(ids["polygon"]))
    out["polygon_baseline_matched"], out["polygon_baseline_seconds"] = await timed(plain(ids["polygon"]))
    _, out["polygon_baseline_shipped_like_ours_seconds"] = await timed(plain_shipped_like_ours(ids["polygon"]))
    _, out["polygon_iterated_seconds"] = await timed(ours(ids["polygon"]), consume_each)
    out["db_seconds"] = await db_time(ours_sql(ids["codes"]))
    out["db_baseline_seconds"] = await db_time(plain_sql(ids["codes_baseline"]))
    out["polygon_db_seconds"] = await db_time(ours_sql(ids["polygon"]))
    out["polygon_db_baseline_seconds"] = await db_time(plain_sql(ids["polygon"]))
    rss_before = _peak_rss_mb()
    out["fanout_matched"], out["fanout_seconds"] = await timed(ours(ids["fanout"]))
    out["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    out["rss_before_fanout_mb"] = round(rss_before, 1)
    await engine.dispose()
    return out


def _child(url: str, ids: dict, repeat: int, chunk_size: int, conn) -> None:
    try:
        conn.send(asyncio.run(_run(url, ids, repeat, chunk_size)))
    except BaseException as exc:  # report, don't hang the parent
        conn.send({"error": repr(exc)})
        raise


def bench_targeting(args) -> int:
    from server.settings import get_settings

    n = args.locations
    if n < 1000:
        print("--locations must be at least 1000")
        return 2
    base = get_settings().database_url.rsplit("/", 1)[0]
    url = f"{base}/{BENCH_DB}"
    from server.logging import configure_logging

    configure_logging("WARNING", json=False)
    print(f"bench targeting: {n:,} places in database {BENCH_DB}", flush=True)
    _prepare(url, n, args.reuse)
    ids = asyncio.run(_ingest_alerts(url, n))
    print(
        f"  alerts: weather warning on {ids['codes_count']} city codes, polygon with "
        f"{ids['polygon_vertices']} vertices, prefecture-wide fan-out", flush=True
    )
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(url, ids, args.repeat, args.chunk_size, child))
    proc.start()
    r = parent.recv()
    proc.join()
    if "error" in r:
        print(f"  measurement failed: {r['error']}")
        return 1

    def ratio(a, b):
        return round(a / b, 2) if b else None

    print(
        f"  area codes : {r['matched']:>9,} matched in {r['seconds']:.3f} s   baseline ST_Intersects on the "
        f"cities' union: {r['baseline_matched']:,} in {r['baseline_seconds']:.3f} s   "
        f"speedup {ratio(r['baseline_seconds'], r['seconds'])}x (target >= 2x)"
    )
    print(
        f"  polygon    : {r['polygon_matched']:>9,} matched in {r['polygon_seconds']:.3f} s   baseline unsubdivided "
        f"ST_Intersects: {r['polygon_baseline_matched']:,} in {r['polygon_baseline_seconds']:.3f} s   "
        f"speedup {ratio(r['polygon_baseline_seconds'], r['polygon_seconds'])}x (target >= 5x)"
    )
    print(
        f"  polygon, the plain query shipped like ours: {r['polygon_baseline_shipped_like_ours_seconds']:.3f} s "
        f"({ratio(r['polygon_baseline_shipped_like_ours_seconds'], r['polygon_seconds'])}x);   ours with a Match "
        f"built for every place: {r['polygon_iterated_seconds']:.3f} s "
        f"({ratio(r['polygon_baseline_seconds'], r['polygon_iterated_seconds'])}x the baseline)"
    )
    print(
        f"  in the database alone (EXPLAIN ANALYZE, no transfer): area codes {r['db_seconds']:.3f} s vs "
        f"{r['db_baseline_seconds']:.3f} s ({ratio(r['db_baseline_seconds'], r['db_seconds'])}x), polygon "
        f"{r['polygon_db_seconds']:.3f} s vs {r['polygon_db_baseline_seconds']:.3f} s "
        f"({ratio(r['polygon_db_baseline_seconds'], r['polygon_db_seconds'])}x)"
    )
    print(
        f"  fan-out    : {r['fanout_matched']:>9,} matched in {r['fanout_seconds']:.3f} s   consumer peak RSS "
        f"{r['peak_rss_mb']} MB (before the fan-out {r['rss_before_fanout_mb']} MB; target <= 300 MB)"
    )
    summary = {
        "bench": "targeting",
        "locations": n,
        "matched": r["matched"],
        "seconds": round(r["seconds"], 4),
        "baseline_matched": r["baseline_matched"],
        "baseline_seconds": round(r["baseline_seconds"], 4),
        "speedup": ratio(r["baseline_seconds"], r["seconds"]),
        "polygon_vertices": ids["polygon_vertices"],
        "polygon_matched": r["polygon_matched"],
        "polygon_seconds": round(r["polygon_seconds"], 4),
        "polygon_baseline_matched": r["polygon_baseline_matched"],
        "polygon_baseline_seconds": round(r["polygon_baseline_seconds"], 4),
        "polygon_speedup": ratio(r["polygon_baseline_seconds"], r["polygon_seconds"]),
        "polygon_baseline_shipped_like_ours_seconds": round(r["polygon_baseline_shipped_like_ours_seconds"], 4),
        "polygon_iterated_seconds": round(r["polygon_iterated_seconds"], 4),
        "db_seconds": round(r["db_seconds"], 4),
        "db_baseline_seconds": round(r["db_baseline_seconds"], 4),
        "db_speedup": ratio(r["db_baseline_seconds"], r["db_seconds"]),
        "polygon_db_seconds": round(r["polygon_db_seconds"], 4),
        "polygon_db_baseline_seconds": round(r["polygon_db_baseline_seconds"], 4),
        "polygon_db_speedup": ratio(r["polygon_db_baseline_seconds"], r["polygon_db_seconds"]),
        "fanout_matched": r["fanout_matched"],
        "fanout_seconds": round(r["fanout_seconds"], 4),
        "peak_rss_mb": r["peak_rss_mb"],
        "chunk_size": args.chunk_size,
        "repeat": args.repeat,
    }
    print(json.dumps(summary))
    return 0


def register_bench(bsub) -> None:
    p = bsub.add_parser("targeting", help="resolve recipients among N places: codes and polygons vs plain ST_Intersects")
    p.add_argument("--locations", type=int, default=1_000_000, help="number of places")
    p.add_argument("--reuse", action="store_true", help="keep the bench data if it already holds N places")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per query (best kept), after one warm-up")
    p.add_argument("--chunk-size", type=int, default=5000)
    p.set_defaults(func=bench_targeting)
