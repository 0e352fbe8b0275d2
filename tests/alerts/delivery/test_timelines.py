"""Golden timelines: real JMA sequences replayed through ``bousai simulate``'s path (parse →
store → targeting → preferences → transitions → composition), asserting what each test
resident is told, document by document. Each numbered case of issue 11 has its test here.

The documents are read from ../shared/reference (skipped with a reason when absent);
documents derived from them for a step JMA's sample set lacks are written to tmp_path.
"""

from __future__ import annotations

import io
from datetime import datetime
import random
import re
from pathlib import Path

import pytest

from alerts.simulate import add_residents, read_places, run_documents
from alerts.sources import parse_document
from tests.kits.paths import reference_path

SAMPLES = "jmaxml/samples"

# Places across Fukushima (geocoded by the project's own areas).
FUKUSHIMA_PLACES = """id,lat,lon
iwaki,37.05,140.89
minamisoma,37.64,140.96
konan,37.42,140.14
aizuwakamatsu,37.49,139.93
minamiaizu,37.20,139.77
fukushima,37.75,140.47
"""


def sample(name: str) -> Path:
    return reference_path(SAMPLES, name)


async def simulate(sm, redis, places_csv: str, docs: list[Path | str]) -> list[dict]:
    residents = await add_residents(sm, read_places(io.StringIO(places_csv)))
    out: list[dict] = []
    await run_documents(sm, redis, residents, [str(d) for d in docs], out.append)
    errors = [o for o in out if "error" in o]
    assert not errors, errors
    return out


def of(outcomes: list[dict], place: str) -> list[dict]:
    return [o for o in outcomes if o["place"] == place]


def derived(tmp_path: Path, src: Path, name: str, **subs: str) -> Path:
    """A document derived from a reference sample (a step the sample set lacks)."""
    text = src.read_text(encoding="utf-8")
    for old, new in subs.items():
        assert old in text, old
        text = text.replace(old, new)
    out = tmp_path / name
    out.write_text(text, encoding="utf-8")
    return out


# --- 1. tsunami: an observation product never clears a warning -------------------------------


async def test_offshore_observation_never_clears_a_major_tsunami_warning(committed, redis_client):
    docs = [sample("32-39_11_02_250206_VTSE41.xml"), sample("61_11_03_250206_VTSE52.xml"),
            sample("32-39_11_06_250206_VTSE41.xml")]
    out = await simulate(committed, redis_client, FUKUSHIMA_PLACES, docs)
    for place in ("iwaki", "minamisoma"):
        (first, *rest) = of(out, place)
        assert first["action"] == "new" and first["tsunami_grade"] == "major_warning"
        assert first["life_critical"] and first["level"] == 5 and "大津波警報" in first["title"]
        assert rest == []  # no 【解除】 from the VTSE52, no second "new" from the next VTSE41
    assert of(out, "aizuwakamatsu") == [] and of(out, "fukushima") == []  # inland


async def test_2011_tsunami_chain_lowers_and_lifts_only_through_the_warning_product(committed, redis_client):
    root = reference_path(SAMPLES)
    docs = sorted(p for p in root.iterdir() if re.match(r"(32-39_1[123]|61_11)_.*VTSE", p.name))
    out = await simulate(committed, redis_client, FUKUSHIMA_PLACES, docs)
    assert out, "the chain tells the coast something"
    for o in out:
        if o["action"] in ("lower", "clear"):
            assert o["product"] == "tsunami_warning", o
        if o["life_critical"]:
            assert o["action"] != "hold", o
    for place in ("iwaki", "minamisoma"):
        assert [o["action"] for o in of(out, place)].count("new") == 1


# --- 2. EEW: Serial order, never "lowered", 取消 ends it ----------------------------------------

EEW_PLACES = """id,lat,lon,quake_area
nanyo,,,622
kochi_west,,,632
kochi_middle,,,631
"""


def eew_chain() -> list[Path]:
    root = reference_path(SAMPLES)
    return sorted(p for p in root.iterdir() if re.match(r"(36_01|37_01|77_01)_.*VXSE4[345]", p.name))


