"""自治体標準オープンデータセット 「指定緊急避難場所一覧」 CSV: tolerant reader, standard writer.

Reading is forgiving, because real municipal files vary:
- encoding: UTF-8 with or without BOM, else Shift_JIS (read as cp932, its superset);
- header names are matched after NFKC + removing spaces and punctuation, with synonyms
  (名称 / 施設名 / 指定緊急避難場所名, 住所 / 所在地, 緯度 / lat …), so GSI's own CSV
  columns (施設・場所名, 洪水 …) are read too; unknown columns are listed, not fatal;
- hazard flags ``1``, ``1.0``, ``○``, ``◯``, ``〇``, ``●``, ``TRUE``, ``有`` … or blank/``0``;
- 想定収容人数 is free text: see ``parse_capacity``.
A bad row (no name, missing or out-of-range coordinates, invalid municipality code, a
flag that is neither yes nor no, a duplicate ID, a NUL character, a capacity over
``MAX_CAPACITY``) is reported with its line number and reason; good rows are kept. Every
value the database could refuse is refused here, so a dry run's verdict is the real run's.

Export neutralises formula cells (CSV injection, OWASP): a text cell starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is written with a leading ``'`` so a
spreadsheet shows it as text instead of running it (「=HYPERLINK(…)」 in a name stays a
name); the reader takes that ``'`` off again, so an export re-imports unchanged.

Writing: the standard's 39 columns in order, UTF-8 with BOM and CRLF (Excel, which most
municipal staff open these files with, needs the BOM to read UTF-8; RFC 4180 says CRLF),
plus one trailing extension column 「指定緊急避難場所」 so evacuation-only centres survive a
round trip (``standard_only=True`` drops it and exports emergency sites only).
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from dataclasses import dataclass, field

from geo.shelters.records import ShelterRecord, derived_id, normalize_municipality_code, order_hazards

STANDARD_COLUMNS = (
    "全国地方公共団体コード", "ID", "名称", "名称_カナ", "名称_英字", "所在地_全国地方公共団体コード", "町字ID",
    "所在地_連結表記", "所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下", "建物名等(方書)",
    "緯度", "経度", "標高", "電話番号", "内線番号", "連絡先メールアドレス", "連絡先FormURL",
    "連絡先備考（その他、SNSなど）", "郵便番号", "市区町村コード", "地方公共団体名",
    "災害種別_洪水", "災害種別_崖崩れ、土石流及び地滑り", "災害種別_高潮", "災害種別_地震", "災害種別_津波",
    "災害種別_大規模な火事", "災害種別_内水氾濫", "災害種別_火山現象",
    "指定避難所との重複", "想定収容人数", "対象となる町会・自治会", "URL", "画像", "画像_ライセンス", "備考",
)  # fmt: skip
EXTENSION_EMERGENCY_COLUMN = "指定緊急避難場所"

HAZARD_COLUMNS = {
    "flood": "災害種別_洪水",
    "landslide": "災害種別_崖崩れ、土石流及び地滑り",
    "storm_surge": "災害種別_高潮",
    "earthquake": "災害種別_地震",
    "tsunami": "災害種別_津波",
    "large_fire": "災害種別_大規模な火事",
    "inland_flood": "災害種別_内水氾濫",
    "volcano": "災害種別_火山現象",
}

# The staff API's bound too: the largest designated sites (a park, a stadium) hold tens of
# thousands; a million is a typo, and the column is a 32-bit integer.
MAX_CAPACITY = 1_000_000
# Cells a spreadsheet would read as a formula (or a DDE call): OWASP's CSV-injection list.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Japan's extent with a margin (南鳥島 153.98°E, 沖ノ鳥島 20.4°N): also catches swapped lat/lon.
LAT_RANGE = (20.0, 46.0)
LON_RANGE = (122.0, 154.0)

_PUNCT = re.compile(r"[\s_\-‐－・･、，,.。()（）\[\]［］「」『』/／:：]+")


def header_key(name: str) -> str:
    return _PUNCT.sub("", unicodedata.normalize("NFKC", name or "").strip().lstrip("\ufeff")).casefold()


# field → header spellings seen in the wild, most specific first.
_SYNONYMS: dict[str, tuple[str, ...]] = {
    "site_code": ("所在地_全国地方公共団体コード",),
    "publisher_code": ("全国地方公共団体コード", "都道府県コード又は市区町村コード", "団体コード", "地方公共団体コード"),
    "city_code": ("市区町村コード",),
    "id": ("ID", "識別子", "管理番号"),
    "common_id": ("共通ID",),
    "no": ("NO", "No.", "番号", "通し番号"),
    "name": ("名称", "指定緊急避難場所名", "施設・場所名", "施設名", "避難場所名", "避難所名", "施設名称", "name"),
    "kana": ("名称_カナ", "指定緊急避難場所名_カナ", "施設名_カナ", "カナ", "ふりがな", "フリガナ", "よみがな", "name_kana"),
    "address": ("所在地_連結表記", "住所", "所在地", "所在地住所", "address"),
    "lat": ("緯度", "lat", "latitude", "y"),
    "lon": ("経度", "lon", "lng", "long", "longitude", "x"),
    "elevation": ("標高", "標高(m)", "elevation"),
    "phone": ("電話番号", "電話", "TEL", "phone"),
    "evac_dup": ("指定避難所との重複", "指定避難所との住所同一", "指定避難所との重複の有無", "指定避難所"),
    "emergency_dup": ("指定緊急避難場所との住所同一", "指定緊急避難場所との重複", EXTENSION_EMERGENCY_COLUMN),
    "capacity": ("想定収容人数", "収容人数", "収容可能人数", "収容人員", "定員", "capacity"),
    "districts": ("対象となる町会・自治会", "対象となる町会自治会", "対象地区", "対象町会"),
    "url": ("URL", "ホームページ"),
    "notes": ("備考", "notes"),
    "flood": ("災害種別_洪水", "洪水"),
    "landslide": (
        "災害種別_崖崩れ、土石流及び地滑り", "崖崩れ、土石流及び地滑り", "災害種別_がけ崩れ、土石流及び地すべり",
        "がけ崩れ、土石流及び地すべり", "崖崩れ", "土砂災害",
    ),
    "storm_surge": ("災害種別_高潮", "高潮"),
    "earthquake": ("災害種別_地震", "地震"),
    "tsunami": ("災害種別_津波", "津波"),
    "large_fire": ("災害種別_大規模な火事", "大規模な火事", "大規模火事", "大規模な火災", "大規模火災"),
    "inland_flood": ("災害種別_内水氾濫", "内水氾濫"),
    "volcano": ("災害種別_火山現象", "火山現象", "火山"),
}  # fmt: skip
_KEY_TO_FIELD = {header_key(s): f for f, spellings in _SYNONYMS.items() for s in spellings}

_YES = {"1", "1.0", "○", "◯", "〇", "●", "◎", "true", "yes", "y", "有", "あり", "可", "該当", "指定"}
_NO = {"", "0", "0.0", "×", "✕", "x", "-", "−", "ー", "false", "no", "n", "無", "なし", "不可", "非該当"}


class BadValue(ValueError):
    pass


def parse_flag(value: str | None, column: str) -> bool:
    v = unicodedata.normalize("NFKC", value or "").strip().casefold()
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise BadValue(f"{column}: unrecognised flag {value!r}")


_PAREN = re.compile(r"[(（][^)）]*[)）]")
_PERSONS = re.compile(r"(\d[\d,]*)\s*(?:人|名)")
_NUMBER = re.compile(r"\d[\d,]*")
_INDOOR = re.compile(r"(屋内|室内|建物|体育館|施設内)\D{0,6}?(\d[\d,]*)")
_PLAIN_NUMBER = re.compile(r"^\d[\d,]*(?:\.0+)?\s*(?:人|名)?$")


def parse_capacity(text: str | None) -> int | None:
    """Free-text 想定収容人数 → people, or None when it says no number.

    The capacity is what crowding is measured against, and occupancy is counted in the
    building, so an indoor figure wins when one is labelled (屋内/室内/建物/体育館) and is not
    zero: 「屋内480人／屋外3,350人(面積の1/2)」 → 480. Otherwise all person figures are
    summed (「屋外3,350人」 → 3350, 「1,375」 → 1375). Parenthesised remarks such as
    「(面積の1/2)」 are ignored. The raw text is always kept beside the number.
    """
    if text is None:
        return None
    t = unicodedata.normalize("NFKC", text).strip()
    if not t:
        return None
    if _PLAIN_NUMBER.match(t):
        return int(float(t.rstrip("人名 ").replace(",", "")))
    t = _PAREN.sub(" ", t)
    indoor = [int(m.group(2).replace(",", "")) for m in _INDOOR.finditer(t)]
    if sum(indoor) > 0:  # 「屋内0人／屋外277人」 is an outdoor site: its outdoor figure counts
        return sum(indoor)
    persons = [int(m.group(1).replace(",", "")) for m in _PERSONS.finditer(t)]
    if persons:
        return sum(persons)
    numbers = [int(m.group(0).replace(",", "")) for m in _NUMBER.finditer(t)]
    return sum(numbers) if numbers else None


def _parse_coord(value: str | None, column: str, lo: float, hi: float) -> float:
    v = unicodedata.normalize("NFKC", value or "").strip()
    if not v:
        raise BadValue(f"{column}: missing")
    try:
        f = float(v)
    except ValueError:
        raise BadValue(f"{column}: not a number {value!r}") from None
    if not math.isfinite(f) or not lo <= f <= hi:
        raise BadValue(f"{column}: {v} out of range {lo}..{hi}")
    return f


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name). UTF-8 (BOM or not) first, then cp932; anything else is refused."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        raise BadValue("file is neither UTF-8 nor Shift_JIS (cp932)") from None


@dataclass
class BadRow:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class CsvResult:
    records: list[ShelterRecord] = field(default_factory=list)
    # The line each record starts on (parallel to ``records``), to report a row the database refuses.
    record_lines: list[int] = field(default_factory=list)
    bad_rows: list[BadRow] = field(default_factory=list)
    encoding: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # field → header as written
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0


def _clean(value: str | None) -> str | None:
    v = (value or "").strip()
    # Our own export's guard against formulas ('=…): the text is what follows it.
    if len(v) > 1 and v[0] == "'" and v[1] in FORMULA_START:
        v = v[1:]
    return v or None


def _check_cells(row: list[str], header: list[str]) -> None:
    for i, cell in enumerate(row):
        if "\x00" in cell:
            name = header[i].strip() if i < len(header) and header[i].strip() else f"column {i + 1}"
            raise BadValue(f"{name}: contains a NUL character")


def read_csv(data: bytes, *, municipality_code: str | None = None) -> CsvResult:
    """Parse a shelter list. ``municipality_code`` fills rows that have none, and any row whose
    own code differs from it is refused (an operator imports for their own municipality)."""
    result = CsvResult()
    text, result.encoding = decode(data)
    default_code = normalize_municipality_code(municipality_code) if municipality_code else None
    if municipality_code and default_code is None:
        raise BadValue(f"--municipality {municipality_code!r} is not a valid 6-digit municipality code")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise BadValue("file is empty") from None
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        f = _KEY_TO_FIELD.get(header_key(h))
        if f is None:
            if h.strip():
                result.ignored_columns.append(h.strip())
            continue
        index.setdefault(f, i)  # first occurrence wins (the demo file repeats 郵便番号)
        result.columns.setdefault(f, h.strip())
    if "name" not in index:
        raise BadValue("no name column (名称 / 施設名 / 指定緊急避難場所名 …) in header: " + ", ".join(header))
    if "lat" not in index or "lon" not in index:
        raise BadValue("no 緯度/経度 (latitude/longitude) columns in header")
    hazard_fields = [h for h in HAZARD_COLUMNS if h in index]
    # A 指定避難所 list says whether each centre is also an emergency site; an emergency-site list
    # says whether each site is also an evacuation centre.
    is_evacuation_list = "emergency_dup" in index and not hazard_fields

    seen: dict[str, int] = {}
    line = 1  # physical line where the next record starts (header is line 1)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # e.g. a field larger than the csv module's limit
            start, line = line + 1, reader.line_num
            result.rows += 1
            result.bad_rows.append(BadRow(start, f"unreadable row: {exc}"))
            continue
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in row):
            continue
        result.rows += 1

        def get(f: str) -> str | None:
            i = index.get(f)
            return row[i] if i is not None and i < len(row) else None

        try:
            _check_cells(row, header)
            rec = _row_record(get, hazard_fields, is_evacuation_list, default_code)
        except BadValue as exc:
            result.bad_rows.append(BadRow(start, str(exc)))
            continue
        if rec.id in seen:
            result.bad_rows.append(BadRow(start, f"duplicate ID {rec.id!r} (first on line {seen[rec.id]})"))
            continue
        seen[rec.id] = start
        result.records.append(rec)
        result.record_lines.append(start)
    return result


def _row_record(get, hazard_fields: list[str], is_evacuation_list: bool, default_code: str | None) -> ShelterRecord:
    name = _clean(get("name"))
    if not name:
        raise BadValue("name (名称) is empty")
    lat = _parse_coord(get("lat"), "緯度", *LAT_RANGE)
    lon = _parse_coord(get("lon"), "経度", *LON_RANGE)
    code = None
    for f in ("site_code", "publisher_code", "city_code"):
        raw = _clean(get(f))
        if raw is None:
            continue
        code = normalize_municipality_code(raw)
        if code is not None:
            break
        if default_code is None:
            raise BadValue(f"municipality code {raw!r} is not a valid 6-digit code (use --municipality)")
    if code is None:
        code = default_code
    if code is None:
        raise BadValue("no municipality code (column 全国地方公共団体コード or --municipality)")
    if default_code is not None and code != default_code:
        raise BadValue(f"municipality code {code} is not {default_code} (--municipality)")

    hazards = [h for h in hazard_fields if parse_flag(get(h), HAZARD_COLUMNS[h])] if hazard_fields else None
    if is_evacuation_list:
        is_evac: bool | None = True
        is_emergency: bool | None = parse_flag(get("emergency_dup"), "指定緊急避難場所との住所同一")
        hazards = None
    else:
        is_emergency = parse_flag(get("emergency_dup"), EXTENSION_EMERGENCY_COLUMN) if get("emergency_dup") is not None else True
        is_evac = parse_flag(get("evac_dup"), "指定避難所との重複") if get("evac_dup") is not None else None

    elevation = None
    if _clean(get("elevation")):
        try:
            elevation = float(unicodedata.normalize("NFKC", get("elevation")).strip())
        except ValueError:
            raise BadValue(f"標高: not a number {get('elevation')!r}") from None
        if not math.isfinite(elevation):
            raise BadValue(f"標高: not a number {get('elevation')!r}")

    # ID, else GSI's 共通ID (stable across GSI releases), else an old-style NO column (GSI's
    # own NO is a nationwide running number that changes between releases, hence last).
    raw_id = _clean(get("id"))
    common_id = _clean(get("common_id"))
    if not raw_id and not common_id:
        raw_id = _clean(get("no"))
    if raw_id:
        raw_id = unicodedata.normalize("NFKC", raw_id)
        # An id that is already namespaced (gsi:…, csv:…, 072010:…) is ours: keep it, so an
        # export re-imports onto the same rows. A bare municipal ID is unique only per municipality.
        sid = raw_id if ":" in raw_id else f"{code}:{raw_id}"
    elif common_id:
        sid = f"gsi:{common_id}"
    else:
        sid = derived_id("csv", code, name, lat, lon)

    capacity_text = _clean(get("capacity"))
    capacity = parse_capacity(capacity_text)
    if capacity is not None and capacity > MAX_CAPACITY:
        raise BadValue(f"想定収容人数: {capacity:,} is more than {MAX_CAPACITY:,} people")
    return ShelterRecord(
        id=sid,
        name=name,
        municipality_code=code,
        lat=lat,
        lon=lon,
        source="csv",
        name_kana=_clean(get("kana")),
        address=_clean(get("address")),
        elevation_m=elevation,
        is_emergency_site=is_emergency,
        is_evacuation_center=is_evac,
        hazards=order_hazards(hazards) if hazards is not None else None,
        capacity=capacity,
        capacity_text=capacity_text,
        phone=_clean(get("phone")),
        url=_clean(get("url")),
        districts=_clean(get("districts")),
        notes=_clean(get("notes")),
    )


def export_id(shelter_id: str, municipality_code: str) -> str:
    prefix = f"{municipality_code}:"
    return shelter_id[len(prefix) :] if shelter_id.startswith(prefix) else shelter_id


def _fmt_coord(v: float) -> str:
    return f"{v:.6f}".rstrip("0").rstrip(".")  # 6 decimals ≈ 0.1 m


# Cells holding text from imported files or staff: the ones a formula could hide in.
TEXT_COLUMNS = ("ID", "名称", "名称_カナ", "所在地_連結表記", "電話番号", "想定収容人数", "対象となる町会・自治会", "URL", "備考")


def neutralise(value: str) -> str:
    """A cell a spreadsheet would run as a formula, made text with a leading quote."""
    return "'" + value if value and value.startswith(FORMULA_START) else value


def write_csv(rows, out: io.TextIOBase, *, standard_only: bool = False) -> int:
    """Write shelter rows (dicts as the repository returns them). ``out`` must be opened with
    newline="" and encoding "utf-8-sig" for a file; the writer emits CRLF."""
    columns = list(STANDARD_COLUMNS) + ([] if standard_only else [EXTENSION_EMERGENCY_COLUMN])
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(columns)
    n = 0
    for r in rows:
        if standard_only and not r["is_emergency_site"]:
            continue
        hazards = set(r["hazards"] or [])
        values = {
            "全国地方公共団体コード": r["municipality_code"],
            "所在地_全国地方公共団体コード": r["municipality_code"],
            "ID": export_id(r["id"], r["municipality_code"]),
            "名称": r["name"],
            "名称_カナ": r.get("name_kana") or "",
            "所在地_連結表記": r.get("address") or "",
            "緯度": _fmt_coord(r["lat"]),
            "経度": _fmt_coord(r["lon"]),
            "標高": "" if r.get("elevation_m") is None else f"{r['elevation_m']:g}",
            "電話番号": r.get("phone") or "",
            "指定避難所との重複": "1" if r["is_evacuation_center"] else "",
            "想定収容人数": r.get("capacity_text") or ("" if r.get("capacity") is None else str(r["capacity"])),
            "対象となる町会・自治会": r.get("districts") or "",
            "URL": r.get("url") or "",
            "備考": r.get("notes") or "",
            EXTENSION_EMERGENCY_COLUMN: "1" if r["is_emergency_site"] else "",
        }
        for h, col in HAZARD_COLUMNS.items():
            values[col] = "1" if h in hazards else ""
        for col in TEXT_COLUMNS:
            values[col] = neutralise(values[col])
        w.writerow([values.get(c, "") for c in columns])
        n += 1
    return n
