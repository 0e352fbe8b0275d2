"""Shared pieces for JMA 防災情報XML: namespaces, head fields, dates, coordinates.

JMA documents are namespaced per part (Report / Head / Body / elementBasis); every
lookup here is namespace-wildcarded on purpose (``{*}``) so a body namespace version
bump (``seismology1`` → ``seismology2``) degrades to "still parsed" rather than
"silently empty". Dispatch looks at the namespace separately.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from lxml import etree

from ..normalized import NormalizedAlert
from ..safexml import DocumentError

NS_REPORT = "http://xml.kishou.go.jp/jmaxml1/"
NS_HEAD = "http://xml.kishou.go.jp/jmaxml1/informationBasis1/"
NS_SEIS = "http://xml.kishou.go.jp/jmaxml1/body/seismology1/"
NS_MET = "http://xml.kishou.go.jp/jmaxml1/body/meteorology1/"
NS_VOL = "http://xml.kishou.go.jp/jmaxml1/body/volcanology1/"
NS_EB = "http://xml.kishou.go.jp/jmaxml1/elementBasis1/"

JST = timezone(timedelta(hours=9))

# InfoType → msg_type. 遅延 (a late re-issue) carries current content: treat as update.
INFO_TYPES = {"発表": "alert", "訂正": "update", "遅延": "update", "取消": "cancel"}

# Control/Title → type code. JMA documents never carry their type code, so this is
# the only document-internal way to recover it. Ambiguous titles map to None.
TITLE_TYPE_CODES = {
    "気象警報・注意報": "VPWW50",
    "気象特別警報・警報・注意報": "VPWW53",
    "気象警報・注意報（Ｈ２７）": "VPWW54",
    "気象警報・注意報（Ｒ０６）（大雨）": "VPWW55",
    "気象警報・注意報（Ｒ０６）（土砂）": "VPWW56",
    "気象警報・注意報（Ｒ０６）（高潮）": "VPWW57",
    "気象警報・注意報（Ｒ０６）（暴風）": "VPWW58",
    "気象警報・注意報（Ｒ０６）（波浪）": "VPWW59",
    "気象警報・注意報（Ｒ０６）（大雪）": "VPWW60",
    "気象警報・注意報（Ｒ０６）（その他注意報）": "VPWW61",
    "気象特別警報報知": "VPNO50",
    "土砂災害警戒情報": "VXWW50",
    "指定河川洪水予報": "VXKO",
    "水位周知河川に関する情報": "VXSU",  # VXSU50–59, one code per region: not recoverable
    "記録的短時間大雨情報": "VPOA50",
    "竜巻注意情報": "VPHW50",
    "竜巻注意情報（目撃情報付き）": "VPHW51",
    "緊急地震速報配信テスト": "VXSE42",
    "緊急地震速報（警報）": "VXSE43",
    "緊急地震速報（予報）": "VXSE44",
    "緊急地震速報（地震動予報）": "VXSE45",
    "震度速報": "VXSE51",
    "震源に関する情報": "VXSE52",
    "震源・震度に関する情報": "VXSE53",
    "地震の活動状況等に関する情報": "VXSE56",
    "地震回数に関する情報": "VXSE60",
    "顕著な地震の震源要素更新のお知らせ": "VXSE61",
    "長周期地震動に関する観測情報": "VXSE62",
    "津波警報・注意報・予報a": "VTSE41",
    "津波情報a": "VTSE51",
    "沖合の津波観測に関する情報": "VTSE52",
    "南海トラフ地震臨時情報": "VYSE50",
    "南海トラフ地震関連解説情報": None,  # VYSE51 and VYSE52 share this title
    "北海道・三陸沖後発地震注意情報": "VYSE60",
    "地震・津波に関するお知らせ": "VZSE40",
    "噴火警報・予報": "VFVO50",
    "火山の状況に関する解説情報": "VFVO51",
    "噴火に関する火山観測報": "VFVO52",
    "降灰予報（定時）": "VFVO53",
    "降灰予報（速報）": "VFVO54",
    "降灰予報（詳細）": "VFVO55",
    "噴火速報": "VFVO56",
    "推定噴煙流向報": "VFVO60",
    "火山現象に関する海上警報・海上予報": "VFSV",
    "全般気象情報": "VPZJ50",
    "地方気象情報": "VPCJ50",
    "府県気象情報": "VPFJ50",
    "府県気象防災速報": "VPBS50",
    "府県気象防災速報（潮位）": "VPBS51",
    "台風解析・予報情報（５日予報）（Ｈ３０）": "VPTW",  # VPTW60–65 by typhoon slot: not recoverable
    "府県天気予報": "VPFD50",
    "府県天気予報（Ｒ１）": "VPFD51",
    "府県週間天気予報": "VPFW50",
}


def local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def text_of(el: etree._Element | None, path: str | None = None) -> str | None:
    """Stripped text of ``el`` (or of ``el.find(path)``); None when absent or blank."""
    if el is None:
        return None
    if path is not None:
        el = el.find(path)
        if el is None:
            return None
    t = el.text
    if t is None:
        return None
    t = t.strip()
    return t or None


def children(el: etree._Element | None, name: str) -> list[etree._Element]:
    return [] if el is None else el.findall("{*}" + name)


def nfkc(s: str | None) -> str:
    return unicodedata.normalize("NFKC", s or "")


def parse_level(*texts: str | None) -> int | None:
    """警戒レベル from text like ``レベル４大雨危険警報`` / ``【警戒レベル４相当情報】``."""
    for t in texts:
        m = re.search(r"レベル\s*([1-5])", nfkc(t))
        if m:
            return int(m.group(1))
    return None


def iso_datetime(value: str | None, *, assume: timezone = JST) -> str | None:
    """ISO 8601 with an explicit offset. JMA local times without offset are JST;
    ``Z`` is rewritten to ``+00:00``. Unparseable → None (caller decides)."""
    if not value:
        return None
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(v)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=assume)
    return dt.isoformat()


_COORD_RE = re.compile(r"^([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)([+-]\d+(?:\.\d+)?)?/?$")


def _deg(value: str, int_digits_deg: int) -> float:
    """ISO 6709 component; decimal degrees (``+37.7``) or degrees-minutes (``+3447.1``)."""
    sign = -1.0 if value.startswith("-") else 1.0
    body = value[1:]
    whole = body.split(".")[0]
    if len(whole) > int_digits_deg:  # DDMM(.m) / DDDMM(.m)
        deg = float(whole[:-2])
        minutes = float(body[len(whole) - 2 :])
        return sign * (deg + minutes / 60.0)
    return sign * float(body)


def parse_coordinate(el: etree._Element | None) -> dict[str, Any]:
    """jmx_eb:Coordinate → ``{lat, lon, depth_km}`` (values None when unknown).

    ``+37.7+141.7-50000/`` → 37.7, 141.7, 50 km. ``+0`` depth or ``ごく浅い`` → 0;
    no depth component (``深さ不明``) → None; empty element (``震源要素不明``) → all None.
    """
    out: dict[str, Any] = {"lat": None, "lon": None, "depth_km": None}
    if el is None:
        return out
    raw = (el.text or "").strip()
    desc = nfkc(el.get("description"))
    m = _COORD_RE.match(raw)
    if not m:
        return out
    try:
        out["lat"] = round(_deg(m.group(1), 2), 4)
        out["lon"] = round(_deg(m.group(2), 3), 4)
    except ValueError:
        return {"lat": None, "lon": None, "depth_km": None}
    if not (-90 <= out["lat"] <= 90 and -180 <= out["lon"] <= 180):
        return {"lat": None, "lon": None, "depth_km": None}
    if m.group(3) is not None:
        meters = float(m.group(3))
        # Negative = below sea level. A positive value on a hypocentre only occurs as
        # +0 (ごく浅い); treat anything non-negative as surface.
        out["depth_km"] = round(-meters / 1000.0, 1) if meters < 0 else 0.0
    if "ごく浅い" in desc:
        out["depth_km"] = 0.0
    if "深さ不明" in desc.replace(" ", ""):
        out["depth_km"] = None
    return out


def parse_magnitude(el: etree._Element | None) -> dict[str, Any]:
    """jmx_eb:Magnitude → ``{magnitude, magnitude_text, magnitude_type}``.
    ``NaN`` (Ｍ不明, Ｍ８を超える巨大地震) → magnitude None, text kept."""
    if el is None:
        return {"magnitude": None, "magnitude_text": None, "magnitude_type": None}
    raw = (el.text or "").strip()
    desc = nfkc(el.get("description")) or None
    mag: float | None
    try:
        mag = float(raw)
        if mag != mag or mag in (float("inf"), float("-inf")):  # NaN / inf
            mag = None
    except ValueError:
        mag = None
    if el.get("condition") == "不明":
        mag = None
    return {"magnitude": mag, "magnitude_text": desc or (raw or None), "magnitude_type": el.get("type")}


class Head:
    """Control + Head of a JMA Report, plus the fields every alert carries."""

    def __init__(self, root: etree._Element):
        self.root = root
        self.control = root.find("{*}Control")
        self.head = root.find("{*}Head")
        self.body = root.find("{*}Body")
        if self.control is None or self.head is None:
            raise DocumentError("malformed_jma", "JMA Report without Control or Head")
        c, h = self.control, self.head
        self.title = text_of(c, "{*}Title")
        self.control_datetime = text_of(c, "{*}DateTime")
        self.status = text_of(c, "{*}Status") or "通常"
        self.editorial_office = text_of(c, "{*}EditorialOffice")
        self.publishing_office = text_of(c, "{*}PublishingOffice")
        self.head_title = text_of(h, "{*}Title")
        self.report_datetime = text_of(h, "{*}ReportDateTime")
        self.target_datetime = text_of(h, "{*}TargetDateTime")
        self.valid_datetime = text_of(h, "{*}ValidDateTime")
        self.event_id = text_of(h, "{*}EventID")
        self.info_type = text_of(h, "{*}InfoType")
        self.serial = text_of(h, "{*}Serial")
        self.info_kind = text_of(h, "{*}InfoKind")
        self.info_kind_version = text_of(h, "{*}InfoKindVersion")
        self.headline_el = h.find("{*}Headline")
        self.headline_text = text_of(self.headline_el, "{*}Text")
        self.body_ns = etree.QName(self.body).namespace if self.body is not None else None

    @property
    def type_code(self) -> str | None:
        return TITLE_TYPE_CODES.get(self.title or "")

    @property
    def msg_type(self) -> str:
        # Unknown InfoType: never drop it, never call it a fresh alert → update.
        return INFO_TYPES.get(self.info_type or "", "update")

    @property
    def is_cancel(self) -> bool:
        return self.msg_type == "cancel"

    def issued_at(self) -> str:
        for v in (self.report_datetime, self.control_datetime):
            iso = iso_datetime(v)
            if iso:
                return iso
        raise DocumentError("malformed_jma", "JMA Report without a usable ReportDateTime")

    def source_id(self) -> str:
        return "|".join(
            v or ""
            for v in (
                self.title,
                self.event_id,
                self.report_datetime,
                self.info_type,
                self.serial,
                self.editorial_office,
            )
        )

    def body_text(self) -> str | None:
        """Body/Text: the explanation on a 取消 or a free-text notice."""
        return text_of(self.body, "{*}Text") if self.body is not None else None

    def new_alert(self, *, file: str | None, category: str, severity: str) -> NormalizedAlert:
        event_id = self.event_id
        derived = False
        if not event_id:
            # Weather warnings (R06 samples) ship an empty EventID: each document
            # supersedes the previous one for the same office and product.
            event_id = f"{self.title or ''}|{self.editorial_office or ''}|{self.head_title or ''}"
            derived = True
        text = self.headline_text
        bt = self.body_text()
        if bt and bt != text:
            text = f"{text}\n{bt}" if text else bt
        alert = NormalizedAlert(
            source="jma",
            file=file,
            msg_type=self.msg_type,
            event_id=event_id,
            source_id=self.source_id(),
            issued_at=self.issued_at(),
            category=category,
            headline=self.headline_text or self.head_title or self.title,
            severity="Minor" if self.is_cancel else severity,
            expires_at=iso_datetime(self.valid_datetime),
            status=self.status,
            is_drill=self.status != "通常",
            title=self.title,
            info_kind=self.info_kind,
            type_code=self.type_code,
            text=text,
            info_type=self.info_type,
            serial=self.serial,
            sender=self.editorial_office,
            event_id_derived=derived,
        )
        if self.info_type and self.info_type not in INFO_TYPES:
            alert.parse_warnings.append(f"unknown InfoType {self.info_type!r} treated as update")
        return alert


def head_information_areas(head: Head) -> list[dict[str, Any]]:
    """Areas from Head/Headline/Information (the summary every JMA product carries).

    Returns one dict per (Information type, area) with the kinds announced there.
    Used for products whose Body has no area structure (VPNO50) and as a fallback.
    """
    out: list[dict[str, Any]] = []
    if head.headline_el is None:
        return out
    for info in children(head.headline_el, "Information"):
        itype = info.get("type") or ""
        for item in children(info, "Item"):
            kinds = []
            for k in children(item, "Kind"):
                name = text_of(k, "{*}Name")
                kinds.append(
                    {"name": name, "code": text_of(k, "{*}Code"), "status": text_of(k, "{*}Condition") or "発表"}
                )
            for areas in children(item, "Areas"):
                for a in children(areas, "Area"):
                    out.append(
                        {
                            "code": text_of(a, "{*}Code"),
                            "name": text_of(a, "{*}Name"),
                            "info_type": itype,
                            "code_type": areas.get("codeType"),
                            "warnings": [dict(k) for k in kinds],
                        }
                    )
    return out


def area_level_of_type(type_attr: str | None) -> str:
    """Weather Information/Warning ``type`` → area level keyword."""
    t = type_attr or ""
    if "市町村等をまとめた地域" in t:
        return "matome"
    if "市町村等" in t:
        return "city"
    if "一次細分" in t:
        return "first"
    if "府県予報区" in t:
        return "pref"
    if "警報注意報種別" in t:
        return "by_kind"
    return "other"


def first(iterable: Iterable, default=None):
    for x in iterable:
        return x
    return default
