"""``bousai demo load``: demo residents for ``make run`` (idempotent: re-running replaces them).

Twelve households across Fukushima — coastal いわき and 相馬, 福島市, 郡山市 (incl. 湖南),
会津若松 — each with an Android device on the outbox provider (what would be sent is
recorded, nothing leaves the machine), a home, some a workplace or a parent's home, and a
current location. Their bearer tokens are printed so a developer can call the API as them.

Four households keep a マイ避難シート (members, who leaves when, the nearest registry shelter
suited to their hazard) and two family groups share 安否, so the demo's pushes carry a
household's own plan and its family notices out of the box.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta

from geo.areas.api import resolved_area
from geo.areas.loader import geocoder_from_fixture
from geo.shelters import repository as shelters_repo
from my_evacuation.family import repository as family_repo
from my_evacuation.places import repository as places_repo
from my_evacuation.residents import repository as residents_repo
from server.bearer import hash_token, new_token
from server.db import make_engine, make_sessionmaker, unit_of_work
from server.settings import get_settings

DEMO_PREFIX = "demo-device-"

# (label, language, home, extra places, current location)
HOUSEHOLDS = [
    ("小名浜の家族", "ja", (36.9470, 140.9040), [("work", "いわき市役所", 37.0505, 140.8877)], (36.95, 140.90)),
    ("平の高齢世帯", "ja", (37.0560, 140.8900), [("family", "娘の家 (郡山)", 37.4000, 140.3600)], None),
    ("相馬の漁師", "ja", (37.7960, 140.9200), [], (37.80, 140.93)),
    ("福島市の会社員", "ja", (37.7608, 140.4747), [("work", "本社", 37.7500, 140.4670)], (37.76, 140.47)),
    ("Fukushima student", "en", (37.7900, 140.4600), [("school", "University", 37.6880, 140.4620)], (37.69, 140.46)),
    ("郡山の共働き", "ja", (37.4000, 140.3600), [("work", "工場", 37.3900, 140.4000), ("school", "小学校", 37.4050, 140.3650)], None),
    ("湖南の農家", "ja", (37.4420, 140.1280), [], None),
    ("会津若松の三世代", "ja", (37.4960, 139.9290), [("family", "実家 (喜多方)", 37.6510, 139.8740)], (37.50, 139.93)),
    ("Tourist in Aizu", "en", (37.4875, 139.9297), [], (37.487, 139.93)),
    ("南相馬の家族", "ja", (37.6420, 140.9570), [], None),
    ("東京から見守る息子", "ja", (35.6812, 139.7671), [("family", "両親の家 (いわき)", 37.0560, 140.8900)], None),
    ("Nurse in Iwaki", "en", (37.0200, 140.9100), [("work", "Hospital", 37.0300, 140.8900)], (37.03, 140.89)),
]


async def load_demo(database_url: str | None = None, *, quiet: bool = False) -> list[dict]:
    settings = get_settings()
    engine = make_engine(settings, url=database_url or settings.database_url, pool_size=2)
    geocoder = geocoder_from_fixture(settings.geocode_snap_meters)
    out = []
    now = datetime.now(UTC)
    try:
        async with unit_of_work(make_sessionmaker(engine)) as s:
            old = await residents_repo.residents_with_push_token_like(s, DEMO_PREFIX + "%")
            await family_repo.delete_groups_with_members(s, old)
            await residents_repo.delete_residents(s, old)
            for i, (label, lang, home, extras, current) in enumerate(HOUSEHOLDS):
                rid = await residents_repo.insert_resident(s, lang)
                token = new_token()
                did = await residents_repo.insert_android_device(
                    s, rid, push_token=f"{DEMO_PREFIX}{i:02d}", language=lang, token_hash=hash_token(token),
                    app_version="demo",
                )
                places = [("home", "自宅" if lang == "ja" else "Home", *home)] + list(extras)
                if current:
                    places.append(("current", None, *current))
                for kind, plabel, lat, lon in places:
                    codes = geocoder.locate(lat, lon)
                    area = resolved_area(geocoder, codes)
                    await places_repo.insert_seeded_place(
                        s, rid, did if kind == "current" else None, kind, plabel, lat, lon,
                        places_repo.code_params(codes),
                        accuracy_m=30.0 if kind == "current" else None,
                        expires_at=now + timedelta(hours=settings.location_retention_hours) if kind == "current" else None,
                    )
                    if kind == "home":
                        home_area = area.municipality.name if area.municipality else "outside Fukushima"
                out.append({"household": label, "resident_id": rid, "token": token, "home": home_area,
                            "home_at": home})
            await _plans_and_families(s, out)
    finally:
        await engine.dispose()
    if not quiet:
        print(f"demo: {len(out)} households loaded (tokens below; push provider records to the outbox)")
        for row in out:
            print(f"  {row['household']:<22} home {row['home']:<18} Authorization: Bearer {row['token']}")
    return out


# household index → (hazard the plan is for, members: (id, label, age band, needs help))
DEMO_PLANS = {
    0: ("tsunami", [("m1", "父", "40-64", False), ("m2", "母", "40-64", False), ("m3", "長男", "6-12", False)]),
    1: ("tsunami", [("m1", "祖父", "75+", True), ("m2", "祖母", "75+", True)]),
    3: ("flood", [("m1", "本人", "18-39", False)]),
    9: ("tsunami", [("m1", "本人", "40-64", False), ("m2", "祖母", "75+", True)]),
}
# Family groups: (name, members by household index, the first owns it)
DEMO_GROUPS = [("いわきの家族", [1, 10]), ("小名浜・福島", [0, 3])]

async def _plans_and_families(s, households: list[dict]) -> None:
    from my_evacuation.family import service as family
    from my_evacuation.family.schemas import GroupCreate, InviteCreate, JoinIn
    from my_evacuation.plans import service as plans
    from my_evacuation.plans.schemas import Destination, Member, PlanBody

    for i, (hazard, members) in DEMO_PLANS.items():
        h = households[i]
        lat, lon = h["home_at"]
        shelter = await shelters_repo.nearest_for_hazard(s, hazard, lat, lon)
        if shelter is not None:
            dest = Destination(id="d1", kind="shelter", shelter_id=shelter.id, name=shelter.name, hazards=[hazard],
                               means="walk", minutes=15)
        else:  # no registry loaded: the upper floor of a sturdy building nearby
            dest = Destination(id="d1", kind="upper_floor", name="近くの高い建物", hazards=[hazard], means="walk", minutes=5)
        body = PlanBody(
            members=[Member(id=mid, label=lab, age_band=age, needs_help_to_move=helpless,
                            leave_at_level=3 if helpless else 4, destination_ids=["d1"])
                     for mid, lab, age, helpless in members],
            destinations=[dest],
            items=["飲料水", "常備薬", "懐中電灯", "モバイルバッテリー"],
        )
        await plans.save_plan(s, h["resident_id"], None, body)
    for name, idx in DEMO_GROUPS:
        owner = households[idx[0]]
        group = await family.create_group(s, owner["resident_id"], GroupCreate(name=name, display_name=owner["household"][:40]))
        for j in idx[1:]:
            invite = await family.create_invite(s, group.id, owner["resident_id"], InviteCreate())
            await family.join(s, households[j]["resident_id"], JoinIn(code=invite.code, display_name=households[j]["household"][:40]))


def _cmd(args) -> int:
    asyncio.run(load_demo(args.database_url))
    return 0


def register(sub) -> None:
    demo = sub.add_parser("demo", help="demo data for make run")
    dsub = demo.add_subparsers(dest="demo_command", metavar="ACTION")
    dsub.required = True
    p = dsub.add_parser("load", help="(re)load the demo households")
    p.add_argument("--database-url")
    p.set_defaults(func=_cmd)


if __name__ == "__main__":
    sys.exit(_cmd(type("A", (), {"database_url": None})()))
