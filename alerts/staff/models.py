"""Staff accounts: prefecture crisis-management staff, municipal operators, viewers, administrators."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base

# admin: manages accounts, reads everything, issues nothing.
# prefecture: whole prefecture (issues, approves, runs shelters anywhere).
# municipal: one municipality (municipality_code), same powers inside it.
# viewer: reads figures, inside its municipality when it has one, else the prefecture.
ROLES = ("admin", "prefecture", "municipal", "viewer")


class StaffAccount(Base):
    __tablename__ = "staff_accounts"
    __table_args__ = (
        CheckConstraint("role IN ('admin','prefecture','municipal','viewer')", name="role"),
        CheckConstraint("role <> 'municipal' OR municipality_code IS NOT NULL", name="municipal_has_scope"),
        CheckConstraint("municipality_code IS NULL OR municipality_code ~ '^[0-9]{6}$'", name="municipality_code_format"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16))
    # Scope: NULL = the whole prefecture; a 6-digit code = that municipality only.
    municipality_code: Mapped[str | None] = mapped_column(String(6))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # Bumped on password change / deactivation / role change: every token issued before stops working.
    token_version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