async def test_eew_chain_in_order_raises_once_never_lowers_and_its_cancel_withdraws_it(committed, redis_client):
    out = await simulate(committed, redis_client, EEW_PLACES, eew_chain())
    nanyo = [o["action"] for o in of(out, "nanyo")]
    # 予報 (震度4) first, then the 警報: one rise; the closing 取消 withdraws it.
    assert nanyo == ["new", "raise", "cancel"], nanyo
    warned = of(out, "nanyo")[1]
    assert warned["life_critical"] and "警報" in warned["title"] and "引き下げ" not in warned["title"]
    assert [o["action"] for o in of(out, "kochi_middle")] == ["new", "raise", "cancel"]
    assert all(o["action"] not in ("lower", "clear") for o in out)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_eew_chain_shuffled_never_lowers_and_nothing_comes_after_its_cancel(committed, redis_client, seed):
    docs = eew_chain()
    random.Random(seed).shuffle(docs)
    out = await simulate(committed, redis_client, EEW_PLACES, docs)
    assert all(o["action"] not in ("lower", "clear") for o in out)
    for place in ("nanyo", "kochi_west", "kochi_middle"):
        actions = [o["action"] for o in of(out, place)]
        assert actions.count("new") <= 1 and actions.count("raise") <= 1, actions
        if "cancel" in actions:
            assert actions[-1] == "cancel", actions  # an older report never revives a withdrawn EEW
    cancels = [i for i, d in enumerate(docs) if "_33_" in d.name]
    before_cancel = {str(d) for d in docs[: min(cancels)]}
    for o in out:
        if o["action"] in ("new", "raise"):
            assert o["doc"] in before_cancel, o


# --- 3. volcano: its own scale, 噴火速報 life-critical ----------------------------------------

VOLCANO_PLACES = """id,lat,lon,city,quiet
tsumagoi,,,1042500,
otaki,,,2042900,1
"""


async def test_volcano_level_is_its_own_scale_and_a_rise_to_5_is_told(committed, redis_client, tmp_path):
    first = sample("45_01_01_200522_VFVO50.xml")
    raised = derived(tmp_path, first, "raised_VFVO50.xml", **{
        "2020-05-22T13:03:00+09:00": "2020-05-22T15:00:00+09:00",
        "レベル３（入山規制）": "レベル５（避難）",
        "火口周辺警報：入山規制等": "噴火警報：避難等",
    })
    out = await simulate(committed, redis_client, VOLCANO_PLACES, [first, raised])
    told, rise = of(out, "tsumagoi")
    assert told["action"] == "new" and "噴火警戒レベル3" in told["title"] and not told["life_critical"]
    assert rise["action"] == "raise" and "噴火警戒レベル5" in rise["title"] and rise["life_critical"]


async def test_eruption_flash_is_life_critical_and_never_held_by_quiet_hours(committed, redis_client):
    out = await simulate(committed, redis_client, VOLCANO_PLACES, [sample("67_01_01_140927_VFVO56.xml")])
    (o,) = of(out, "otaki")
    assert o["action"] == "new" and o["life_critical"] and "噴火速報" in o["title"]


def test_volcano_level_3_asks_no_evacuation_of_residents():
    from my_evacuation.guidance import _action

    (alert,) = parse_document(sample("45_01_01_200522_VFVO50.xml").read_bytes())
    place = {"jma_city_code": "1042500"}
    assert _action(alert.to_dict(), place) is None  # 入山規制 is not 高齢者等避難


# --- 4. R06 warnings: per-area level, escalations told ------------------------------------------

R06_PLACES = """id,lat,lon,city
matsue,,,3220100
"""


async def test_r06_city_with_only_a_level_2_advisory_is_not_ranked_at_the_documents_level(committed, redis_client):
    doc = sample("15_17_01_250630_VPWW56.xml")
    (alert,) = parse_document(doc.read_bytes())
    assert alert.level == 4  # the document's highest
    out = await simulate(committed, redis_client, R06_PLACES + "matsue_adv,,,3220100\n", [doc])
    assert out == []  # 松江市 has only レベル２土砂災害注意報: below the default 警報 threshold


# --- 5. 特別警報 is life-critical -------------------------------------------------------------


async def test_special_warning_at_night_is_never_held(committed, redis_client):
    places = "id,lat,lon,city,quiet\nhamada,,,3220200,1\nmatsue,,,3220100,1\n"
    out = await simulate(committed, redis_client, places, [sample("15_12_01_161130_VPWW53.xml")])
    (o,) = of(out, "hamada")
    assert o["action"] == "new" and o["life_critical"] and "特別警報" in o["title"] and o["level"] == 5
    assert of(out, "matsue") == []  # 注意報 only


# --- 6. 取消 cancels exactly its product -----------------------------------------------------------


