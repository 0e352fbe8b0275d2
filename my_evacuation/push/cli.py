"""``bousai pushes tail``: what the log push provider "sent", without psql.

With ``BOUSAI_PUSH_PROVIDER=log`` (the default, and what ``make run`` uses) every push
is a row in ``push_log``; this prints the newest ones, one line each (or one JSON object
each with ``--json``), and with ``--follow`` keeps printing new ones as the worker records
them. It only reads.
"""

from __future__ import annotations

import sys
import time

import orjson
from sqlalchemy import create_engine

from my_evacuation.push import repository as push_repo
from server.db import sync_url
from my_evacuation.push.models import PushLogEntry
from server.settings import get_settings

# A push goes out within a second of its alert on a quiet machine; polling once a second
# shows it as it happens without loading the database.
FOLLOW_POLL_SECONDS = 1.0
# Rows read per poll while following: a 1M-resident fan-out is printed in pages, not at once.
FOLLOW_PAGE = 1000


def _as_json(row: PushLogEntry) -> dict:
    return {
        "id": row.id,
        "at": row.created_at.isoformat(),
        "device_id": row.device_id,
        "kind": row.kind,
        "critical": row.critical,
        "language": row.language,
        "title": row.title,
        "body": row.body,
        "data": row.data,
        "collapse_key": row.collapse_key,
    }


def _as_line(row: PushLogEntry) -> str:
    at = row.created_at.astimezone().strftime("%H:%M:%S")
    flag = "!" if row.critical else " "
    body = " ".join(row.body.split())
    return f"{at} {flag} device {row.device_id} [{row.kind}/{row.language or '-'}] {row.title} — {body}"


def tail(args) -> int:
    url = sync_url(args.database_url or get_settings().database_url)
    engine = create_engine(url, pool_pre_ping=True)
    emit = (lambda r: orjson.dumps(_as_json(r)).decode()) if args.json else _as_line
    try:
        with engine.connect() as conn:
            rows = push_repo.newest_logged_sync(conn, args.device, args.kind, args.lines)
        last_id = rows[-1].id if rows else 0
        for message in rows:
            print(emit(message), flush=True)
        if not args.follow:
            if not rows and not args.json:
                print("pushes: nothing recorded yet (is BOUSAI_PUSH_PROVIDER=log and an alert through?)", file=sys.stderr)
            return 0
        if not rows:
            with engine.connect() as conn:  # follow from now, not from the first row ever
                last_id = push_repo.last_logged_id_sync(conn)
        while True:
            with engine.connect() as conn:
                page = push_repo.logged_after_sync(conn, args.device, args.kind, last_id, FOLLOW_PAGE)
            for message in page:
                print(emit(message), flush=True)
                last_id = message.id
            if len(page) < FOLLOW_PAGE:
                time.sleep(FOLLOW_POLL_SECONDS)
    except KeyboardInterrupt:
        return 0
    finally:
        engine.dispose()


def register(sub) -> None:
    # ``outbox``: the command's former name, kept for scripts that use it.
    p = sub.add_parser("pushes", aliases=["outbox"], help="what the log push provider recorded as sent")
    osub = p.add_subparsers(dest="pushes_command", metavar="COMMAND")
    osub.required = True
    t = osub.add_parser("tail", help="the newest recorded pushes, oldest first; --follow for new ones")
    t.add_argument("-n", "--lines", type=int, default=20, help="how many of the newest to print (default 20)")
    t.add_argument("-f", "--follow", action="store_true", help="keep printing pushes as they are recorded")
    t.add_argument("--device", help="only this device id")
    t.add_argument("--kind", help="only this kind (alert, notice, safety_check, all_clear, ...)")
    t.add_argument("--json", action="store_true", help="one JSON object per line")
    t.add_argument("--database-url", help="default: BOUSAI_DATABASE_URL")
    t.set_defaults(func=tail)
