"""What happened: per alert and per notice — targeted, sent, failed, by provider, time from issue to
first and last push; safety-check answers by area. Counts only, restricted to the operator's scope."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alerts.notices import repository as notices_repo
from alerts.notices import service as notices
from alerts.reports import repository as repo
from server.errors import NotFound
from alerts.staff.principal import StaffPrincipal

SENT = ("ok",)
FAILED = ("dead_token", "permanent", "failed", "no_token")
# Safety answers are shown per ~1 km cell (0.01°): where help is needed, never who.
SAFETY_CELL_DEG = 0.01
# A cell with fewer answers than this is merged into its municipality's total, so a single
# household cannot be singled out on the map.
MIN_CELL_COUNT = 3


def _summarize(f: dict[str, Any]) -> dict[str, Any]:
    pushes = f.pop("pushes", [])
    providers: dict[str, dict[str, int]] = {}
    for p in pushes:
        providers.setdefault(p["provider"], {})[p["status"]] = p["n"]
    sent = sum(p["n"] for p in pushes if p["status"] in SENT)
    failed = sum(p["n"] for p in pushes if p["status"] in FAILED)
    queued = sum(p["n"] for p in pushes if p["status"] == "queued")
    issued = f["issued_at"]

    def after(t):
        return None if t is None else round((t - issued).total_seconds(), 3)

    return {
        "alert_id": f["id"],
        "source": f["source"],
        "msg_type": f["msg_type"],
        "category": f["category"],
        "headline": f["headline"],
        "is_drill": f["is_drill"],
        "issued_at": issued.isoformat(),
        "targeted": int(f["residents_pushed"]) + int(f["residents_held"]),
        "held_by_quiet_hours": int(f["residents_held"]),
        "pushes": {"sent": sent, "failed": failed, "queued": queued, "total": sent + failed + queued},
        "by_provider": providers,
        "first_push_at": f["first_push_at"].isoformat() if f["first_push_at"] else None,
        "last_push_at": f["last_push_at"].isoformat() if f["last_push_at"] else None,
        "seconds_to_first_push": after(f["first_push_at"]),
        "seconds_to_last_push": after(f["last_push_at"]),
    }


async def alert_report(session: AsyncSession, alert_id: int, scope: str | None) -> dict:
    f = await repo.alert_figures(session, alert_id, scope)
    if not f:
        raise NotFound(f"no alert {alert_id}")
    return _summarize(f)


async def notice_report(session: AsyncSession, principal: StaffPrincipal, notice_id: int) -> dict:
    n = await notices.get_notice(session, principal, notice_id)
    scope = principal.municipality_code
    # The whole chain: original, corrections, cancellation.
    chain = await notices_repo.chain_with_alerts(session, n.root_id)
    return {
        "notice_id": n.id,
        "root_id": n.root_id,
        "messages": [
            {"notice_id": c.id, "msg_type": c.msg_type, "level": c.level, **(await alert_report(session, c.alert_id, scope))}
            for c in chain
        ],
    }


async def recent_alerts(session: AsyncSession, principal: StaffPrincipal, municipality_code: str | None, limit: int) -> list[dict]:
    scope = principal.scope_filter(municipality_code)
    return [await alert_report(session, i, scope) for i in await repo.recent_alert_ids(session, scope, limit)]


async def safety(session: AsyncSession, principal: StaffPrincipal, municipality_code: str | None, event_key: str | None) -> dict:
    scope = principal.scope_filter(municipality_code)
    raw = await repo.safety_by_area(session, scope, event_key, SAFETY_CELL_DEG)
    munis: dict[str, dict[str, int]] = {}
    for r in raw["by_municipality"]:
        munis.setdefault(r["municipality_code"] or "unknown", {})[r["status"]] = r["n"]
    cells, merged = [], 0
    for r in raw["need_help_cells"]:
        if r["n"] >= MIN_CELL_COUNT:
            half = SAFETY_CELL_DEG / 2
            cells.append({"municipality_code": r["municipality_code"], "lat": round(r["cell_lat"] + half, 4),
                          "lon": round(r["cell_lon"] + half, 4), "need_help": r["n"]})
        else:
            merged += r["n"]
    return {
        "scope": scope,
        "event_key": event_key,
        "by_municipality": [{"municipality_code": m, "counts": c, "total": sum(c.values())} for m, c in sorted(munis.items())],
        "need_help_cells": cells,
        "need_help_not_mapped": merged,
        "cell_degrees": SAFETY_CELL_DEG,
    }


def to_csv(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(columns)
    for r in rows:
        w.writerow([r.get(c) for c in columns])
    return buf.getvalue()


ALERT_COLUMNS = ["alert_id", "source", "msg_type", "category", "headline", "is_drill", "issued_at", "targeted",
                 "held_by_quiet_hours", "sent", "failed", "queued", "seconds_to_first_push", "seconds_to_last_push",
                 "by_provider"]


def alert_rows(reports: list[dict]) -> list[dict]:
    out = []
    for r in reports:
        row = dict(r)
        row.update(r["pushes"])
        row["by_provider"] = ";".join(f"{p}:{s}={n}" for p, st in sorted(r["by_provider"].items()) for s, n in sorted(st.items()))
        out.append(row)
    return out