async def test_tsunami_information_cancel_leaves_the_warning_standing(committed, redis_client, tmp_path):
    warning = sample("32-39_11_02_250206_VTSE41.xml")
    info_cancel = derived(tmp_path, sample("38-39_03_02_210805_VTSE51.xml"), "cancel_VTSE51.xml", **{
        "<EventID>20210805103531</EventID>": "<EventID>20110311144640</EventID>",
        "2021-08-05T12:56:00+09:00": "2011-03-11T15:30:00+09:00",
    })
    out = await simulate(committed, redis_client, FUKUSHIMA_PLACES, [warning, info_cancel])
    assert [o["action"] for o in of(out, "iwaki")] == ["new"]  # nobody is told "withdrawn"


# --- 7. the place's own intensity; 震度速報 → 震源・震度情報 never "lowered" ----------------------

QUAKE_PLACES = """id,lat,lon,city,quake_area
kanoya,,,4620300,771
"""


async def test_intensity_report_followed_by_detail_never_lowers(committed, redis_client):
    docs = [sample(n) for n in ("32-35_04_02_100831_VXSE51.xml", "32-35_04_04_240613_VXSE53.xml",
                                "32-35_04_05_100831_VXSE51.xml", "32-35_04_06_240613_VXSE53.xml")]
    out = await simulate(committed, redis_client, QUAKE_PLACES, docs)
    assert [o["action"] for o in out if o["place"] == "kanoya"] == ["new"]
    assert all(o["action"] != "lower" for o in out)


async def test_unreceived_intensity_is_said_as_such_never_the_documents_maximum(committed, redis_client):
    doc = sample("32-35_06_04_240613_VXSE53.xml")
    (alert,) = parse_document(doc.read_bytes())
    missing = next(a for a in alert.areas if a.get("kind") == "seismic_city" and "未入電" in str(a.get("condition")))
    listed = next(a for a in alert.areas if a.get("kind") == "seismic_city" and a.get("intensity"))
    places = f"id,lat,lon,city,quake_area\nmissing,,,{missing['code']},{missing['area_code']}\nlisted,,,{listed['code']},{listed['area_code']}\n"
    out = await simulate(committed, redis_client, places, [doc])
    (m,) = of(out, "missing")
    assert m["intensity"] is None and m["intensity_unreceived"] and "未入電" in m["title"]
    (li,) = of(out, "listed")
    assert li["intensity"] == listed["intensity"]


# --- 8. 特別警報 issue → 解除 across VPWW53/54 and VPNO50 -------------------------------------


async def test_one_special_warning_in_three_products_is_one_notification(committed, redis_client):
    real = reference_path("jmaxml", "real")
    docs = [real / "20240725040511_0_VPWW54_060000.xml", real / "20240725040512_0_VPNO50_060000.xml"]
    (alert,) = parse_document(docs[0].read_bytes())
    city = next(a["code"] for a in alert.areas if any("特別警報" in (w.get("name") or "") for w in a.get("warnings") or []))
    out = await simulate(committed, redis_client, f"id,lat,lon,city\nyamagata,,,{city}\n", docs)
    assert [o["action"] for o in out] == ["new"] and out[0]["life_critical"]


def _lifted_notice(tmp_path: Path) -> tuple[Path, Path, str]:
    issued = sample("62_01_01_130412_VPNO50.xml")
    lifted = derived(tmp_path, issued, "lifted_VPNO50.xml", **{
        "2011-09-03T12:00:00+09:00": "2011-09-05T06:00:00+09:00",
        "<Name>大雨特別警報</Name>\n<Code>33</Code>": "<Name>大雨警報</Name>\n<Code>03</Code>",
        "【特別警報（大雨）】奈良県に特別警報を発表しました。警報本文をご確認ください。":
            "【特別警報解除】奈良県の大雨特別警報を警報に切り替えました。",
    })
    (alert,) = parse_document(issued.read_bytes())
    return issued, lifted, alert.areas[0]["code"]


async def test_special_warning_notice_lifted_tells_the_never_told_nothing(committed, redis_client, tmp_path):
    _, lifted, city = _lifted_notice(tmp_path)
    out = await simulate(committed, redis_client, f"id,lat,lon,city\nnever_told,,,{city}\n", [lifted])
    assert out == []  # no 「【警報】…解除」


async def test_special_warning_notice_lifted_never_lowers_what_was_told(committed, redis_client, tmp_path):
    issued, lifted, city = _lifted_notice(tmp_path)
    out = await simulate(committed, redis_client, f"id,lat,lon,city\ntold,,,{city}\n", [issued, lifted])
    assert [o["action"] for o in out] == ["new"]  # no 「特別警報は警報に引き下げ」 from the 報知


