"""Registry import/export: service round trip and the ``bousai shelters`` commands."""

from __future__ import annotations

import asyncio
import io

import pytest
from sqlalchemy import create_engine, text

from geo.shelters import csvio, service
from geo.shelters.loader import load_shelters_fixture
from server.cli import main
from server.db import sync_url

COMPARED = (
    "id", "name", "name_kana", "address", "municipality_code", "elevation_m", "is_emergency_site",
    "is_evacuation_center", "hazards", "capacity", "capacity_text", "phone", "url", "districts", "notes",
)  # fmt: skip


async def _snapshot(session, municipality=None) -> dict[str, dict]:
    out = {}
    async for r in service.export_rows(session, municipality):
        d = {k: r[k] for k in COMPARED}
        d["lat"], d["lon"] = round(r["lat"], 6), round(r["lon"], 6)
        out[r["id"]] = d
    return out


async def _export_bytes(session, municipality=None) -> bytes:
    buf = io.StringIO(newline="")
    csvio.write_csv([r async for r in service.export_rows(session, municipality)], buf)
    return buf.getvalue().encode("utf-8-sig")


async def test_export_then_import_gives_the_same_shelters(session):
    await load_shelters_fixture(session, quiet=True)
    sample = csvio.read_csv(
        (
            "全国地方公共団体コード,ID,名称,名称_カナ,所在地_連結表記,緯度,経度,標高,電話番号,災害種別_洪水,災害種別_地震,"
            "指定避難所との重複,想定収容人数,対象となる町会・自治会,URL,備考\r\n"
            '072010,X1,テスト公民館,テストコウミンカン,福島市テスト1,37.70001,140.40001,55.5,024-1,1,○,1,"屋内480人／屋外3,350人",A;B,https://x.jp,"二行\n備考"\r\n'
        ).encode("cp932")
    )
    await service.import_records(session, sample.records)
    before = await _snapshot(session, "072010")
    assert before["072010:X1"]["capacity"] == 480
    data = await _export_bytes(session, "072010")

    await session.execute(text("DELETE FROM shelters"))
    res = csvio.read_csv(data)
    assert res.bad_rows == [] and res.encoding == "utf-8-sig"
    result = await service.import_records(session, res.records)
    assert result.inserted == len(before) and result.updated == 0
    after = await _snapshot(session, "072010")
    assert after == before


async def test_reimporting_an_export_updates_in_place(session):
    await load_shelters_fixture(session, quiet=True)
    data = await _export_bytes(session, "072036")
    res = csvio.read_csv(data)
    result = await service.import_records(session, res.records)
    assert result.inserted == 0 and result.updated == len(res.records) > 100


async def test_municipal_file_over_gsi_data_updates_the_same_place(session):
    await load_shelters_fixture(session, quiet=True)
    existing = (await session.execute(text("SELECT ST_Y(geom), ST_X(geom) FROM shelters WHERE id = 'gsi:E0720100004111'"))).one()
    body = (
        "全国地方公共団体コード,ID,名称,緯度,経度,災害種別_洪水,想定収容人数\r\n"
        f"072010,CC01,福島明成高等学校,{existing[0] + 0.0002},{existing[1]},1,屋内500人\r\n"
    ).encode()
    result = await service.import_records(session, csvio.read_csv(body).records)
    assert result.matched_existing == [("072010:CC01", "gsi:E0720100004111")] and result.updated == 1
    assert (await session.execute(text("SELECT count(*) FROM shelters WHERE name = '福島明成高等学校'"))).scalar_one() == 1
    row = await service.get(session, "gsi:E0720100004111")
    assert row["capacity"] == 500 and row["hazards"] == ["flood"] and row["is_evacuation_center"]


@pytest.fixture
def wipe_shelters(db_url):
    yield
    eng = create_engine(sync_url(db_url))
    with eng.begin() as conn:
        conn.execute(text("DELETE FROM shelters"))
    eng.dispose()


async def test_cli_import_reports_bad_rows_and_export_writes_the_standard(db_url, tmp_path, capsys, wipe_shelters):
    src = tmp_path / "in.csv"
    src.write_bytes(
        b"\xef\xbb\xbf"
        + (
            "NO,名称,住所,緯度,経度,災害種別_地震\r\n"
            "1,第一公園,福島市1,37.75,140.46,1\r\n"
            "2,,福島市2,37.75,140.46,1\r\n"
            "3,第三公園,福島市3,,140.46,1\r\n"
            "4,第四公園,福島市4,37.76,140.47,〇\r\n"
        ).encode()
    )
    rc = await asyncio.to_thread(main, ["shelters", "import", str(src), "--municipality", "072010", "--database-url", db_url])
    out = capsys.readouterr().out
    assert rc == 1
    assert "4 rows" in out and "2 imported (2 new, 0 updated), 2 bad" in out
    assert "line 3: name (名称) is empty" in out and "line 4: 緯度: missing" in out

    dst = tmp_path / "out.csv"
    assert await asyncio.to_thread(main, ["shelters", "export", "--municipality", "072010", "-o", str(dst), "--database-url", db_url]) == 0
    data = dst.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    header, *rows = data.decode("utf-8-sig").rstrip("\r\n").split("\r\n")
    assert header.startswith("全国地方公共団体コード,ID,名称,")
    assert [r.split(",")[1] for r in rows] == ["1", "4"]

    assert await asyncio.to_thread(main, ["shelters", "export", "--municipality", "999999", "--database-url", db_url]) == 2
    assert await asyncio.to_thread(main, ["shelters", "import", str(tmp_path / "missing.csv"), "--database-url", db_url]) == 2
