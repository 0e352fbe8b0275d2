"""Every staff endpoint × every role × in-scope / out-of-scope: no unexpected allow.

Routes are enumerated from the app itself, so a new staff endpoint without an entry in
``REQUESTS`` fails this test instead of escaping it.
"""

from __future__ import annotations

import itertools

from alerts.notices import flows as notice_flows
from alerts.notices import service as notices
from alerts.notices.schemas import NoticeIn
from server.db import unit_of_work
from alerts.staff.principal import StaffPrincipal
from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, KORIYAMA_POINT, login, make_account, square

POINT = {FUKUSHIMA: FUKUSHIMA_POINT, KORIYAMA: KORIYAMA_POINT}
AUTHOR = StaffPrincipal(id=10**9, username="matrix-author", display_name="author", role="prefecture", municipality_code=None)
_n = itertools.count(1)


def allowed_roles(route) -> tuple[str, ...] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        d = stack.pop()
        roles = getattr(d.call, "allowed_roles", None)
        if roles is not None:
            return roles
        stack.extend(d.dependencies)
    return None


class Fixtures:
    def __init__(self, app):
        self.app = app

    async def notice(self, muni: str, *, level: int = 3, state: str = "draft") -> int:
        async with unit_of_work(self.app.state.sessionmaker) as s:
            n = await notices.create_draft(s, AUTHOR, NoticeIn(level=level, target_kind="polygon",
                                                               polygon=square(*POINT[muni]), reason="matrix"))
            if state in ("pending_approval", "issued"):
                n = await notice_flows.submit(s, AUTHOR, n.id)
            assert n.state == state, n.state
            return n.id

    async def shelter(self, muni: str) -> str:
        from sqlalchemy import text

        sid = f"{muni}-matrix-{next(_n)}"
        lat, lon = POINT[muni]
        async with unit_of_work(self.app.state.sessionmaker) as s:
            await s.execute(text(
                "INSERT INTO shelters (id, name, municipality_code, geom, source) "
                "VALUES (:id, 'matrix', :m, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'staff')"),
                {"id": sid, "m": muni, "lat": lat, "lon": lon})
        return sid

    async def checkin(self, muni: str) -> int:
        from sqlalchemy import text

        sid = await self.shelter(muni)
        async with unit_of_work(self.app.state.sessionmaker) as s:
            await s.execute(text("UPDATE shelters SET checked_in = 1, occupancy = 1 WHERE id = :id"), {"id": sid})
            return (await s.execute(text(
                "INSERT INTO shelter_checkins (submitted_by, client_id, staff_id, shelter_id, municipality_code, headcount, "
                "state, checked_in_at) VALUES ('staff:0', :c, 0, :sid, :m, 1, 'in', now()) RETURNING id"),
                {"c": f"matrix-{next(_n)}", "sid": sid, "m": muni})).scalar_one()

    async def account(self) -> int:
        return await make_account(self.app, "viewer", None, username=f"matrix-target-{next(_n)}")


def _draft_body(m):
    return {"level": 3, "target_kind": "polygon", "polygon": square(*POINT[m]), "reason": "x"}


