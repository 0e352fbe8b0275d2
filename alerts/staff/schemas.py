"""Staff API payloads."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from alerts.staff.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH

USERNAME_PATTERN = r"^[A-Za-z0-9._@-]{3,64}$"


class LoginIn(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class StaffMe(BaseModel):
    """The signed-in staff account."""

    id: int
    username: str
    display_name: str
    role: Literal["admin", "prefecture", "municipal", "viewer"]
    municipality_code: str | None = Field(description="a municipal account's municipality; null: prefecture-wide")


class TokenOut(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: int
    account: StaffMe


class AccountIn(BaseModel):
    username: str = Field(pattern=USERNAME_PATTERN)
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: str = Field(pattern=r"^(admin|prefecture|municipal|viewer)$")
    municipality_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")


class AccountUpdate(BaseModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: str | None = Field(default=None, pattern=r"^(admin|prefecture|municipal|viewer)$")
    municipality_code: str | None = Field(default=None, pattern=r"^[0-9]{6}$")
    clear_municipality: bool = False
    is_active: bool | None = None


class AccountOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: str
    municipality_code: str | None
    is_active: bool
    created_at: str | None = None
    last_login_at: str | None = None

