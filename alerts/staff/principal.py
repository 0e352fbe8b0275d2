"""The signed-in staff member and the scope rules every staff action goes through."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.errors import Forbidden

# Roles that may issue / approve evacuation information and run shelters.
OPERATOR_ROLES = ("prefecture", "municipal")
# Roles that may read figures (delivery, safety) inside their scope.
READER_ROLES = ("admin", "prefecture", "municipal", "viewer")


@dataclass(frozen=True)
class StaffPrincipal:
    id: int
    username: str
    display_name: str
    role: str
    # None: the whole prefecture; else the one municipality this account may act in.
    municipality_code: str | None

    @property
    def prefecture_wide(self) -> bool:
        return self.municipality_code is None

    def covers(self, municipality_code: str | None) -> bool:
        if self.prefecture_wide:
            return True
        return municipality_code is not None and municipality_code == self.municipality_code

    def require_scope(self, municipality_codes: Iterable[str | None], what: str = "this") -> None:
        outside = sorted({str(c) for c in municipality_codes if not self.covers(c)})
        if outside:
            raise Forbidden(
                f"{what} is outside your scope (municipality {self.municipality_code})",
                code="out_of_scope",
                detail={"outside": outside, "scope": self.municipality_code},
            )

    def scope_filter(self, municipality_code: str | None, what: str = "that municipality") -> str | None:
        """The municipality a listing is limited to: the one asked for (it must be in this
        account's scope), else the account's own; None is the whole prefecture."""
        if municipality_code:
            self.require_scope([municipality_code], what)
            return municipality_code
        return self.municipality_code

    def require_role(self, roles: Iterable[str], what: str = "this action") -> None:
        roles = tuple(roles)
        if self.role not in roles:
            raise Forbidden(f"{what} needs role {' or '.join(roles)}", code="role_forbidden", detail={"role": self.role})

    def public(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "municipality_code": self.municipality_code,
        }
