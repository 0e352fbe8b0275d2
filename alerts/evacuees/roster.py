"""The evacuee roster for staff: who is checked in where, households outside shelters, their
needs, with the family-safety figures beside them — strictly within the account's scope.

Names, needs per household, notes and shared locations are shown to operators (prefecture
staff, municipal staff of that municipality); viewers and administrators get the counts
and anonymous rows. Every read, in JSON or CSV, is an audit entry (who, which scope, how
many rows, with personal details or not).
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from geo.shelters import repository as shelters_repo
from alerts.evacuees import repository as repo
from alerts.evacuees.models import NEEDS
from alerts.staff.audit.service import record
from server.errors import NotFound
from alerts.staff.principal import OPERATOR_ROLES, StaffPrincipal

# The CSV export's columns, in order (documented in the README; other tools read them).
CSV_COLUMNS = (
    "kind",               # checked_in | outside
    "municipality_code",  # 6-digit 全国地方公共団体コード (the shelter's, or where the household is / lives)
    "shelter_id",         # registry id (checked_in only)
    "shelter_name",
    "whereabouts",        # outside only: car | relatives | home_upstairs | elsewhere
    "headcount",          # people in this row
    "members",            # names or labels as given, separated by '、'
    "needs",              # care;medical;pets;allergies;mobility;infant (those that apply)
    "note",
    "since",              # ISO 8601: check-in time (the phone's clock) or the outside entry's last update
    "source",             # app | staff
    "lat", "lon",         # outside only, and only when the household shared its location
)


def personal_allowed(principal: StaffPrincipal) -> bool:
    return principal.role in OPERATOR_ROLES


def _names(members: list[dict]) -> str:
    return "、".join(str(m.get("label") or "") for m in members or [] if m.get("label"))


def _row_checkin(r: dict, personal: bool) -> dict[str, Any]:
    out = {"kind": "checked_in", "id": r["id"], "municipality_code": r["municipality_code"], "shelter_id": r["shelter_id"],
           "shelter_name": r["shelter_name"], "headcount": r["headcount"], "since": r["checked_in_at"],
           "source": "staff" if r["staff_id"] is not None else "app"}
    if personal:
        out |= {"members": r["members"], "needs": list(r["needs"] or []), "note": r["note"]}
    return out


def _row_outside(r: dict, personal: bool) -> dict[str, Any]:
    out = {"kind": "outside", "municipality_code": r["municipality_code"], "whereabouts": r["whereabouts"],
           "headcount": r["headcount"], "since": r["updated_at"], "source": "app"}
    if personal:
        out |= {"members": r["members"], "needs": list(r["needs"] or []), "note": r["note"],
                "location": {"lat": r["lat"], "lon": r["lon"]} if r["share_location"] and r["lat"] is not None else None}
    return out


async def _scope(session: AsyncSession, principal: StaffPrincipal, municipality_code: str | None,
                 shelter_id: str | None) -> tuple[str | None, dict | None]:
    if shelter_id is not None:
        shelter = await shelters_repo.get(session, shelter_id)
        if shelter is None or not principal.covers(shelter["municipality_code"]):
            raise NotFound(f"no shelter {shelter_id!r}")  # out of scope looks like absent
        if municipality_code is not None:
            principal.require_scope([municipality_code], "that municipality")
        return shelter["municipality_code"], shelter
    return principal.scope_filter(municipality_code), None


async def roster(session: AsyncSession, principal: StaffPrincipal, *, municipality_code: str | None = None,
                 shelter_id: str | None = None) -> dict[str, Any]:
    muni, shelter = await _scope(session, principal, municipality_code, shelter_id)
    personal = personal_allowed(principal)
    entries: list[dict] = []
    people_in = households_in = people_out = households_out = 0
    by_need: Counter[str] = Counter()
    by_shelter: dict[str, dict] = {}
    by_whereabouts: Counter[str] = Counter()
    async for r in repo.roster_checkins(session, muni, shelter_id):
        entries.append(_row_checkin(r, personal))
        people_in += r["headcount"]
        households_in += 1
        by_need.update(r["needs"] or [])
        s = by_shelter.setdefault(r["shelter_id"], {"shelter_id": r["shelter_id"], "name": r["shelter_name"],
                                                    "people": 0, "households": 0})
        s["people"] += r["headcount"]
        s["households"] += 1
    if shelter_id is None:
        async for r in repo.roster_outside(session, muni):
            entries.append(_row_outside(r, personal))
            people_out += r["headcount"]
            households_out += 1
            by_need.update(r["needs"] or [])
            by_whereabouts[r["whereabouts"]] += r["headcount"]
    safety = await repo.safety_figures(session, muni)
    await record(session, principal, "roster.read", ("roster", shelter_id or muni or "prefecture"), None,
                 {"municipality_code": muni, "shelter_id": shelter_id, "format": "json", "rows": len(entries),
                  "personal": personal}, municipality_code=muni)
    return {
        "municipality_code": muni,
        "shelter_id": shelter_id,
        "personal_details": personal,
        "counts": {
            "checked_in": {"people": people_in, "households": households_in},
            "outside": {"people": people_out, "households": households_out,
                        "by_whereabouts": dict(sorted(by_whereabouts.items()))},
            "households_by_need": {n: by_need.get(n, 0) for n in NEEDS},
            **safety,
        },
        "shelters": sorted(by_shelter.values(), key=lambda s: (-s["people"], s["shelter_id"])),
        "entries": entries,
    }


async def roster_csv(session: AsyncSession, principal: StaffPrincipal, *, municipality_code: str | None = None,
                     shelter_id: str | None = None) -> str:
    """The roster as CSV (UTF-8 with BOM for Excel, CRLF), columns ``CSV_COLUMNS``. Operators only
    (the caller's route says so): it carries names and needs."""
    muni, _ = await _scope(session, principal, municipality_code, shelter_id)
    buf = io.StringIO()
    buf.write("\ufeff")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    rows = 0
    async for r in repo.roster_checkins(session, muni, shelter_id):
        w.writerow([("checked_in"), r["municipality_code"], r["shelter_id"], r["shelter_name"], "", r["headcount"],
                    _names(r["members"]), ";".join(r["needs"] or []), r["note"] or "", r["checked_in_at"].isoformat(),
                    "staff" if r["staff_id"] is not None else "app", "", ""])
        rows += 1
    if shelter_id is None:
        async for r in repo.roster_outside(session, muni):
            shared = r["share_location"] and r["lat"] is not None
            w.writerow(["outside", r["municipality_code"] or "", "", "", r["whereabouts"], r["headcount"],
                        _names(r["members"]), ";".join(r["needs"] or []), r["note"] or "", r["updated_at"].isoformat(),
                        "app", r["lat"] if shared else "", r["lon"] if shared else ""])
            rows += 1
    await record(session, principal, "roster.read", ("roster", shelter_id or muni or "prefecture"), None,
                 {"municipality_code": muni, "shelter_id": shelter_id, "format": "csv", "rows": rows, "personal": True},
                 municipality_code=muni)
    return buf.getvalue()
