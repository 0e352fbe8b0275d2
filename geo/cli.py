"""``bousai areas locate`` (fixed output contract) and the shelter commands."""

from __future__ import annotations

import asyncio
import csv
import math
import sys

import orjson

from geo.areas.api import resolved_area
from server.settings import get_settings


async def _geocoder_from_db(settings):
    from sqlalchemy.ext.asyncio import AsyncSession

    from geo.areas.geocoder import load_geocoder
    from server.db import make_engine

    engine = make_engine(settings, pool_size=1, max_overflow=0)
    try:
        async with AsyncSession(engine) as session:
            return await load_geocoder(session, snap_m=settings.geocode_snap_meters)
    finally:
        await engine.dispose()


def load_geocoder_for_cli():
    """The database's areas when it is set up, else the shipped fixture (same data)."""
    settings = get_settings()
    try:
        geocoder = asyncio.run(_geocoder_from_db(settings))
        if len(geocoder):
            return geocoder
    except Exception as exc:  # no database yet: the fixture answers the same
        print(f"areas: database not available ({type(exc).__name__}); using the shipped fixture", file=sys.stderr)
    from geo.areas.loader import geocoder_from_fixture

    return geocoder_from_fixture(settings.geocode_snap_meters)


def _point_record(geocoder, lat: float, lon: float) -> dict:
    area = resolved_area(geocoder, geocoder.locate(lat, lon)).model_dump()
    return {"lat": lat, "lon": lon, **area}


def _parse_coord(value: str, lo: float, hi: float) -> float:
    v = float(value.strip())
    if not math.isfinite(v) or not lo <= v <= hi:
        raise ValueError(f"{value!r} out of range {lo}..{hi}")
    return v


def _locate(args) -> int:
    geocoder = load_geocoder_for_cli()
    out = sys.stdout.buffer
    if args.input:
        fh = sys.stdin if args.input == "-" else open(args.input, encoding="utf-8-sig", newline="")
        with fh:
            reader = csv.DictReader(fh)
            fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
            if "lat" not in fields or "lon" not in fields:
                print(f"areas locate: {args.input}: header must have lat,lon (got {reader.fieldnames})", file=sys.stderr)
                return 2
            for line_no, row in enumerate(reader, start=2):
                try:
                    lat = _parse_coord(row[fields["lat"]] or "", -90, 90)
                    lon = _parse_coord(row[fields["lon"]] or "", -180, 180)
                except (ValueError, TypeError) as exc:
                    rec = {"municipality": None, "line": line_no, "error": f"bad coordinates: {exc}"}
                else:
                    rec = _point_record(geocoder, lat, lon)
                out.write(orjson.dumps(rec) + b"\n")
        out.flush()
        return 0
    if args.lat is None or args.lon is None:
        print("areas locate: give LAT LON or --input FILE.csv", file=sys.stderr)
        return 2
    try:
        lat = _parse_coord(args.lat, -90, 90)
        lon = _parse_coord(args.lon, -180, 180)
    except ValueError as exc:
        print(f"areas locate: bad coordinates: {exc}", file=sys.stderr)
        return 2
    out.write(orjson.dumps(_point_record(geocoder, lat, lon)) + b"\n")
    out.flush()
    return 0


def _load_areas(database_url: str, args) -> None:
    from geo.areas.loader import load_areas_sync

    print(f"setup: {load_areas_sync(database_url)} areas loaded", flush=True)


def _load_shelters(database_url: str, args) -> None:
    if args.skip_shelters:
        return
    from geo.shelters.gsi import load_shelters_sync

    print(f"setup: {load_shelters_sync(database_url, quiet=False)} shelters loaded", flush=True)


# ``bousai setup``'s reference data, in this order: shelters are located in areas.
SETUP_STEPS = [_load_areas, _load_shelters]


def register(sub) -> None:
    sub.choices["setup"].add_argument("--skip-shelters", action="store_true", help="areas only")
    areas = sub.add_parser("areas", help="Fukushima areas: locate points")
    asub = areas.add_subparsers(dest="areas_command", metavar="ACTION")
    asub.required = True
    loc = asub.add_parser("locate", help="municipality and JMA codes of points (one JSON object per point)")
    loc.add_argument("lat", nargs="?", help="latitude (WGS84)")
    loc.add_argument("lon", nargs="?", help="longitude (WGS84)")
    loc.add_argument("--input", help="CSV file with header lat,lon ('-' for stdin)")
    loc.set_defaults(func=_locate)
    from geo import cli_shelters

    cli_shelters.register(sub)
