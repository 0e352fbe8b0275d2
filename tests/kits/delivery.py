"""Delivery test helpers (a pytest plugin: committed, local_fcm, fcm_sender): committed data (fan-out runs its own transactions), residents with
places and devices written directly, alerts stored through the real ingest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from alerts.events.service import ingest
from tests.kits.db import truncate_all


@pytest.fixture
async def committed(engine):
    sm = async_sessionmaker(engine, expire_on_commit=False)
    yield sm
    await truncate_all(engine)


@dataclass
class Household:
    resident_id: int
    devices: list[int] = field(default_factory=list)
    places: dict[str, int] = field(default_factory=dict)


# 福島市 (中通り 250 earthquake area; inland: no tsunami area) and いわき市 (浜通り 251, coast 250).
FUKUSHIMA_CITY = {"municipality_code": "072010", "jma_city_code": "0720100", "quake_area_code": "250", "tsunami_area_code": None, "lon": 140.47, "lat": 37.75}
IWAKI = {"municipality_code": "072044", "jma_city_code": "0720400", "quake_area_code": "251", "tsunami_area_code": "250", "lon": 140.89, "lat": 37.05}


async def add_household(
    sm, *, places: dict[str, dict], devices: list[tuple[str | None, str]] = (("tok", "ja"),), preferences: dict | None = None,
    current: dict[int, dict] | None = None,
) -> Household:
    """places: kind → area dict; devices: (token or None, language); current: device index → area."""
    import orjson

    async with sm() as s, s.begin():
        rid = (
            await s.execute(
                text("INSERT INTO residents (language, preferences) VALUES ('ja', CAST(:p AS jsonb)) RETURNING id"),
                {"p": orjson.dumps(preferences or {}).decode()},
            )
        ).scalar_one()
        h = Household(rid)
        for i, (tok, lang) in enumerate(devices):
            token = f"{tok}-{rid}-{i}" if tok else None
            did = (
                await s.execute(
                    text(
                        "INSERT INTO devices (resident_id, platform, push_kind, push_token, language, token_hash) VALUES "
                        "(:r, 'android', CASE WHEN CAST(:t AS text) IS NULL THEN NULL ELSE 'fcm_token' END, :t, :l, :h) RETURNING id"
                    ),
                    {"r": rid, "t": token, "l": lang, "h": os.urandom(32)},
                )
            ).scalar_one()
            h.devices.append(did)
        for kind, area in places.items():
            h.places[kind] = await _place(s, rid, kind, area, None)
        for idx, area in (current or {}).items():
            h.places[f"current{idx}"] = await _place(s, rid, "current", area, h.devices[idx])
    return h


async def _place(s, rid, kind, a, device_id):
    return (
        await s.execute(
            text(
                "INSERT INTO places (resident_id, device_id, kind, geom, municipality_code, jma_city_code, quake_area_code, "
                "tsunami_area_code, jma_pref_code, expires_at) VALUES (:r, :d, CAST(:k AS varchar), ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), "
                ":m, :c, :q, :t, '070000', CASE WHEN CAST(:k AS varchar) = 'current' THEN now() + interval '1 day' END) RETURNING id"
            ),
            {"r": rid, "d": device_id, "k": kind, "lon": a["lon"], "lat": a["lat"], "m": a["municipality_code"],
             "c": a["jma_city_code"], "q": a["quake_area_code"], "t": a["tsunami_area_code"]},
        )
    ).scalar_one()


async def store(sm, doc: dict) -> int:
    async with sm() as s, s.begin():
        res = await ingest(s, doc)
    return res.alert_id


def tsunami_doc(source_id: str, grade: str, *, msg_type: str = "alert", issued_at: str = "2026-11-22T10:00:00+09:00", event_id: str = "20261122100000"):
    return {
        "source": "jma", "file": None, "msg_type": msg_type, "event_id": event_id, "source_id": source_id,
        "issued_at": issued_at, "category": "tsunami", "headline": "津波警報を発表しました。", "severity": "Extreme",
        "expires_at": None, "areas": [] if msg_type == "cancel" else [{"code": "250", "name": "福島県", "kind": "tsunami_area", "tsunami_grade": grade}],
        "geometry": None, "status": "通常", "is_drill": False, "title": "津波警報・注意報・予報a",
    }


def quake_doc(source_id: str, intensities: dict[str, str], *, event_id: str = "20261122090000", issued_at: str = "2026-11-22T09:00:00+09:00"):
    return {
        "source": "jma", "file": None, "msg_type": "alert", "event_id": event_id, "source_id": source_id,
        "issued_at": issued_at, "category": "earthquake", "headline": "強い揺れを観測しました。", "severity": "Severe",
        "expires_at": None, "areas": [{"code": c, "name": {"250": "福島県中通り", "251": "福島県浜通り"}.get(c, c), "kind": "seismic_area", "intensity": i} for c, i in intensities.items()],
        "geometry": None, "status": "通常", "is_drill": False, "title": "震度速報",
        "earthquake": {"max_intensity": max(intensities.values())},
    }


def weather_doc(source_id: str, warnings: list[tuple[str, str]], *, issued_at: str, event_id: str = "気象警報・注意報|福島地方気象台|福島県"):
    return {
        "source": "jma", "file": None, "msg_type": "alert", "event_id": event_id, "source_id": source_id,
        "issued_at": issued_at, "category": "weather_warning", "headline": "福島県に大雨警報", "severity": "Severe",
        "expires_at": None, "areas": [{"code": "0720100", "name": "福島市", "kind": "jma_city", "warnings": [{"name": n, "status": s} for n, s in warnings]}],
        "geometry": None, "status": "通常", "is_drill": False, "title": "気象警報・注意報",
    }


async def pushes(sm, alert_id: int | None = None):
    async with sm() as s:
        q = "SELECT pm.*, d.resident_id AS dres FROM push_messages pm JOIN deliveries d ON d.id = pm.delivery_id"
        if alert_id is not None:
            q += " WHERE pm.alert_id = :a"
        return (await s.execute(text(q + " ORDER BY pm.id"), {"a": alert_id})).mappings().all()


async def delivery(sm, resident_id: int):
    async with sm() as s:
        return (await s.execute(text("SELECT * FROM deliveries WHERE resident_id = :r"), {"r": resident_id})).mappings().all()


@dataclass
class LocalFcm:
    state: object
    base_url: str
    sa_file: str
    ca_file: str
    project: str = "bousai-local"


@pytest.fixture(scope="session")
def local_fcm(tmp_path_factory):
    """The local FCM HTTP v1 server (HTTP/2 + TLS) in a thread, with a service account it trusts."""
    from testkit.standins.certs import make_service_account, make_tls, public_key_pem_of
    from testkit.standins.fcm_server import FcmState, make_fcm_app
    from testkit.standins.serving import ServerThread

    tmp = tmp_path_factory.mktemp("fcm")
    tls = make_tls(tmp)
    state = FcmState("bousai-local")
    server = ServerThread(make_fcm_app(state), tls).start()
    info = make_service_account(tmp / "sa.json", project_id="bousai-local", token_uri=server.base_url + "/token")
    state.service_accounts[info["client_email"]] = public_key_pem_of(info["private_key"])
    yield LocalFcm(state, server.base_url, str(tmp / "sa.json"), str(tls.ca_file))
    server.stop()


@pytest.fixture
async def fcm_sender(local_fcm, committed, redis_client):
    from firebase_admin import credentials

    from my_evacuation.push.providers.fcm import FcmProvider
    from my_evacuation.push.providers.registry import PushProviders
    from my_evacuation.push.jobs import PushSender

    local_fcm.state.reset()
    provider = FcmProvider(
        credentials.Certificate(local_fcm.sa_file), local_fcm.project, endpoint=local_fcm.base_url, ca_file=local_fcm.ca_file
    )
    providers = PushProviders({"fcm_token": provider, "fcm_fid": provider})
    sender = PushSender(committed, providers, redis_client)
    yield sender
    await sender.aclose()
