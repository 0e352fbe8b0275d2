"""The console's shelter tab in headless Chromium: search, paging past the first page, live
check-in counts, the roster summary."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from sqlalchemy import text

from tests.kits.console import in_thread, wait_for, sign_in
from tests.kits.staff import FUKUSHIMA, make_account


async def test_shelter_tab_searches_pages_and_shows_checkins_and_the_roster(app, engine, live_server, browser):  # noqa: F811
    async with engine.begin() as conn:
        await conn.execute(text(
            """INSERT INTO shelters (id, name, municipality_code, geom, source, capacity)
               SELECT :m || ':' || g, '避難所' || g, :m, ST_SetSRID(ST_MakePoint(140.4 + g * 0.0001, 37.7), 4326),
                      'staff', 100
               FROM generate_series(1, 250) g"""), {"m": FUKUSHIMA})
        await conn.execute(text(
            "INSERT INTO shelters (id, name, municipality_code, geom, source, capacity, checked_in, occupancy, is_open) "
            "VALUES ('072010:q', '渡利小学校', :m, ST_SetSRID(ST_MakePoint(140.48, 37.74), 4326), 'staff', 100, 7, 7, true)"),
            {"m": FUKUSHIMA})
        await conn.execute(text(
            "INSERT INTO shelter_checkins (submitted_by, client_id, staff_id, shelter_id, municipality_code, headcount, "
            "state, checked_in_at) VALUES ('staff:0', 'x', 0, '072010:q', :m, 7, 'in', now())"), {"m": FUKUSHIMA})
    await make_account(app, "municipal", FUKUSHIMA, username="sh-op")
    d = browser

    def walk():
        sign_in(d, live_server, "sh-op")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='shelters']").click()
        wait_for(d, lambda d: d.find_element(By.ID, "sh-count").text == "1–200 / 251")
        d.find_element(By.ID, "sh-next").click()
        wait_for(d, lambda d: d.find_element(By.ID, "sh-count").text == "201–251 / 251")
        d.find_element(By.ID, "sh-q").send_keys("渡利")
        wait_for(d, lambda d: d.find_element(By.ID, "sh-count").text == "1–1 / 1")
        row = d.find_element(By.CSS_SELECTOR, "#shelters tr[data-id='072010:q']")
        assert row.find_element(By.CSS_SELECTOR, ".checked-in").text == "7"
        assert row.find_elements(By.CSS_SELECTOR, "button.act-qr")
        d.find_element(By.ID, "roster-show").click()
        wait_for(d, lambda d: "7" in d.find_element(By.ID, "roster-summary").text)

    await in_thread(walk)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'roster.read'"))).scalar() == 1
