"""SQL over residents and their devices. No commits here.

Other packages read these tables through the functions below, or — where one statement
must join them on a hot path — through the views ``models.VIEWS`` lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from my_evacuation.residents.models import Device, Resident


async def device_by_token_hash(session: AsyncSession, token_hash: bytes):
    """(device id, resident id) of the device with this token hash, or None."""
    return (await session.execute(select(Device.id, Device.resident_id).where(Device.token_hash == token_hash))).first()


_DEVICE_BY_TOKEN_HASH_SQL = "SELECT id, resident_id FROM devices WHERE token_hash = $1"


async def device_by_token_hash_raw(raw: Any, token_hash: bytes):
    """The same on a driver (asyncpg) connection, for the GET fast paths (server.fastpath)."""
    return await raw.fetchrow(_DEVICE_BY_TOKEN_HASH_SQL, token_hash)


async def lock_push_address_holder(session: AsyncSession, kind: str, address: str):
    """The device holding this push address (id, resident_id), locked; or None."""
    return (
        await session.execute(
            select(Device.id, Device.resident_id)
            .where(Device.push_kind == kind, Device.push_token == address)
            .with_for_update()
        )
    ).first()


async def delete_device(session: AsyncSession, device_id: int) -> None:
    await session.execute(delete(Device).where(Device.id == device_id))


async def count_devices(session: AsyncSession, resident_id: int) -> int:
    return (
        await session.execute(select(func.count()).select_from(Device).where(Device.resident_id == resident_id))
    ).scalar_one()


async def holds_push_address(session: AsyncSession, resident_id: int, kind: str, address: str | None) -> bool:
    """Whether one of the resident's devices holds this push address."""
    return (
        await session.execute(
            select(Device.id).where(Device.push_kind == kind, Device.push_token == address, Device.resident_id == resident_id)
        )
    ).first() is not None


async def set_language(session: AsyncSession, resident_id: int, language: str) -> None:
    await session.execute(update(Resident).where(Resident.id == resident_id).values(language=language))


async def set_token_hash(session: AsyncSession, device_id: int, token_hash: bytes) -> None:
    await session.execute(
        update(Device).where(Device.id == device_id).values(token_hash=token_hash, token_rotated_at=func.now())
    )


async def devices_of(session: AsyncSession, resident_id: int) -> list[Device]:
    return list((await session.scalars(select(Device).where(Device.resident_id == resident_id).order_by(Device.id))).all())


async def device_ids_of(session: AsyncSession, resident_id: int) -> list[int]:
    return list((await session.scalars(select(Device.id).where(Device.resident_id == resident_id))).all())


async def delete_resident(session: AsyncSession, resident_id: int) -> None:
    """Every table referencing residents does so ON DELETE CASCADE."""
    await session.execute(delete(Resident).where(Resident.id == resident_id))


async def lock_resident(session: AsyncSession, resident_id: int) -> None:
    """Lock the resident's row (serialises a resident's writes, e.g. under a per-resident limit)."""
    await session.execute(text("SELECT 1 FROM residents WHERE id = :r FOR UPDATE"), {"r": resident_id})


async def languages(session: AsyncSession, resident_ids: Sequence[int]) -> dict[int, str]:
    """resident id -> language, for those that exist."""
    if not resident_ids:
        return {}
    rows = await session.execute(
        text("SELECT id, language FROM residents WHERE id = ANY(:ids)"), {"ids": list(resident_ids)}
    )
    return {r[0]: r[1] for r in rows}


_PREFERENCES = text("SELECT id, preferences FROM residents WHERE id = ANY(:ids)")


async def preferences_of(session: AsyncSession, resident_ids: Sequence[int]) -> dict[int, Any]:
    """resident id -> stored preferences (raw JSON), for those that exist: one statement for a
    fan-out chunk of thousands."""
    return {r.id: r.preferences for r in (await session.execute(_PREFERENCES, {"ids": list(resident_ids)})).all()}


_PUSH_DEVICES = text(
    """
    SELECT id, resident_id, language FROM devices
    WHERE resident_id = ANY(:ids) AND (push_token IS NOT NULL OR webpush_subscription IS NOT NULL)
    ORDER BY resident_id, id
    """
)


