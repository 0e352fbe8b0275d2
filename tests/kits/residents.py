"""Shared values for my_evacuation tests (import as tests.kits.residents)."""

from __future__ import annotations

import itertools

from geo.shelters.records import ShelterRecord

# 福島市 渡利 (inland, by the Abukuma river) and いわき市 小名浜 (coastal: 津波予報区 250/251…).
WATARI = (37.7390, 140.4880)
ONAHAMA = (36.9460, 140.9040)

tokens = itertools.count(1)


def shelter_record(id: str, lat: float, lon: float, *, hazards=("flood", "earthquake"), name=None,
                   code="072010", **kw) -> ShelterRecord:
    return ShelterRecord(id=id, name=name or id, municipality_code=code, lat=lat, lon=lon, source="csv",
                         is_emergency_site=True, is_evacuation_center=True, hazards=list(hazards), **kw)


FULL_PLAN = {
    "members": [
        {"id": "grandma", "label": "祖母", "age_band": "75+", "needs_help_to_move": True, "care_needs": "杖",
         "medical_needs": "血圧の薬", "pets": [], "leave_at_level": 3, "destination_ids": ["school"]},
        {"id": "father", "label": "父", "age_band": "40-64", "needs_help_to_move": False, "care_needs": None,
         "medical_needs": None, "pets": ["犬"], "leave_at_level": 4, "destination_ids": ["school"]},
    ],
    "hazards": {"flood": "yes", "landslide": "no", "tsunami": "no", "nuclear": "no"},
    "actions": {
        "level_1_2": {"check": ["川の水位"], "do": ["持ち物の確認"]},
        "level_3": {"check": ["避難情報"], "do": ["祖母を車で送る"]},
        "level_4": {"check": [], "do": ["全員避難"]},
        "level_5": {"check": [], "do": ["2階へ"]},
    },
    "destinations": [
        {"id": "school", "kind": "shelter", "shelter_id": "S-SCHOOL", "name": None, "address": None,
         "hazards": ["flood"], "route_notes": "国道4号を北へ", "means": "car", "minutes": 15},
        {"id": "upstairs", "kind": "upper_floor", "shelter_id": None, "name": None, "address": None,
         "hazards": [], "route_notes": None, "means": "walk", "minutes": 1},
    ],
    "items": ["お薬手帳", "水", "懐中電灯", "充電器"],
    "contacts": [{"name": "叔父", "relation": "親戚", "phone": "024-000-0000", "notes": None}],
    "nuclear": {"action": "shelter_indoors", "destination_id": None, "instructions": "窓を閉める"},
    "notes": None,
}