# (method, path) → async (fixtures, municipality) → (url, json, params). Scope-free routes ignore m.
REQUESTS = {
    ("GET", "/v1/staff/me"): lambda f, m: _r("/v1/staff/me"),
    ("GET", "/v1/staff/accounts"): lambda f, m: _r("/v1/staff/accounts"),
    ("POST", "/v1/staff/accounts"): lambda f, m: _r("/v1/staff/accounts", {
        "username": f"new-{next(_n)}", "display_name": "n", "password": "a long enough password", "role": "viewer"}),
    ("PATCH", "/v1/staff/accounts/{account_id}"): lambda f, m: _ra(f.account(), "/v1/staff/accounts/{}", {"display_name": "z"}),
    ("GET", "/v1/staff/audit"): lambda f, m: _r("/v1/staff/audit", params={"municipality_code": m}),
    ("GET", "/v1/staff/notice-templates"): lambda f, m: _r("/v1/staff/notice-templates"),
    ("GET", "/v1/staff/notices"): lambda f, m: _r("/v1/staff/notices"),
    ("POST", "/v1/staff/notices"): lambda f, m: _r("/v1/staff/notices", _draft_body(m)),
    ("GET", "/v1/staff/notices/{notice_id}"): lambda f, m: _ra(f.notice(m), "/v1/staff/notices/{}"),
    ("POST", "/v1/staff/notices/{notice_id}/preview"): lambda f, m: _ra(f.notice(m), "/v1/staff/notices/{}/preview"),
    ("PATCH", "/v1/staff/notices/{notice_id}"): lambda f, m: _ra(f.notice(m), "/v1/staff/notices/{}", {"reason": "y"}),
    ("POST", "/v1/staff/notices/{notice_id}/submit"): lambda f, m: _ra(f.notice(m), "/v1/staff/notices/{}/submit"),
    ("POST", "/v1/staff/notices/{notice_id}/approve"): lambda f, m: _ra(
        f.notice(m, level=4, state="pending_approval"), "/v1/staff/notices/{}/approve"),
    ("POST", "/v1/staff/notices/{notice_id}/reject"): lambda f, m: _ra(
        f.notice(m, level=4, state="pending_approval"), "/v1/staff/notices/{}/reject", {"note": "no"}),
    ("POST", "/v1/staff/notices/{notice_id}/discard"): lambda f, m: _ra(f.notice(m), "/v1/staff/notices/{}/discard"),
    ("POST", "/v1/staff/notices/{notice_id}/correction"): lambda f, m: _ra(
        f.notice(m, state="issued"), "/v1/staff/notices/{}/correction", {}),
    ("POST", "/v1/staff/notices/{notice_id}/cancel"): lambda f, m: _ra(
        f.notice(m, state="issued"), "/v1/staff/notices/{}/cancel"),
    ("GET", "/v1/staff/districts"): lambda f, m: _r("/v1/staff/districts", params={"municipality_code": m}),
    ("POST", "/v1/staff/districts"): lambda f, m: _r("/v1/staff/districts", {
        "municipality_code": m, "name": f"d{next(_n)}", "polygon": square(*POINT[m])}),
    ("GET", "/v1/staff/shelters"): lambda f, m: _r("/v1/staff/shelters", params={"municipality_code": m}),
    ("GET", "/v1/staff/shelters/{shelter_id}"): lambda f, m: _ra(f.shelter(m), "/v1/staff/shelters/{}"),
    ("PATCH", "/v1/staff/shelters/{shelter_id}"): lambda f, m: _ra(f.shelter(m), "/v1/staff/shelters/{}", {"occupancy": 1}),
    ("POST", "/v1/staff/shelters/{shelter_id}/open"): lambda f, m: _ra(f.shelter(m), "/v1/staff/shelters/{}/open"),
    ("POST", "/v1/staff/shelters/{shelter_id}/close"): lambda f, m: _ra(f.shelter(m), "/v1/staff/shelters/{}/close"),
    ("POST", "/v1/staff/shelters/bulk"): lambda f, m: _r("/v1/staff/shelters/bulk", {"municipality_code": m, "action": "open"}),
    ("POST", "/v1/staff/shelters/{shelter_id}/checkins"): lambda f, m: _ra(
        f.shelter(m), "/v1/staff/shelters/{}/checkins", {"client_id": f"m-{next(_n)}", "headcount": 2}),
    ("POST", "/v1/staff/checkins/{checkin_id}/checkout"): lambda f, m: _ra(f.checkin(m), "/v1/staff/checkins/{}/checkout", {}),
    ("GET", "/v1/staff/shelters/{shelter_id}/checkin-code"): lambda f, m: _ra(f.shelter(m), "/v1/staff/shelters/{}/checkin-code"),
    ("GET", "/v1/staff/shelters/{shelter_id}/checkin-code.svg"): lambda f, m: _ra(
        f.shelter(m), "/v1/staff/shelters/{}/checkin-code.svg"),
    ("POST", "/v1/staff/shelters/{shelter_id}/checkin-code/rotate"): lambda f, m: _ra(
        f.shelter(m), "/v1/staff/shelters/{}/checkin-code/rotate"),
    ("GET", "/v1/staff/roster"): lambda f, m: _r("/v1/staff/roster", params={"municipality_code": m}),
    ("GET", "/v1/staff/roster.csv"): lambda f, m: _r("/v1/staff/roster.csv", params={"municipality_code": m}),
    ("GET", "/v1/staff/reports/notices/{notice_id}"): lambda f, m: _ra(f.notice(m, state="issued"), "/v1/staff/reports/notices/{}"),
    ("GET", "/v1/staff/reports/notices/{notice_id}.csv"): lambda f, m: _ra(
        f.notice(m, state="issued"), "/v1/staff/reports/notices/{}.csv"),
    ("GET", "/v1/staff/reports/alerts"): lambda f, m: _r("/v1/staff/reports/alerts", params={"municipality_code": m}),
    ("GET", "/v1/staff/reports/alerts.csv"): lambda f, m: _r("/v1/staff/reports/alerts.csv", params={"municipality_code": m}),
    ("GET", "/v1/staff/reports/active-alerts"): lambda f, m: _r("/v1/staff/reports/active-alerts"),
    ("GET", "/v1/staff/reports/safety"): lambda f, m: _r("/v1/staff/reports/safety", params={"municipality_code": m}),
    ("GET", "/v1/staff/reports/safety.csv"): lambda f, m: _r("/v1/staff/reports/safety.csv", params={"municipality_code": m}),
}
# Routes where scope means nothing (accounts are the administrators'; the caller's own data).
SCOPE_FREE = {
    ("GET", "/v1/staff/me"), ("GET", "/v1/staff/accounts"), ("POST", "/v1/staff/accounts"),
    ("PATCH", "/v1/staff/accounts/{account_id}"), ("GET", "/v1/staff/notice-templates"), ("GET", "/v1/staff/notices"),
    ("GET", "/v1/staff/reports/active-alerts"),
}
PUBLIC = {("POST", "/v1/staff/auth/login")}


