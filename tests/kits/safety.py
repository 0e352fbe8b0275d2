"""Starting safety checks for a strong quake."""

from __future__ import annotations

from my_evacuation.safety.service import start_checks_for_alert

# 震度5強 in 中通り (250) where 福島市 渡利 is; 浜通り (251) felt 4.
QUAKE = {"source": "jma", "event_id": "20260101000000", "msg_type": "alert", "category": "earthquake",
         "is_drill": False, "areas": [{"code": "250", "kind": "seismic_area", "intensity": "5+"},
                                      {"code": "251", "kind": "seismic_area", "intensity": "4"}]}


async def start(app, resident_ids, alert=QUAKE, alert_id=1):
    async with app.state.sessionmaker() as s:
        n = await start_checks_for_alert(s, alert_id, resident_ids, alert)
        await s.commit()
        return n
