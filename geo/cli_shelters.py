"""``bousai shelters import|export|qr``: the registry in the 自治体標準 CSV layout (and GSI GeoJSON
in); the shelters' check-in QR codes for printing.

Exit codes: 0 all rows imported; 1 some rows were bad (the good ones were imported, each
bad one is printed with its line number); 2 nothing could be read (file, header, options).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import sys
from pathlib import Path

from server.settings import get_settings


async def _import(paths: list[Path], municipality: str | None, dry_run: bool, database_url: str | None) -> int:
    from sqlalchemy.exc import DBAPIError

    from geo.shelters import csvio, gsi, service
    from server.db import make_engine, make_sessionmaker, unit_of_work

    batches = []  # (label, records, bad rows)
    rc = 0
    gsi_paths = [p for p in paths if p.suffix.lower() in (".json", ".geojson")]
    for p in paths:
        if p in gsi_paths:
            continue
        try:
            res = csvio.read_csv(p.read_bytes(), municipality_code=municipality)
        except (OSError, csvio.BadValue) as exc:
            print(f"{p}: {exc}", file=sys.stderr)
            rc = 2
            continue
        label = f"{p}: {res.encoding}, {res.rows} rows"
        if res.ignored_columns:
            label += f" (ignored columns: {', '.join(res.ignored_columns)})"
        batches.append((label, res.records, res.bad_rows, res.record_lines))
    if gsi_paths:
        try:
            records, stats = gsi.read_gsi_files(gsi_paths)
        except (OSError, ValueError) as exc:
            print(f"GSI files: {exc}", file=sys.stderr)
            return 2
        if municipality:
            records = [r for r in records if r.municipality_code == municipality]
        label = (
            f"GSI ({len(gsi_paths)} files): {stats.emergency} emergency sites + {stats.evacuation} evacuation centres, "
            f"{stats.merged} merged"
        )
        batches.append((label, records, [], None))

    settings = get_settings()
    engine = make_engine(settings, url=database_url, pool_size=1, max_overflow=0)
    try:
        for label, records, bad, lines in batches:
            print(label)
            if dry_run:
                print(f"  {len(records)} good rows (dry run: nothing written), {len(bad)} bad")
            else:
                try:
                    async with unit_of_work(make_sessionmaker(engine)) as session:
                        result = await service.import_records(session, records, lines)
                except (DBAPIError, OSError) as exc:  # the database is gone: say so, no traceback
                    print(f"  nothing imported: the database failed ({type(exc).__name__})", file=sys.stderr)
                    return 2
                bad = sorted(bad + [csvio.BadRow(line, reason) if isinstance(line, int) else csvio.BadRow(0, f"{line}: {reason}")
                                    for line, reason in result.failed], key=lambda b: b.line)
                print(
                    f"  {len(records) - len(result.failed)} imported ({result.inserted} new, {result.updated} updated"
                    + (f", {len(result.matched_existing)} matched to existing shelters by name within 50 m" if result.matched_existing else "")
                    + f"), {len(bad)} bad"
                )
            for b in bad:
                print(f"  bad row: {b}")
            if bad and rc == 0:
                rc = 1
    finally:
        await engine.dispose()
    return rc


async def _export(municipality: str | None, output: str | None, standard_only: bool, database_url: str | None) -> int:
    from geo.shelters import csvio, service
    from server.db import make_engine, make_sessionmaker

    settings = get_settings()
    engine = make_engine(settings, url=database_url, pool_size=1, max_overflow=0)
    buf = io.StringIO(newline="")
    try:
        async with make_sessionmaker(engine)() as session:
            rows = [r async for r in service.export_rows(session, municipality)]
    finally:
        await engine.dispose()
    n = csvio.write_csv(rows, buf, standard_only=standard_only)
    data = buf.getvalue().encode("utf-8-sig")
    if output and output != "-":
        Path(output).write_bytes(data)
        print(f"shelters: {n:,} exported to {output}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


async def _qr(municipality: str | None, ids: list[str] | None, out_dir: Path, rotate: bool, fmt: str,
              centres_only: bool, database_url: str | None) -> int:
    from geo.shelters import codes, qr, repository
    from server.db import make_engine, make_sessionmaker, unit_of_work

    settings = get_settings()
    engine = make_engine(settings, url=database_url, pool_size=1, max_overflow=0)
    written = 0
    try:
        async with unit_of_work(make_sessionmaker(engine)) as session:
            rows = await repository.for_codes(session, municipality, ids)
            if ids:
                missing = sorted(set(ids) - {r["id"] for r in rows})
                if missing:
                    print(f"shelters qr: not in the registry{' of ' + municipality if municipality else ''}: "
                          f"{', '.join(missing)}", file=sys.stderr)
                    return 2
            if centres_only:
                rows = [r for r in rows if r["is_evacuation_center"]]
            if not rows:
                print("shelters qr: no shelters match", file=sys.stderr)
                return 2
            out_dir.mkdir(parents=True, exist_ok=True)
            index = io.StringIO(newline="")
            w = csv.writer(index, lineterminator="\r\n")
            w.writerow(["id", "name", "municipality_code", "version", "url", "files"])
            for r in rows:
                version = r["checkin_code_version"]
                if rotate:
                    version = await repository.bump_code_version(session, r["id"])
                code = await codes.code_for(session, r["id"], version)
                stem = re.sub(r"[^A-Za-z0-9._-]", "_", r["id"])
                files = []
                if fmt in ("svg", "both"):
                    (out_dir / f"{stem}.svg").write_text(
                        qr.qr_svg_sheet(shelter_id=r["id"], name=r["name"], address=r["address"], url=code.url,
                                        version=version), encoding="utf-8")
                    files.append(f"{stem}.svg")
                if fmt in ("png", "both"):
                    (out_dir / f"{stem}.png").write_bytes(qr.qr_png(code.url))
                    files.append(f"{stem}.png")
                w.writerow([r["id"], r["name"], r["municipality_code"], version, code.url, " ".join(files)])
                written += 1
            (out_dir / "index.csv").write_bytes(index.getvalue().encode("utf-8-sig"))
    finally:
        await engine.dispose()
    print(f"shelters qr: {written:,} shelters{' (codes rotated)' if rotate else ''} → {out_dir}/ (index.csv lists them)",
          file=sys.stderr)
    return 0


def _run_qr(args) -> int:
    try:
        municipality = _check_municipality(args.municipality)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    if municipality is None and not args.ids:
        print("shelters qr: give --municipality or --id (the prefecture has 2,600+ shelters)", file=sys.stderr)
        return 2
    return asyncio.run(_qr(municipality, args.ids, Path(args.output), args.rotate, args.format,
                           args.evacuation_centers_only, args.database_url))


def _check_municipality(code: str | None) -> str | None:
    from geo.shelters.records import normalize_municipality_code

    if code is None:
        return None
    norm = normalize_municipality_code(code)
    if norm is None:
        raise SystemExit(f"shelters: --municipality {code!r} is not a valid 6-digit municipality code (e.g. 072010)")
    return norm


def _run_import(args) -> int:
    try:
        municipality = _check_municipality(args.municipality)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    return asyncio.run(_import([Path(f) for f in args.files], municipality, args.dry_run, args.database_url))


def _run_export(args) -> int:
    try:
        municipality = _check_municipality(args.municipality)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    return asyncio.run(_export(municipality, args.output, args.standard_only, args.database_url))


def register(sub) -> None:
    p = sub.add_parser("shelters", help="shelter registry: import / export (自治体標準 CSV, GSI GeoJSON)")
    ssub = p.add_subparsers(dest="shelters_command", metavar="ACTION")
    ssub.required = True
    imp = ssub.add_parser("import", help="import 指定緊急避難場所一覧 CSV files or GSI GeoJSON files")
    imp.add_argument("files", nargs="+", metavar="FILE", help=".csv (UTF-8/BOM/Shift_JIS) or GSI .json/.geojson")
    imp.add_argument("--municipality", help="6-digit code: fills rows without one; rows of other municipalities are refused")
    imp.add_argument("--dry-run", action="store_true", help="parse and report only")
    imp.add_argument("--database-url", help="default: BOUSAI_DATABASE_URL")
    imp.set_defaults(func=_run_import)
    exp = ssub.add_parser("export", help="write the registry as 指定緊急避難場所一覧 CSV (UTF-8 with BOM, CRLF)")
    exp.add_argument("--municipality", help="6-digit code: only this municipality")
    exp.add_argument("-o", "--output", help="file (default: stdout)")
    exp.add_argument(
        "--standard-only", action="store_true", help="emergency sites only, exactly the standard's 39 columns"
    )
    exp.add_argument("--database-url", help="default: BOUSAI_DATABASE_URL")
    exp.set_defaults(func=_run_export)
    q = ssub.add_parser("qr", help="check-in QR codes: an A4 SVG sheet (name, code, instructions ja/en) and a PNG per shelter")
    q.add_argument("--municipality", help="6-digit code: every shelter of this municipality")
    q.add_argument("--id", dest="ids", action="append", metavar="SHELTER_ID", help="only this shelter (repeatable)")
    q.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the files (created)")
    q.add_argument("--format", choices=("both", "svg", "png"), default="both")
    q.add_argument("--evacuation-centers-only", action="store_true", help="only 指定避難所 (places people stay)")
    q.add_argument("--rotate", action="store_true", help="issue new codes first: every code printed before stops working")
    q.add_argument("--database-url", help="default: BOUSAI_DATABASE_URL")
    q.set_defaults(func=_run_qr)