async def push_devices_of(session: AsyncSession, resident_ids: Sequence[int]) -> dict[int, list[tuple[int, str]]]:
    """resident id -> [(device id, language ('ja' when unset))] of their devices that can receive a
    push (a token or a web-push subscription), by device id: one statement for a fan-out chunk."""
    out: dict[int, list[tuple[int, str]]] = {}
    for r in (await session.execute(_PUSH_DEVICES, {"ids": list(resident_ids)})).all():
        out.setdefault(r.resident_id, []).append((r.id, r.language or "ja"))
    return out


async def set_preferences(session: AsyncSession, resident_id: int, preferences_json: str) -> None:
    """Replace the resident's preferences (JSON text)."""
    await session.execute(
        text("UPDATE residents SET preferences = CAST(:p AS jsonb) WHERE id = :r"), {"p": preferences_json, "r": resident_id}
    )


async def export_row(session: AsyncSession, resident_id: int) -> dict[str, Any]:
    """The resident's own data for their export."""
    row = (
        await session.execute(
            text("SELECT id, language, preferences, created_at FROM residents WHERE id = :r"), {"r": resident_id}
        )
    ).one()
    return dict(row._mapping)


# Exactly the token the provider named: if the device re-registered meanwhile, keep the new one.
_CLEAR_DEAD = text(
    """
    UPDATE devices d
    SET push_token = NULL, push_kind = NULL, webpush_subscription = NULL
    FROM unnest(CAST(:device_ids AS bigint[]), CAST(:tokens AS text[])) AS x(device_id, token)
    WHERE d.id = x.device_id AND d.push_token = x.token
    """
)


async def clear_dead_push_tokens(session: AsyncSession, device_ids: list[int], tokens: list[str | None]) -> None:
    """Forget push addresses a provider reported dead (each only while the device still holds it)."""
    await session.execute(_CLEAR_DEAD, {"device_ids": device_ids, "tokens": tokens})


async def device_languages(session: AsyncSession, resident_ids: Sequence[int]) -> list[Any]:
    """(resident_id, language) of every device of these residents, by device id."""
    return list(
        (
            await session.execute(
                text("SELECT resident_id, language FROM devices WHERE resident_id = ANY(:ids) ORDER BY id"),
                {"ids": list(resident_ids)},
            )
        ).all()
    )


async def insert_resident(session: AsyncSession, language: str, preferences_json: str | None = None) -> int:
    """A new resident (preferences as JSON text; None keeps the default) and its id."""
    if preferences_json is None:
        stmt, params = text("INSERT INTO residents (language) VALUES (:l) RETURNING id"), {"l": language}
    else:
        stmt = text("INSERT INTO residents (language, preferences) VALUES (:l, CAST(:p AS jsonb)) RETURNING id")
        params = {"l": language, "p": preferences_json}
    return (await session.execute(stmt, params)).scalar_one()


async def insert_android_device(
    session: AsyncSession, resident_id: int, *, push_token: str, language: str, token_hash: bytes,
    app_version: str | None = None,
) -> int:
    """An Android device on FCM (the demo's and the simulator's residents) and its id."""
    return (
        await session.execute(
            text(
                "INSERT INTO devices (resident_id, platform, push_kind, push_token, language, app_version, token_hash) "
                "VALUES (:r, 'android', 'fcm_token', :t, :l, :v, :h) RETURNING id"
            ),
            {"r": resident_id, "t": push_token, "l": language, "v": app_version, "h": token_hash},
        )
    ).scalar_one()


async def residents_with_push_token_like(session: AsyncSession, pattern: str) -> list[int]:
    """The residents holding a device whose push token matches the LIKE ``pattern``."""
    rows = await session.execute(text("SELECT DISTINCT resident_id FROM devices WHERE push_token LIKE :p"), {"p": pattern})
    return [r[0] for r in rows]


async def delete_residents(session: AsyncSession, resident_ids: list[int]) -> None:
    await session.execute(text("DELETE FROM residents WHERE id = ANY(:ids)"), {"ids": resident_ids})


async def device_language(session: AsyncSession, device_id: int) -> str | None:
    """The language a device asked for, or None."""
    return (await session.execute(text("SELECT language FROM devices WHERE id = :d"), {"d": device_id})).scalar()


async def language(session: AsyncSession, resident_id: int) -> str | None:
    """The resident's language, or None when there is no such resident."""
    return (
        await session.execute(text("SELECT language FROM residents WHERE id = :r"), {"r": resident_id})
    ).scalar_one_or_none()