# --- the whole reference set: invariants over every document in file-name order --------------


async def test_every_reference_document_in_order_keeps_the_invariants(committed, redis_client):
    root = reference_path("jmaxml")
    docs = sorted((p for sub in ("samples", "real") for p in (root / sub).iterdir() if p.suffix == ".xml"),
                  key=lambda p: p.name)
    residents = await add_residents(committed, read_places(io.StringIO(FUKUSHIMA_PLACES)))
    out: list[dict] = []
    await run_documents(committed, redis_client, residents, [str(d) for d in docs], out.append)
    outcomes = [o for o in out if "action" in o]
    by_place = {p.id: p for p in residents.values()}
    for o in outcomes:
        assert not (o["life_critical"] and o["action"] == "hold"), o
        if o["category"] == "tsunami" and o["action"] in ("lower", "clear"):
            assert o["product"] == "tsunami_warning", o
        if o["category"] == "eew":
            assert o["action"] not in ("lower", "clear"), o
        if o["category"] == "earthquake" and o["action"] in ("new", "raise") and o["intensity"]:
            (alert,) = [a for a in parse_document(Path(o["doc"]).read_bytes())][:1]
            codes = by_place[o["place"]].codes
            city = codes.get("jma_city_code")
            areas = {a["code"]: a for a in alert.areas}
            own = areas.get(city) or areas.get(city[:5] + "00") or areas.get(codes.get("quake_area_code"))
            assert own is not None and own.get("intensity") == o["intensity"], (o, own)


# --- 10. freshness: an EEW that arrives after the shaking is recorded, never pushed -----------


async def test_stale_eew_is_not_pushed_but_recorded(committed, redis_client):
    from datetime import timedelta

    from sqlalchemy import text

    from alerts.delivery.service import fan_out
    from alerts.events.service import ingest

    residents = await add_residents(committed, read_places(io.StringIO(EEW_PLACES)))
    (alert,) = parse_document(sample("37_01_01_240613_VXSE43.xml").read_bytes())
    async with committed() as s, s.begin():
        res = await ingest(s, alert)
    issued = datetime.fromisoformat(alert.issued_at)
    stats = await fan_out(committed, redis_client, res.alert_id, now=issued + timedelta(minutes=5))
    assert stats.pushes == 0 and stats.actions.get("held") == 2  # 南予 and 高知県西部 (警報 areas)
    async with committed() as s:
        rows = (await s.execute(text("SELECT status, critical FROM deliveries"))).all()
    assert {r.status for r in rows} == {"held"} and not any(r.critical for r in rows)
    assert len(residents) == 3


# --- the command line contract ------------------------------------------------------------------


def test_simulate_command_prints_one_json_line_per_outcome_and_a_summary(tmp_path):
    import json
    import subprocess
    import sys

    places = tmp_path / "places.csv"
    places.write_text(FUKUSHIMA_PLACES, encoding="utf-8")
    docs = [str(sample("32-39_11_02_250206_VTSE41.xml")), str(sample("61_11_03_250206_VTSE52.xml"))]
    env = {**__import__("os").environ, "BOUSAI_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/bousai",
           "BOUSAI_REDIS_URL": "redis://127.0.0.1:6379/13"}
    run = subprocess.run([sys.executable, "-m", "server.cli", "simulate", "--places", str(places), *docs],
                         capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).resolve().parents[3])
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    *outcomes, summary = lines
    assert summary == {"simulate": {"documents": 2, "places": 6, "outcomes": 2}}
    keys = {"doc", "place", "action", "category", "product", "level", "life_critical", "critical", "intensity",
            "tsunami_grade", "language", "title", "body"}
    assert {o["place"] for o in outcomes} == {"iwaki", "minamisoma"}
    for o in outcomes:
        assert keys <= set(o) and o["doc"] == docs[0] and o["action"] == "new"


def test_simulate_command_refuses_a_bad_places_file(tmp_path):
    import subprocess
    import sys

    places = tmp_path / "places.csv"
    places.write_text("id,lat,lon\nx,abc,140\n", encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "server.cli", "simulate", "--places", str(places), str(places)],
                         capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parents[3])
    assert run.returncode == 2 and "line 2" in run.stderr and "lat" in run.stderr


# --- 4 (cont.). escalations: レベル3 → レベル4, a kind added, a second 特別警報 ---------------------


