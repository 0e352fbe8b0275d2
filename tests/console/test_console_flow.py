"""Done-when, through the console in headless Chromium: sign in, draft a level-4 order for a
district, approve it with a second account, see the delivery figures; draw a polygon on the map."""

from __future__ import annotations

import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select
from sqlalchemy import text

from tests.kits.notices import WATARI_DISTRICT, deliver, new_resident, pushes
from tests.kits.residents import WATARI
from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, make_account
from tests.kits.console import console_state, click_until, in_thread, row_state, sign_in, sign_out, wait_for

async def test_draft_approve_and_see_delivery_figures(app, client, engine, live_server, browser, screenshot):
    inside = [await new_resident(client, WATARI), await new_resident(client, (WATARI[0] + 0.003, WATARI[1]), language="en")]
    await new_resident(client, FUKUSHIMA_POINT)  # 福島市, outside the district
    await make_account(app, "municipal", FUKUSHIMA, username="op-one")
    await make_account(app, "municipal", FUKUSHIMA, username="op-two")
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO notice_districts (municipality_code, name, geom) "
            "VALUES ('072010', '渡利地区', ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326)))"),
            {"g": __import__("json").dumps(WATARI_DISTRICT)})
    d = browser

    def compose_and_submit():
        sign_in(d, live_server, "op-one")
        assert d.find_element(By.TAG_NAME, "h1").text == "福島県 防災コンソール"  # Japanese first
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='compose']").click()
        Select(d.find_element(By.ID, "c-level")).select_by_value("4")
        Select(d.find_element(By.ID, "c-kind")).select_by_value("districts")
        wait_for(d, lambda d: len(Select(d.find_element(By.ID, "c-districts")).options) == 1)
        Select(d.find_element(By.ID, "c-districts")).select_by_index(0)
        d.find_element(By.ID, "c-reason").send_keys("阿武隈川の水位上昇")
        d.find_element(By.ID, "c-save").click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#notices tr[data-state='draft']")))
        notice_id = row.get_attribute("data-id")
        click_until(d, f"#notices tr[data-id='{notice_id}'] .act-submit",
                    lambda d: row_state(d, notice_id) == "pending_approval")
        # The author gets no approve button on their own notice.
        assert not d.find_elements(By.CSS_SELECTOR, f"#queue tr[data-id='{notice_id}'] .act-approve")
        sign_out(d)
        return notice_id

    notice_id = await in_thread(compose_and_submit)

    def approve():
        sign_in(d, live_server, "op-two")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='notices']").click()
        click_until(d, f"#queue tr[data-id='{notice_id}'] .act-approve", lambda d: row_state(d, notice_id) == "issued")

    await in_thread(approve)
    async with engine.connect() as conn:
        alert_id = (await conn.execute(text("SELECT alert_id FROM evacuation_notices WHERE id = :i"),
                                       {"i": int(notice_id)})).scalar_one()
    await deliver(app, alert_id)
    assert set(await pushes(engine, alert_id)) == set(inside)

    def figures():
        click_until(d, f"#notices tr[data-id='{notice_id}'] .act-report",
                    EC.visibility_of_element_located((By.ID, "report")))
        cells = {c.get_attribute("data-field"): c.text for c in d.find_elements(By.CSS_SELECTOR, "#report-table td[data-field]")}
        assert cells == {"targeted": "2", "sent": "2", "failed": "0"}
        screenshot(d, "delivery-figures")
        # The map shows the issued order; English is one click away.
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='map']").click()
        d.refresh()
        wait_for(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#map path.notice.lv4"))
        screenshot(d, "map-issued-order")
        d.find_element(By.ID, "lang-toggle").click()
        assert d.find_element(By.TAG_NAME, "h1").text == "Fukushima Disaster Console"
        d.find_element(By.ID, "lang-toggle").click()

    await in_thread(figures)


async def test_polygon_drawn_on_the_map_becomes_the_target(app, client, engine, live_server, browser):
    await make_account(app, "municipal", FUKUSHIMA, username="op-draw")
    d = browser
    lat, lon = WATARI

    def draw():
        sign_in(d, live_server, "op-draw")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='compose']").click()
        Select(d.find_element(By.ID, "c-kind")).select_by_value("polygon")
        d.find_element(By.ID, "c-draw-start").click()
        svg = d.find_element(By.ID, "map")
        d.execute_script("arguments[0].scrollIntoView({block: 'center'})", svg)
        for dlat, dlon in ((-0.01, -0.01), (-0.01, 0.01), (0.01, 0.01), (0.01, -0.01)):
            off = d.execute_script(
                """const m = window.BousaiConsole.map(), svg = document.getElementById('map');
                   const [x, y] = m.project(arguments[0], arguments[1]);
                   const p = svg.createSVGPoint(); p.x = x; p.y = y;
                   const s = p.matrixTransform(svg.getScreenCTM()); const r = svg.getBoundingClientRect();
                   return [s.x - (r.left + r.width / 2), s.y - (r.top + r.height / 2)];""",
                lon + dlon, lat + dlat)
            ActionChains(d).move_to_element_with_offset(svg, round(off[0]), round(off[1])).click().perform()
        assert d.find_element(By.ID, "c-draw-count").text == "4"
        d.find_element(By.ID, "c-save").click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#notices tr[data-state='draft']")))
        return row.get_attribute("data-id")

    notice_id = await in_thread(draw)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT target_kind, municipality_codes, ST_Area(geom::geography) / 1e6, "
            "ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) FROM evacuation_notices WHERE id = :i"),
            {"i": int(notice_id), "lat": lat, "lon": lon})).one()
    assert row[0] == "polygon" and row[1] == [FUKUSHIMA] and row[3] is True
    assert 2.0 < row[2] < 8.0  # ~2.2 km × 2.2 km, within the precision of a click


async def test_an_older_list_answer_never_overwrites_a_newer_one(app, client, engine, live_server, browser):
    """Sign-in, every action and the language switch each refresh the lists; answers can arrive
    out of order. The draft just saved must stay listed when a slower, older answer lands."""
    await make_account(app, "municipal", FUKUSHIMA, username="op-race")
    d = browser

    def race():
        sign_in(d, live_server, "op-race")
        # The next list of notices is answered 2 s late: the page itself sees a slow network.
        d.execute_script(
            """const real = window.fetch; let delayed = false;
               window.fetch = (url, opts) => {
                 const p = real(url, opts);
                 if (!delayed && String(url) === '/v1/staff/notices') {
                   delayed = true; return p.then((r) => new Promise((ok) => setTimeout(() => ok(r), 2000)));
                 }
                 return p;
               };""")
        d.find_element(By.ID, "lang-toggle").click()  # refreshes every list: its notices answer is the slow one
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='compose']").click()
        Select(d.find_element(By.ID, "c-kind")).select_by_value("municipality")
        Select(d.find_element(By.ID, "c-municipalities")).select_by_value(FUKUSHIMA)
        d.find_element(By.ID, "c-save").click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#notices tr[data-state='draft']")))
        notice_id = row.get_attribute("data-id")
        time.sleep(3)  # the stale answer has landed by now
        assert row_state(d, notice_id) == "draft", console_state(d)

    await in_thread(race)
