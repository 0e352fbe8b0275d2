"""The log provider records what would be sent, once per message id."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from my_evacuation.push.providers.base import MESSAGE_ID_KEY, PushMessage, Status
from my_evacuation.push.models import PushLogEntry
from my_evacuation.push.providers.log import LogProvider


def msg(i, **kw) -> PushMessage:
    return PushMessage(message_id=f"o-{i}", device_id=f"d{i}", token=f"tok-{i}", title="避難所開設", body="福島市立第一小学校", **kw)


async def test_log_records_each_message_once_and_reports_ok(engine):
    sm = async_sessionmaker(engine, expire_on_commit=False)
    provider = LogProvider(sm)
    try:
        results = await provider.send([msg(1, critical=True, data={"alert_id": "5"}), msg(2, language="en")])
        again = await provider.send([msg(1)])  # a retry of the same message
        assert [r.status for r in results + again] == [Status.OK] * 3
        async with sm() as s:
            rows = (await s.execute(select(PushLogEntry).where(PushLogEntry.message_id.in_(["o-1", "o-2"])).order_by(PushLogEntry.message_id))).scalars().all()
        assert [r.message_id for r in rows] == ["o-1", "o-2"]
        assert rows[0].critical is True and rows[0].data == {"alert_id": "5", MESSAGE_ID_KEY: "o-1", "kind": "alert"}
        assert rows[1].language == "en" and rows[1].token == "tok-2"
    finally:
        async with sm() as s:
            await s.execute(delete(PushLogEntry).where(PushLogEntry.message_id.in_(["o-1", "o-2"])))
            await s.commit()


async def test_empty_batch_records_nothing(engine):
    assert await LogProvider(async_sessionmaker(engine)).send([]) == []