def _r06_level4(tmp_path: Path) -> Path:
    """松江市's レベル３大雨警報 of the R06 sample raised to レベル４大雨危険警報, an hour later."""
    src = sample("15_17_01_250630_VPWW55.xml").read_text(encoding="utf-8")
    src = src.replace("2024-11-02T11:19:00+09:00", "2024-11-02T12:19:00+09:00")
    at = src.index("<Code>3220100</Code>", src.index("<Body"))
    start = src.rindex("<Item>", 0, at)
    item = src[start:at].replace("レベル３大雨警報", "レベル４大雨危険警報").replace("警戒レベル３相当", "警戒レベル４相当")
    out = tmp_path / "level4_VPWW55.xml"
    out.write_text(src[:start] + item + src[at:], encoding="utf-8")
    return out


async def test_r06_level_3_to_level_4_is_told(committed, redis_client, tmp_path):
    out = await simulate(committed, redis_client, R06_PLACES, [sample("15_17_01_250630_VPWW55.xml"), _r06_level4(tmp_path)])
    assert [(o["action"], o["level"]) for o in out] == [("new", 3), ("raise", 4)]
    assert "危険警報" in out[1]["title"]


async def test_a_second_special_warning_beside_a_standing_one_is_told(committed, redis_client):
    docs = [sample("15_09_01_160628_VPWW53.xml"), sample("15_09_02_160628_VPWW53.xml")]
    out = await simulate(committed, redis_client, "id,lat,lon,city\nwakayama,,,3020100\n", docs)
    assert [o["action"] for o in out] == ["new", "raise"]  # 暴風・波浪 特別警報 added to 大雨特別警報
    assert all(o["life_critical"] for o in out)


async def test_special_warning_lowered_to_an_advisory_by_the_warning_product(committed, redis_client):
    docs = [sample(n) for n in ("15_08_01_130412_VPWW53.xml", "15_08_03_160628_VPWW53.xml", "15_08_04_160628_VPWW53.xml")]
    out = await simulate(committed, redis_client, "id,lat,lon,city\nnara,,,2920100\n", docs)
    assert [o["action"] for o in out] == ["new", "lower"]
    assert out[0]["life_critical"] and "特別警報" in out[0]["title"] and out[1]["level"] == 2  # 大雨注意報


async def test_detail_before_the_intensity_report_keeps_the_places_own_city(committed, redis_client):
    # Out of order: 震源・震度情報 (cities) first, then the 震度速報 (areas) of the same quake.
    docs = [sample("32-35_04_04_240613_VXSE53.xml"), sample("32-35_04_02_100831_VXSE51.xml")]
    (detail,) = parse_document(docs[0].read_bytes())
    (flash,) = parse_document(docs[1].read_bytes())
    area = next(a for a in flash.areas if a.get("intensity"))
    weaker = [a for a in detail.areas if a.get("kind") == "seismic_city" and a.get("area_code") == area["code"]
              and a.get("intensity") != area["intensity"]]
    if not weaker:
        pytest.skip("every city of the area has the area's intensity in this sample")
    city = weaker[0]
    out = await simulate(committed, redis_client, f"id,lat,lon,city,quake_area\nx,,,{city['code']},{area['code']}\n", docs)
    assert [(o["action"], o["intensity"]) for o in out] == [("new", city["intensity"])]


# --- CAP sequences (the project's own fixtures, written in the municipalities' CAP profile) ------

REPO = Path(__file__).resolve().parents[3]
CAP = REPO / "fixtures" / "cap"
CAP_PLACES = """id,lat,lon,quiet
fukushima,37.75,140.47,1
watari,37.745,140.49,1
iwaki,37.05,140.89,1
"""


async def test_cap_evacuation_order_raised_then_withdrawn(committed, redis_client):
    docs = [CAP / "evacuation_level4_fukushima.xml", CAP / "evacuation_level5_update.xml", CAP / "evacuation_cancel.xml"]
    out = await simulate(committed, redis_client, CAP_PLACES, docs)
    told = [o for o in out if o["action"] in ("new", "raise", "cancel")]
    assert told, out
    for place in {o["place"] for o in told}:
        actions = [o["action"] for o in of(out, place)]
        assert actions[0] == "new" and actions[-1] == "cancel", actions  # quiet hours never hold 避難指示
        assert all(o["life_critical"] for o in of(out, place) if o["action"] != "cancel")
    assert of(out, "iwaki") == []


