"""``bousai pushes tail`` prints what the log provider recorded, newest last."""

from __future__ import annotations

import orjson
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import async_sessionmaker

from server.cli import main
from my_evacuation.push.providers.base import PushMessage
from my_evacuation.push.models import PushLogEntry
from my_evacuation.push.providers.log import LogProvider

IDS = ["tail-1", "tail-2", "tail-3"]


async def _record(engine):
    sm = async_sessionmaker(engine, expire_on_commit=False)
    provider = LogProvider(sm)
    await provider.send([
        PushMessage(message_id=IDS[0], device_id="tail-dev-a", token="t1", title="避難指示", body="福島市 第一小学校へ\n今すぐ", critical=True, language="ja"),
        PushMessage(message_id=IDS[1], device_id="tail-dev-b", token="t2", title="Shelter open", body="Fukushima 1st school", kind="notice", language="en"),
        PushMessage(message_id=IDS[2], device_id="tail-dev-a", token="t1", title="解除", body="避難指示は解除", kind="all_clear", language="ja"),
    ])
    return sm


async def _forget(sm):
    async with sm() as s:
        await s.execute(delete(PushLogEntry).where(PushLogEntry.message_id.in_(IDS)))
        await s.commit()


async def test_tail_prints_the_newest_pushes_oldest_first_one_line_each(engine, db_url, capsys):
    sm = await _record(engine)
    try:
        assert main(["pushes", "tail", "-n", "2", "--database-url", db_url]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert len(lines) == 2
        assert "device tail-dev-b [notice/en] Shelter open — Fukushima 1st school" in lines[0]
        assert "device tail-dev-a [all_clear/ja] 解除 — 避難指示は解除" in lines[1]
    finally:
        await _forget(sm)


async def test_tail_json_filters_by_device_and_marks_critical(engine, db_url, capsys):
    sm = await _record(engine)
    try:
        assert main(["pushes", "tail", "--json", "--device", "tail-dev-a", "--database-url", db_url]) == 0
        rows = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [(r["title"], r["critical"], r["kind"]) for r in rows] == [("避難指示", True, "alert"), ("解除", False, "all_clear")]
        assert rows[0]["body"] == "福島市 第一小学校へ\n今すぐ" and rows[0]["data"]["kind"] == "alert"
    finally:
        await _forget(sm)
