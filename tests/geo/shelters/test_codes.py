"""Shelter check-in codes: signed, bound to one shelter and its code version, read from a URL."""

from __future__ import annotations

import pytest

from geo.shelters import codes, repository
from server.errors import AppError
from tests.kits.shelters import shelter


async def test_a_code_verifies_for_its_shelter_only_and_dies_when_rotated(session):
    await repository.upsert_many(session, [shelter("gsi:E0720100001201", 37.75, 140.47), shelter("072010:7", 37.7, 140.4)])
    a = await codes.code_for(session, "gsi:E0720100001201", 1)
    assert await codes.verify(session, a.url) == ("gsi:E0720100001201", "072010")
    assert await codes.verify(session, a.token) == ("gsi:E0720100001201", "072010")
    # Another shelter's id under this signature: refused.
    b = await codes.code_for(session, "072010:7", 1)
    parts = a.token.split(".")
    swapped = ".".join(parts[:2] + [b.token.split(".")[2]] + parts[3:])
    with pytest.raises(AppError) as exc:
        await codes.verify(session, swapped)
    assert exc.value.code == "invalid_checkin_code"
    assert await repository.bump_code_version(session, "gsi:E0720100001201") == 2
    with pytest.raises(AppError) as exc:
        await codes.verify(session, a.url)
    assert exc.value.code == "checkin_code_replaced"
    new = await codes.code_for(session, "gsi:E0720100001201", 2)
    assert await codes.verify(session, new.token) == ("gsi:E0720100001201", "072010")


@pytest.mark.parametrize("raw", ["", "hello", "https://example.org/?c=nope", "bsc1.x.y.z", "bsc1.1.!!!.1.abc",
                                 "bsc1.999999.YQ.1.AAAAAAAAAAAAAAAA",
                                 "bsc1.99999999999999999999.YQ.1.AAAA", "bsc1.1.YQ.99999999999999999999.AAAA",
                                 "bsc1.１.YQ.1.AAAA"])
async def test_garbage_is_a_400_not_a_crash(session, raw):
    with pytest.raises(AppError) as exc:
        await codes.verify(session, raw)
    assert exc.value.status_code == 400