async def test_jalert_is_life_critical_and_a_required_monthly_test_is_never_an_alert(committed, redis_client):
    docs = [CAP / "jalert_missile.xml", CAP / "ipaws_required_monthly_test.xml"]
    out = await simulate(committed, redis_client, CAP_PLACES, docs)
    assert {o["doc"] for o in out} == {str(docs[0])}
    assert all(o["action"] == "new" and o["life_critical"] for o in out) and len(out) == 3


# --- the preview staff see before they issue: the same rules, nothing kept ----------------------


async def test_preview_tells_who_would_be_told_what_and_keeps_nothing(committed, redis_client):
    from sqlalchemy import text

    from alerts.delivery.preview import preview

    await add_residents(committed, read_places(io.StringIO(FUKUSHIMA_PLACES)))
    (alert,) = parse_document(sample("32-39_11_02_250206_VTSE41.xml").read_bytes())
    async with committed() as s, s.begin():
        seen = await preview(s, alert.to_dict(), now=datetime.fromisoformat(alert.issued_at))
    assert seen["residents"] == 2 and seen["actions"] == {"new": 2} and seen["life_critical"] and seen["level"] == 5
    (msg,) = seen["messages"]
    assert msg["language"] == "ja" and "大津波警報" in msg["title"]
    async with committed() as s:
        assert (await s.execute(text("SELECT count(*) FROM alerts"))).scalar_one() == 0
        assert (await s.execute(text("SELECT count(*) FROM deliveries"))).scalar_one() == 0


async def test_cap_order_narrowed_to_another_area_is_lifted_for_the_rest(committed, redis_client, tmp_path):
    first = CAP / "evacuation_level4_fukushima.xml"
    text = first.read_text(encoding="utf-8")
    ident = re.search(r"<identifier>([^<]*)</identifier>", text).group(1)
    sender = re.search(r"<sender>([^<]*)</sender>", text).group(1)
    sent = re.search(r"<sent>([^<]*)</sent>", text).group(1)
    narrowed = re.sub(r"<polygon>[^<]*</polygon>",
                      "<polygon>37.9000,140.1000 37.9000,140.1010 37.9010,140.1010 37.9000,140.1000</polygon>", text)
    narrowed = narrowed.replace(f"<identifier>{ident}</identifier>", f"<identifier>{ident}-2</identifier>")
    narrowed = narrowed.replace(f"<sent>{sent}</sent>", "<sent>2025-08-10T15:00:00+09:00</sent>")
    narrowed = narrowed.replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>")
    narrowed = re.sub(r"(<scope>[^<]*</scope>)", rf"\1\n  <references>{sender},{ident},{sent}</references>", narrowed, count=1)
    path = tmp_path / "narrowed.xml"
    path.write_text(narrowed, encoding="utf-8")
    places = "id,lat,lon\nwatari,37.737,140.487\n"  # inside the first order's polygon only
    out = await simulate(committed, redis_client, places, [first, path])
    assert [o["action"] for o in out] == ["new", "clear"], out


# --- 9. targeting: a split city sits in its parent's quake area --------------------------------


async def test_konan_hears_the_nakadori_report_at_koriyamas_own_intensity(committed, redis_client):
    doc = reference_path("jmaxml", "real", "20240101072429_0_VXSE53_010000.xml")
    (alert,) = parse_document(doc.read_bytes())
    koriyama = next(a for a in alert.areas if a["code"] == "0720300")
    out = await simulate(committed, redis_client, "id,lat,lon,threshold\nkonan,37.42,140.14,1\n", [doc])
    (o,) = out  # 郡山市湖南 (0720302) is 中通り (250) and reached through 郡山市's 0720300
    assert o["action"] == "new" and o["intensity"] == koriyama["intensity"]


async def test_tsunami_warning_cancel_withdraws_it_even_while_its_information_stands(committed, redis_client, tmp_path):
    warning, info = sample("32-39_11_02_250206_VTSE41.xml"), sample("32-39_11_03_250206_VTSE51.xml")
    cancel = derived(tmp_path, sample("38-39_03_01_210805_VTSE41.xml"), "cancel_VTSE41.xml", **{
        "<EventID>20210805103531</EventID>": "<EventID>20110311144640</EventID>",
        "2021-08-05T12:56:00+09:00": "2011-03-11T15:40:00+09:00",
    })
    out = await simulate(committed, redis_client, FUKUSHIMA_PLACES, [warning, info, cancel])
    assert [o["action"] for o in of(out, "iwaki")] == ["new", "cancel"]
