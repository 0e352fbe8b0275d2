"""Reading real-world 指定緊急避難場所一覧 CSV files: encodings, headers, flags, bad rows."""

from __future__ import annotations

import io

import pytest

from geo.shelters import csvio
from tests.kits.paths import reference_path

STD_HEADER = (
    "全国地方公共団体コード,ID,名称,名称_カナ,所在地_連結表記,緯度,経度,標高,電話番号,"
    "災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,"
    "災害種別_大規模な火事,災害種別_内水氾濫,災害種別_火山現象,指定避難所との重複,想定収容人数,"
    "対象となる町会・自治会,URL,備考"
)
ROW_A = (
    "072010,0001,福島第一小学校,フクシマダイイチショウガッコウ,福島県福島市杉妻町1-1,37.7503,140.4676,67.5,"
    "024-000-0000,1,1,,1,,1,1,,1,\"屋内480人／屋外3,350人(面積の1/2)\",杉妻町会;霞町会,https://example.jp/a,備考A"
)
ROW_B = "072010,0002,森合公園,モリアイコウエン,福島県福島市森合1,37.7690,140.4600,,,,,,1,,1,,,,,,,"


def body(*rows: str, header: str = STD_HEADER, encoding: str = "utf-8", newline: str = "\r\n") -> bytes:
    return newline.join((header, *rows)).encode(encoding) + newline.encode()


def test_standard_file_reads_every_field():
    res = csvio.read_csv(body(ROW_A, ROW_B))
    assert res.bad_rows == []
    a, b = res.records
    assert a.id == "072010:0001"
    assert (a.name, a.name_kana, a.address) == ("福島第一小学校", "フクシマダイイチショウガッコウ", "福島県福島市杉妻町1-1")
    assert (a.lat, a.lon, a.elevation_m) == (37.7503, 140.4676, 67.5)
    assert a.hazards == ["flood", "landslide", "earthquake", "large_fire", "inland_flood"]
    assert a.is_emergency_site is True and a.is_evacuation_center is True
    assert (a.capacity, a.capacity_text) == (480, "屋内480人／屋外3,350人(面積の1/2)")
    assert (a.phone, a.districts, a.url, a.notes) == ("024-000-0000", "杉妻町会;霞町会", "https://example.jp/a", "備考A")
    assert b.hazards == ["earthquake", "large_fire"] and b.is_evacuation_center is False and b.capacity is None


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("cp932", b""), ("shift_jis", b"")],
)
def test_encodings_utf8_bom_and_shift_jis_are_detected(encoding, prefix):
    res = csvio.read_csv(prefix + body(ROW_A, encoding=encoding))
    assert res.bad_rows == []
    assert res.records[0].name == "福島第一小学校"
    assert res.records[0].hazards[0] == "flood"  # the BOM did not eat the first header


def test_cp932_only_characters_decode():
    # ① and ｈ are cp932 extensions that plain Shift_JIS lacks.
    row = ROW_B.replace("森合公園", "森合公園①")
    res = csvio.read_csv(body(row, encoding="cp932"))
    assert res.encoding == "cp932" and res.records[0].name == "森合公園①"


@pytest.mark.parametrize("yes", ["1", "1.0", "○", "◯", "〇", "TRUE", "true", "１", " 1 "])
def test_flag_spellings_mean_yes(yes):
    row = ROW_B.replace(",,,,1,,1,", f",{yes},,,1,,1,", 1)
    res = csvio.read_csv(body(row))
    assert res.bad_rows == [], res.bad_rows
    assert "flood" in res.records[0].hazards


@pytest.mark.parametrize("no", ["", "0", "0.0", "×", "FALSE"])
def test_flag_spellings_mean_no(no):
    row = ROW_B.replace(",,,,1,,1,", f",{no},,,1,,1,", 1)
    res = csvio.read_csv(body(row))
    assert res.bad_rows == []
    assert "flood" not in res.records[0].hazards


def test_renamed_and_width_variant_headers_are_matched():
    header = "団体コード,NO,施設名,住所,ｌａｔ,Longitude,洪水,崖崩れ・土石流及び地滑り,地震,収容人数"
    res = csvio.read_csv(body("072010,7,信夫山公園,福島市御山,37.7610,140.4720,〇,1,,200", header=header))
    assert res.bad_rows == []
    r = res.records[0]
    assert (r.id, r.name, r.address, r.lat, r.lon) == ("072010:7", "信夫山公園", "福島市御山", 37.761, 140.472)
    assert r.hazards == ["flood", "landslide"] and r.capacity == 200


def test_missing_optional_columns_and_unknown_columns_are_tolerated():
    header = "名称,緯度,経度,謎の列"
    res = csvio.read_csv(body("公民館,37.5,140.3,x", header=header), municipality_code="072010")
    assert res.bad_rows == [] and res.ignored_columns == ["謎の列"]
    r = res.records[0]
    assert r.municipality_code == "072010"
    assert r.id.startswith("csv:072010:")  # derived from name + position, stable
    assert csvio.read_csv(body("公民館,37.5,140.3,x", header=header), municipality_code="072010").records[0].id == r.id
    assert r.hazards is None or r.hazards == []


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_kept():
    rows = [
        ROW_A,  # line 2
        ROW_B.replace("森合公園", ""),  # 3: no name
        ROW_B.replace("0002", "0003").replace("37.7690", ""),  # 4: latitude missing
        ROW_B.replace("0002", "0004").replace("37.7690", "abc"),  # 5: not a number
        ROW_B.replace("0002", "0005").replace("37.7690,140.4600", "140.4600,37.7690"),  # 6: swapped
        ROW_B.replace("0002", "0006").replace("37.7690", "NaN"),  # 7
        ROW_B.replace("0002", "0007").replace(",,,,1,,1,", ",2,,,1,,1,", 1),  # 8: unknown flag
        ROW_B.replace("072010", "072011"),  # 9: bad check digit
        ROW_A,  # 10: duplicate ID
        ROW_B,  # 11: good
    ]
    res = csvio.read_csv(body(*rows))
    assert [r.name for r in res.records] == ["福島第一小学校", "森合公園"]
    got = {b.line: b.reason for b in res.bad_rows}
    assert sorted(got) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "name" in got[3]
    assert "緯度: missing" in got[4]
    assert "not a number" in got[5]
    assert "out of range" in got[6]
    assert "緯度" in got[7]
    assert "災害種別_洪水" in got[8] and "'2'" in got[8]
    assert "072011" in got[9]
    assert "duplicate ID" in got[10] and "line 2" in got[10]


