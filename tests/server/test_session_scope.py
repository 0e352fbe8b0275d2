"""A request's transaction commits before its answer is sent, on every route."""

from __future__ import annotations

from fastapi.routing import APIRoute
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.deps import SESSION, get_session


def _session_scopes(dependant):
    for sub in dependant.dependencies:
        if sub.call is get_session:
            yield sub.scope
        yield from _session_scopes(sub)


def _api_routes(routes):
    for r in routes:
        if isinstance(r, APIRoute):
            yield r
        elif getattr(r, "original_router", None) is not None:  # an included router (FastAPI ≥ 0.160)
            yield from _api_routes(r.original_router.routes)
        elif getattr(r, "routes", None):  # a mount
            yield from _api_routes(r.routes)


def test_every_route_commits_before_it_answers(app):
    routes = list(_api_routes(app.routes))
    scopes = {(r.path, tuple(sorted(r.methods))): set(_session_scopes(r.dependant)) for r in routes}
    with_session = {k: v for k, v in scopes.items() if v}
    assert len(with_session) > 40  # the walk does find the routes' sessions
    late = {k: v for k, v in with_session.items() if v != {"function"}}
    assert not late, f"routes whose commit would run after the answer is sent: {sorted(late)}"


async def test_a_commit_that_fails_is_an_error_answer_not_a_success(app, client, engine):
    """A constraint checked at commit: the client must hear of the failure."""
    async with engine.begin() as conn:
        await conn.execute(text(
            "CREATE TABLE IF NOT EXISTS test_commit_late (k int, "
            "CONSTRAINT test_commit_late_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED)"))

    async def write_twice(session: AsyncSession = SESSION):
        await session.execute(text("INSERT INTO test_commit_late VALUES (1), (1)"))  # fails only at COMMIT
        return {"ok": True}

    app.router.add_api_route("/test/commit-late", write_twice, methods=["POST"])
    try:
        r = await client.post("/test/commit-late")
        assert r.status_code >= 500, r.text
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM test_commit_late"))).scalar_one() == 0
    finally:
        app.router.routes.pop()
        async with engine.begin() as conn:
            await conn.execute(text("DROP TABLE test_commit_late"))
