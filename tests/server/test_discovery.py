"""server.discovery: hooks are found by one walk and checked — a misspelt or mistyped hook
stops the process instead of silently dropping a job."""

from __future__ import annotations

import types

import pytest

from server import discovery
from server.discovery import DiscoveryError
from server.scheduler import ScheduledJob, discover_jobs
from server.worker import StreamHandler, discover


def _module(name: str, **attrs) -> types.ModuleType:
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


async def _job(ctx) -> None:
    return None


@pytest.fixture
def fake_modules(monkeypatch):
    """Replace what the walk finds for one kind with the given modules."""

    def install(kind: str, *mods: types.ModuleType) -> None:
        monkeypatch.setattr(discovery, "_walk", lambda k: [m.__name__ for m in mods] if k == kind else [])
        monkeypatch.setattr(discovery.importlib, "import_module", {m.__name__: m for m in mods}.__getitem__)
        discovery.modules.cache_clear()

    yield install
    discovery.modules.cache_clear()


def test_the_product_discovers_cleanly():
    discovery.modules.cache_clear()
    handlers, loops = discover()
    assert handlers and loops
    names = {j.name for j in discover_jobs()}
    assert {"alerts.feeds.poll", "alerts.outbox.relay", "server.retention"} <= names
    routers = [m.__name__ for m in discovery.modules("api")]
    assert "alerts.events.api" in routers and "my_evacuation.places.api" in routers
    assert [s.__name__ for s in discovery.collect("cli", "SETUP_STEPS")][:2] == ["_load_areas", "_load_shelters"]


@pytest.mark.parametrize("misspelt", ["SCHEDULE_JOBS", "SCHEDULED_JOB", "STREAM_HANDLER", "WORKER_LOOP", "RETENTION_TASK"])
def test_a_misspelt_tasks_hook_is_an_error(fake_modules, misspelt):
    fake_modules("tasks", _module("geo.fake.tasks", **{misspelt: [ScheduledJob("x", _job, seconds=1)]}))
    with pytest.raises(DiscoveryError, match=misspelt):
        discover_jobs()


def test_a_hook_of_the_wrong_type_is_an_error(fake_modules):
    fake_modules("tasks", _module("geo.fake.tasks", STREAM_HANDLERS=[ScheduledJob("x", _job, seconds=1)]))
    with pytest.raises(DiscoveryError, match="STREAM_HANDLERS holds a ScheduledJob"):
        discover()
    fake_modules("tasks", _module("geo.fake.tasks", RETENTION_TASKS=["not callable"]))
    with pytest.raises(DiscoveryError, match="RETENTION_TASKS must be a dict"):
        discover_jobs()


def test_a_tasks_module_without_hooks_and_an_api_without_router_are_errors(fake_modules):
    fake_modules("tasks", _module("geo.fake.tasks", helper=lambda: None))
    with pytest.raises(DiscoveryError, match="defines none of the hooks"):
        discovery.modules("tasks")
    fake_modules("api", _module("geo.fake.api", on_startup=_job))
    with pytest.raises(DiscoveryError, match="has no router"):
        discovery.modules("api")
    fake_modules("api", _module("geo.fake.api", router=object(), on_start_up=_job))
    with pytest.raises(DiscoveryError, match="on_start_up"):
        discovery.modules("api")


def test_good_hooks_are_collected(fake_modules):
    handler = StreamHandler("s", "g", _job)
    fake_modules("tasks", _module("geo.fake.tasks", STREAM_HANDLERS=[handler], ENTRY_RETENTION=3))
    assert discovery.collect("tasks", "STREAM_HANDLERS", StreamHandler) == [handler]
    with pytest.raises(DiscoveryError, match="not a hook"):
        discovery.collect("tasks", "STREAM_HANDLER")
