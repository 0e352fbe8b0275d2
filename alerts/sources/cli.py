"""``bousai parse FILE...``: print normalized alerts as JSON lines, no DB, no network.

One line per alert (a CAP Atom with N embedded alerts gives N lines); a document that
cannot be used gives ``{"file": ..., "error": ..., "code": ...}`` and the command goes
on. Exit code 0 when every path was processed (error lines included), 1 when a path
did not exist or could not be read.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import IO, Iterable, Iterator

import orjson

from . import parse_document
from .safexml import DEFAULT_MAX_BYTES, DocumentError, DocumentTooLarge, read_capped

DOCUMENT_SUFFIXES = (".xml", ".cap", ".atom")


def iter_documents(paths: Iterable[str]) -> Iterator[tuple[str, bool]]:
    """(path, exists) for every file; directories recurse into *.xml/*.cap/*.atom."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                if f.is_file() and f.suffix.lower() in DOCUMENT_SUFFIXES:
                    yield str(f), True
        else:
            yield str(path), path.is_file()


def read_document(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read at most ``max_bytes`` (a huge file is refused without reading it all)."""
    if os.path.getsize(path) > max_bytes:
        raise DocumentTooLarge(message=f"document larger than {max_bytes} bytes")
    with open(path, "rb") as fp:
        return read_capped(fp, max_bytes)


def _error_line(file: str, code: str, message: str) -> bytes:
    return orjson.dumps({"file": file, "error": message, "code": code})


def parse_file_lines(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> list[bytes]:
    """JSON lines for one file. Never raises: a bad document is an error line."""
    try:
        data = read_document(path, max_bytes)
        alerts = parse_document(data, file=path, max_bytes=max_bytes)
        return [orjson.dumps(a.to_dict()) for a in alerts]
    except DocumentError as exc:
        return [_error_line(path, exc.code, exc.message)]
    except OSError as exc:
        return [_error_line(path, "unreadable", f"cannot read file: {exc.strerror or type(exc).__name__}")]
    except Exception as exc:  # noqa: BLE001 - one bad document must never stop the rest
        return [_error_line(path, "internal_error", f"parser failed: {type(exc).__name__}")]


def run_parse(paths: list[str], out: IO[str] | None = None) -> int:
    out = out if out is not None else sys.stdout
    rc = 0
    for path, exists in iter_documents(paths):
        if not exists:
            out.write(_error_line(path, "not_found", "no such file").decode() + "\n")
            rc = 1
            continue
        for line in parse_file_lines(path):
            out.write(line.decode() + "\n")
    out.flush()
    return rc


def parse_throughput(paths: list[str], repeat: int = 3) -> dict:
    """Documents per second over a corpus (each file parsed ``repeat`` times, from
    memory, so disk speed is not measured). For ``bousai bench ingest``."""
    blobs = []
    for path, exists in iter_documents(paths):
        if exists:
            try:
                blobs.append((path, read_document(path)))
            except (OSError, DocumentError):
                continue
    docs = alerts = errors = 0
    nbytes = 0
    t0 = time.perf_counter()
    for _ in range(max(1, repeat)):
        for path, data in blobs:
            docs += 1
            nbytes += len(data)
            try:
                alerts += len(parse_document(data, file=path))
            except DocumentError:
                errors += 1
    secs = time.perf_counter() - t0
    return {
        "files": len(blobs),
        "repeat": max(1, repeat),
        "documents": docs,
        "alerts": alerts,
        "errors": errors,
        "bytes": nbytes,
        "seconds": round(secs, 4),
        "docs_per_second": round(docs / secs, 1) if secs > 0 else None,
        "mb_per_second": round(nbytes / secs / 1e6, 2) if secs > 0 else None,
    }


def register(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "parse",
        help="parse JMA XML / CAP documents and print normalized alerts as JSON lines",
        description="Print one JSON object per alert (or per unusable document) without touching the database or network.",
    )
    p.add_argument("files", nargs="+", help="files or directories (*.xml, *.cap, *.atom)")
    p.set_defaults(func=lambda args: run_parse(args.files))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bousai")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(["parse", *(argv if argv is not None else sys.argv[1:])])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