async def _r(url, json=None, params=None):
    return url, json, params


async def _ra(obj_coro, url_fmt, json=None):
    return url_fmt.format(await obj_coro), json, None


def _walk(routes, prefix=""):
    """Every route, also inside included routers (FastAPI wraps them as _IncludedRouter)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            ctx = getattr(route, "include_context", None)
            yield from _walk(inner.routes, prefix + (getattr(ctx, "prefix", "") or ""))
        elif hasattr(route, "routes") and not hasattr(route, "methods"):
            yield from _walk(route.routes, prefix + (getattr(route, "path", "") or ""))
        else:
            yield prefix, route


def staff_routes(app) -> list[tuple[str, str, object]]:
    out = []
    for prefix, route in _walk(app.routes):
        path = prefix + getattr(route, "path", "")
        if not path.startswith("/v1/staff"):
            continue
        for method in sorted(getattr(route, "methods", ()) or ()):
            if method in ("HEAD", "OPTIONS"):
                continue
            out.append((method, path, route))
    return out


async def test_every_staff_route_is_in_the_matrix_and_gated(app):
    routes = staff_routes(app)
    assert routes
    for method, path, route in routes:
        if (method, path) in PUBLIC:
            continue
        assert (method, path) in REQUESTS, f"new staff endpoint {method} {path}: add it to the authorization matrix"
        assert allowed_roles(route) is not None, f"{method} {path} does not go through require_staff"


async def test_authorization_matrix(app, client):
    principals = {"anonymous": (None, None)}
    for name, role, muni in (("admin", "admin", None), ("prefecture", "prefecture", None),
                             ("municipal", "municipal", FUKUSHIMA), ("viewer", "viewer", None),
                             ("viewer_municipal", "viewer", FUKUSHIMA)):
        username = f"matrix-{name}"
        await make_account(app, role, muni, username=username)
        principals[name] = (await login(client, username), StaffPrincipal(0, username, username, role, muni))
    f = Fixtures(app)
    failures, checked = [], 0
    for method, path, route in staff_routes(app):
        if (method, path) in PUBLIC:
            continue
        roles = allowed_roles(route)
        scopes = [FUKUSHIMA] if (method, path) in SCOPE_FREE else [FUKUSHIMA, KORIYAMA]
        for scope in scopes:
            for name, (headers, principal) in principals.items():
                url, json, params = await REQUESTS[(method, path)](f, scope)
                r = await client.request(method, url, json=json, params=params, headers=headers or {})
                checked += 1
                if principal is None:
                    expect = False
                else:
                    expect = principal.role in roles and ((method, path) in SCOPE_FREE or principal.covers(scope))
                if r.status_code >= 500:
                    failures.append(f"{name} {method} {url} [{scope}] → {r.status_code}")
                elif expect and not (200 <= r.status_code < 300):
                    failures.append(f"{name} {method} {url} [{scope}] expected allow, got {r.status_code} {r.text[:200]}")
                elif not expect and r.status_code not in (401, 403, 404):
                    failures.append(f"UNEXPECTED ALLOW {name} {method} {url} [{scope}] → {r.status_code}")
                if principal is None and r.status_code != 401:
                    failures.append(f"anonymous {method} {url} → {r.status_code}, not 401")
    assert not failures, "\n".join(failures)
    assert checked > 100


async def test_audit_log_has_no_route_that_changes_it(app):
    methods = {m for m, path, _ in staff_routes(app) if path.startswith("/v1/staff/audit")}
    assert methods == {"GET"}