def test_line_numbers_count_physical_lines_of_multiline_fields():
    multiline = ROW_A.replace("備考A", '"一行目\n二行目"')
    res = csvio.read_csv(body(multiline, ROW_B.replace("森合公園", ""), newline="\n"))
    assert res.records[0].notes == "一行目\n二行目"
    assert [b.line for b in res.bad_rows] == [4]


def test_municipality_option_fills_and_guards():
    header = STD_HEADER.replace("全国地方公共団体コード,", "", 1)
    rows = [r.split(",", 1)[1] for r in (ROW_A, ROW_B)]
    assert csvio.read_csv(body(*rows, header=header), municipality_code="072036").records[0].municipality_code == "072036"
    res = csvio.read_csv(body(ROW_A), municipality_code="072036")  # the file says 072010
    assert res.records == [] and "072010 is not 072036" in res.bad_rows[0].reason
    with pytest.raises(csvio.BadValue):
        csvio.read_csv(body(ROW_A), municipality_code="12345x")


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), ("住所,緯度,経度\r\n".encode(), "no name column"), ("名称,住所\r\n".encode(), "緯度")],
)
def test_unusable_files_are_refused_with_a_reason(data, message):
    with pytest.raises(csvio.BadValue, match=message):
        csvio.read_csv(data)


def test_undecodable_bytes_are_refused():
    with pytest.raises(csvio.BadValue, match="neither UTF-8 nor Shift_JIS"):
        csvio.read_csv("名称,緯度,経度\r\n".encode("utf-16"))


def test_evacuation_centre_list_sets_flags_from_its_own_column():
    header = "NO,共通ID,施設・場所名,住所,指定緊急避難場所との住所同一,緯度,経度,団体コード"
    res = csvio.read_csv(
        body("1,E0720100004111,福島明成高等学校,福島市,1,37.72,140.45,072010", "2,E0720100003111,ＡＸＣビル,福島市,,37.75,140.46,072010", header=header)
    )
    a, b = res.records
    assert a.id == "gsi:E0720100004111"
    assert (a.is_evacuation_center, a.is_emergency_site, a.hazards) == (True, True, None)
    assert (b.is_evacuation_center, b.is_emergency_site) == (True, False)


def test_real_nanao_file_reads_with_its_three_codeless_rows_reported():
    res = csvio.read_csv(reference_path("shelters", "jichitai_standard", "reference_data.csv").read_bytes())
    assert len(res.records) == 109
    assert [b.line for b in res.bad_rows] == [112, 113, 114]
    assert all("municipality" in b.reason for b in res.bad_rows)
    first = res.records[0]
    assert first.municipality_code == "172022" and first.capacity == 191
    assert first.hazards == ["flood", "landslide", "storm_surge", "earthquake", "tsunami", "inland_flood"]


def test_real_shift_jis_demo_file_needs_a_municipality():
    data = reference_path("shelters", "jichitai_standard", "shirasagi_City_designation_Shelter.csv").read_bytes()
    res = csvio.read_csv(data)
    assert res.encoding == "cp932" and res.records == [] and len(res.bad_rows) == 10
    res = csvio.read_csv(data, municipality_code="072010")
    assert len(res.records) == 10 and res.bad_rows == []
    assert res.records[0].name == "小鷲町市民サービスセンター" and res.records[0].capacity == 575


def test_writer_emits_bom_crlf_and_the_standard_columns():
    rows = [
        dict(id="072010:0001", municipality_code="072010", name="A", name_kana=None, address=None, lat=37.1, lon=140.2,
             elevation_m=None, phone=None, is_emergency_site=True, is_evacuation_center=False, hazards=["flood"],
             capacity=None, capacity_text=None, districts=None, url=None, notes=None),
        dict(id="gsi:E0720100003111", municipality_code="072010", name="B", name_kana=None, address=None, lat=37.2,
             lon=140.3, elevation_m=None, phone=None, is_emergency_site=False, is_evacuation_center=True, hazards=[],
             capacity=100, capacity_text=None, districts=None, url=None, notes=None),
    ]  # fmt: skip
    buf = io.StringIO(newline="")
    assert csvio.write_csv(rows, buf) == 2
    data = buf.getvalue().encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 3
    lines = data.decode("utf-8-sig").split("\r\n")
    assert lines[0].split(",")[: len(csvio.STANDARD_COLUMNS)] == list(csvio.STANDARD_COLUMNS)
    assert lines[1].split(",")[1] == "0001" and lines[2].split(",")[1] == "gsi:E0720100003111"
    buf = io.StringIO(newline="")
    assert csvio.write_csv(rows, buf, standard_only=True) == 1
    assert buf.getvalue().split("\r\n")[0].split(",") == list(csvio.STANDARD_COLUMNS)
