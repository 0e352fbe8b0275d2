"""Reference areas: municipalities and the JMA area codes the feeds use, with polygons where known."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# kind values:
#   municipality  6-digit 全国地方公共団体コード with check digit (072010)
#   jma_city      7-digit 二次細分 city code (0720100); attrs hold every other code of the area
#   jma_matome    市町村等をまとめた地域 (070011)
#   jma_first     一次細分 (070010)
#   jma_pref      府県予報区 (070000)
#   quake         地震情報細分区域 (250)
#   tsunami       津波予報区 (250)
AREA_KINDS = ("municipality", "jma_city", "jma_matome", "jma_first", "jma_pref", "quake", "tsunami")


class Area(Base):
    __tablename__ = "areas"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    name_kana: Mapped[str | None] = mapped_column(Text)
    parent_code: Mapped[str | None] = mapped_column(String(16))
    attrs: Mapped[dict] = mapped_column(JSONB, default=dict)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True)
