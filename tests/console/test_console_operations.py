"""Issue 17, through the console in headless Chromium against the running app: cancel with a
reason, correction of level and area, every JMA alert in force on the map (city, split city,
quake area, tsunami area) coloured by the danger scale with drills hatched, zoom / pan / draw,
staff accounts and the audit log, names and times on notices, safety answers, and a layout
that holds at 1280×800 and in a narrow window. Screenshots go to build/console-screenshots/."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker

from alerts.notices import flows as notice_flows
from alerts.notices import service as notices
from alerts.notices.schemas import NoticeIn
from server.db import unit_of_work
from alerts.staff.principal import StaffPrincipal
from tests.kits.delivery import quake_doc, store, tsunami_doc, weather_doc
from tests.kits.notices import new_resident
from tests.kits.reports import add_answers
from tests.kits.console import in_thread, wait_for, click_until, row_state, sign_in, sign_out
from tests.kits.residents import WATARI
from tests.kits.staff import FUKUSHIMA, FUKUSHIMA_POINT, KORIYAMA, PASSWORD, make_account

IWAKI_POINT = (37.0505, 140.8877)  # いわき市, on the coast
AIZU_POINT = (37.4947, 139.9298)  # 会津若松市, inland


async def issued_notice(app, account_id: int, username: str, role: str, muni: str | None, *, codes: list[str],
                        level: int = 3, drill: bool = False) -> int:
    """An issued level-3 order (no second person needed), made through the service as ``username``."""
    who = StaffPrincipal(id=account_id, username=username, display_name=username, role=role, municipality_code=muni)
    async with unit_of_work(app.state.sessionmaker) as s:
        n = await notices.create_draft(s, who, NoticeIn(level=level, target_kind="municipality", municipality_codes=codes,
                                                        is_drill=drill, reason="大雨"))
        n = await notice_flows.submit(s, who, n.id)
        assert n.state == "issued", n.state
        return n.id


def dialog_open(d) -> bool:
    return d.execute_script("return document.getElementById('note-dialog').open")


async def test_cancel_asks_for_the_reason_in_a_dialog(app, client, engine, live_server, browser, screenshot):
    op = await make_account(app, "municipal", FUKUSHIMA, username="op-cancel")
    notice_id = await issued_notice(app, op, "op-cancel", "municipal", FUKUSHIMA, codes=[FUKUSHIMA])
    d = browser

    def cancel():
        sign_in(d, live_server, "op-cancel")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='notices']").click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, f"#notices tr[data-id='{notice_id}']")))
        # Who made it and when, on the notice itself.
        assert "作成" in row.text and "op-cancel" in row.text and "発令" in row.text, row.text
        click_until(d, f"#notices tr[data-id='{notice_id}'] .act-cancel", dialog_open)
        d.find_element(By.ID, "note-ok").click()  # no reason: refused in the page, nothing sent
        assert dialog_open(d) and d.find_element(By.ID, "note-error").text
        d.find_element(By.ID, "note-text").send_keys("誤って発令したため")
        screenshot(d, "cancel-dialog")
        d.find_element(By.ID, "note-ok").click()
        wait_for(d, lambda d: row_state(d, notice_id) == "cancelled")
        assert "取り消しました" in d.find_element(By.ID, "flash").text
        screenshot(d, "notices-after-cancel")

    await in_thread(cancel)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT msg_type, state, reason FROM evacuation_notices WHERE references_id = :i"), {"i": notice_id})).one()
    assert tuple(row) == ("cancel", "issued", "誤って発令したため")


async def test_correction_changes_the_level_and_the_area(app, client, engine, live_server, browser, screenshot):
    op = await make_account(app, "prefecture", None, username="pref-correct")
    notice_id = await issued_notice(app, op, "pref-correct", "prefecture", None, codes=[FUKUSHIMA])
    d = browser

    def correct():
        sign_in(d, live_server, "pref-correct")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='notices']").click()
        click_until(d, f"#notices tr[data-id='{notice_id}'] .act-correct",
                    EC.visibility_of_element_located((By.ID, "compose-correcting")))
        # Prefilled with what was issued.
        assert Select(d.find_element(By.ID, "c-level")).first_selected_option.get_attribute("value") == "3"
        assert [o.get_attribute("value") for o in Select(d.find_element(By.ID, "c-municipalities")).all_selected_options] == [FUKUSHIMA]
        Select(d.find_element(By.ID, "c-level")).select_by_value("4")
        muni = Select(d.find_element(By.ID, "c-municipalities"))
        muni.deselect_all()
        muni.select_by_value(KORIYAMA)
        screenshot(d, "correction-form")
        d.find_element(By.ID, "c-save").click()
        wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#notices tr[data-state='draft']")))

    await in_thread(correct)
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT msg_type, state, level, municipality_codes, target_kind FROM evacuation_notices WHERE references_id = :i"),
            {"i": notice_id})).one()
    assert tuple(row) == ("update", "draft", 4, [KORIYAMA], "municipality")


async def test_the_map_draws_every_jma_alert_in_force(app, client, engine, live_server, browser, screenshot):
    """大雨警報 over 福島市 and the whole of split 郡山市 (0720300), a 津波注意報 over the coast
    (津波予報区 250), 震度4 in 浜通り (地震情報細分区域 251), and a drill: each drawn over its
    own areas in its level's colour; the drill hatched and labelled 訓練."""
    sm = async_sessionmaker(engine)
    now = datetime.now(UTC)
    iso = lambda h: (now + timedelta(hours=h)).isoformat()  # noqa: E731
    rain = weather_doc("w-rain", [("大雨警報", "発表")], issued_at=iso(-0.5), event_id="map-rain")
    rain["areas"].append({"code": "0720300", "name": "郡山市", "kind": "jma_city", "warnings": [{"name": "大雨警報", "status": "発表"}]})
    await store(sm, {**rain, "expires_at": iso(6)})
    await store(sm, tsunami_doc("t-adv", "advisory", issued_at=iso(-0.2), event_id="map-tsunami"))
    await store(sm, quake_doc("q-251", {"251": "4"}, event_id="map-quake", issued_at=iso(-0.1)))
    drill = weather_doc("w-drill", [("大雨特別警報", "発表")], issued_at=iso(-0.3), event_id="map-drill")
    drill["areas"] = [{"code": "0740800", "name": "猪苗代町", "kind": "jma_city", "warnings": [{"name": "大雨特別警報", "status": "発表"}]}]
    await store(sm, {**drill, "is_drill": True, "status": "訓練", "expires_at": iso(6)})
    await make_account(app, "prefecture", None, username="pref-map")
    d = browser

    def inside(code_css, lat, lon):
        return d.execute_script(
            """const m = window.BousaiConsole.map(); const [x, y] = m.project(arguments[1], arguments[0]);
               return [...document.querySelectorAll(arguments[2])].some((p) => p.isPointInFill(new DOMPoint(x, y)));""",
            lat, lon, code_css)

    def look():
        sign_in(d, live_server, "pref-map")
        wait_for(d, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#alert-list li[data-alert-id]")) == 4)
        levels = {p.get_attribute("data-code"): p.get_attribute("class")
                  for p in d.find_elements(By.CSS_SELECTOR, "#map path.alert")}
        # 大雨警報 is level 3; 津波注意報 3; 震度4 3; 大雨特別警報 5 (a drill).
        assert "lvl3" in levels["0720100"] and "lvl3" in levels["0720300"], levels
        assert "lvl3" in levels["250"] and "lvl3" in levels["251"], levels
        assert "lvl5" in levels["0740800"] and "drill" in levels["0740800"], levels
        # The right places: 郡山市 whole (both halves), the tsunami area on the coast only.
        assert inside("#map path.alert[data-code='0720300']", 37.4447, 140.3433)  # 郡山市 (0720301)
        assert inside("#map path.alert[data-code='0720300']", 37.3940, 140.1195)  # 郡山市湖南 (0720302)
        assert inside("#map path.alert[data-code='250']", *IWAKI_POINT)
        assert not inside("#map path.alert[data-code='250']", *FUKUSHIMA_POINT)
        assert not inside("#map path.alert[data-code='250']", *AIZU_POINT)
        assert inside("#map path.alert[data-code='251']", *IWAKI_POINT)
        assert not inside("#map path.alert[data-code='0720100']", *IWAKI_POINT)
        # The drill: hatched, labelled, and marked in the list; real alerts are not.
        drill_path = d.find_element(By.CSS_SELECTOR, "#map path.alert[data-code='0740800']")
        assert "hatch-5" in d.execute_script("return getComputedStyle(arguments[0]).fill", drill_path)
        real = d.find_element(By.CSS_SELECTOR, "#map path.alert[data-code='0720100']")
        assert "hatch" not in d.execute_script("return getComputedStyle(arguments[0]).fill", real)
        assert [t.text for t in d.find_elements(By.CSS_SELECTOR, "#map text.drill-label")] == ["訓練"]
        items = d.find_elements(By.CSS_SELECTOR, "#alert-list li[data-alert-id]")
        assert [("訓練" in i.text) for i in items] == [False, False, False, True]
        assert not d.find_element(By.ID, "alert-unknown").text  # every code found its area
        legend = d.find_element(By.ID, "legend").text
        assert all(w in legend for w in ("危険度", "5", "4", "3", "訓練"))
        screenshot(d, "map-alerts-in-force")
        items[0].click()  # zoom to an alert's areas
        wait_for(d, lambda d: d.execute_script("return window.BousaiConsole.map().zoom") > 1.5)
        screenshot(d, "map-alert-zoomed")

    await in_thread(look)


async def test_zoom_pan_and_draw_a_district(app, client, engine, live_server, browser, screenshot):
    await make_account(app, "municipal", FUKUSHIMA, username="op-zoom")
    d = browser
    lat, lon = WATARI

    def view():
        return d.execute_script("return document.getElementById('map').viewBox.baseVal.width"), \
            d.execute_script("return document.getElementById('map').viewBox.baseVal.x")

    def screen_of(lat_, lon_):
        return d.execute_script(
            """const m = window.BousaiConsole.map(), svg = document.getElementById('map');
               const [x, y] = m.project(arguments[0], arguments[1]);
               const p = svg.createSVGPoint(); p.x = x; p.y = y;
               const s = p.matrixTransform(svg.getScreenCTM()); const r = svg.getBoundingClientRect();
               return [s.x - (r.left + r.width / 2), s.y - (r.top + r.height / 2), s.x, s.y];""", lon_, lat_)

    def zoom_and_draw():
        sign_in(d, live_server, "op-zoom")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='compose']").click()
        svg = d.find_element(By.ID, "map")
        w0, _ = view()
        d.find_element(By.ID, "zoom-in").click()
        w1, _ = view()
        assert abs(w1 - w0 / 2) < 1, (w0, w1)
        d.find_element(By.ID, "zoom-reset").click()
        assert abs(view()[0] - w0) < 1
        # The wheel zooms about the pointer: the place under it (by 渡利) stays under it.
        cx, cy = (round(v) for v in screen_of(lat, lon)[2:])
        under = d.execute_script(
            """const m = window.BousaiConsole.map(), svg = document.getElementById('map');
               const p = svg.createSVGPoint(); p.x = arguments[0]; p.y = arguments[1];
               const q = p.matrixTransform(svg.getScreenCTM().inverse()); return m.unproject(q.x, q.y);""", cx, cy)
        for _ in range(6):
            d.execute_script(
                """document.getElementById('map').dispatchEvent(new WheelEvent('wheel',
                     {deltaY: -300, clientX: arguments[0], clientY: arguments[1], bubbles: true, cancelable: true}));""",
                cx, cy)
        w2, x2 = view()
        assert w2 < w0 / 8, (w0, w2)
        # Zoomed in, the municipalities are named (no tiles: names are how a place is found).
        assert d.execute_script("""return [...document.querySelectorAll('#map .muni-name')]
            .some((t) => t.textContent === '福島市' && getComputedStyle(t).display !== 'none')""")
        after = screen_of(under[1], under[0])
        assert abs(after[2] - cx) < 1 and abs(after[3] - cy) < 1, ((cx, cy), after)
        # A drag pans (and adds no vertex).
        ActionChains(d).move_to_element(svg).click_and_hold().move_by_offset(80, 0).move_by_offset(40, 0).release().perform()
        w3, x3 = view()
        assert w3 == w2 and x3 < x2, (x2, x3)
        # Draw a district of ~500 m at this zoom.
        Select(d.find_element(By.ID, "c-kind")).select_by_value("polygon")
        d.find_element(By.ID, "c-draw-start").click()
        for dlat, dlon in ((-0.002, -0.0025), (-0.002, 0.0025), (0.002, 0.0025), (0.002, -0.0025)):
            off = screen_of(lat + dlat, lon + dlon)
            ActionChains(d).move_to_element_with_offset(svg, round(off[0]), round(off[1])).click().perform()
        assert d.find_element(By.ID, "c-draw-count").text == "4"
        screenshot(d, "compose-draw-zoomed")
        # At 1280×800 the whole form, its save button included, is on the screen beside the map.
        d.set_window_size(1280, 800)
        save = d.find_element(By.ID, "c-save")
        bottom = d.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.bottom, innerHeight]", save)
        assert bottom[0] <= bottom[1], bottom
        screenshot(d, "compose-1280x800")
        save.click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#notices tr[data-state='draft']")))
        return row.get_attribute("data-id")

    notice_id = await in_thread(zoom_and_draw)
    async with engine.connect() as conn:
        area, contains = (await conn.execute(text(
            "SELECT ST_Area(geom::geography) / 1e6, ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
            "FROM evacuation_notices WHERE id = :i"), {"i": int(notice_id), "lat": lat, "lon": lon})).one()
    assert contains and 0.13 < area < 0.25, area  # 445 m × 440 m, to a few pixels at this zoom


async def test_accounts_and_the_audit_log(app, client, engine, live_server, browser, screenshot):
    await make_account(app, "admin", None, username="admin-console")
    d = browser

    def manage():
        sign_in(d, live_server, "admin-console")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='accounts']").click()
        wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#accounts tr[data-username='admin-console']")))
        d.find_element(By.ID, "ac-username").send_keys("kori-op")
        d.find_element(By.ID, "ac-display").send_keys("郡山 太郎")
        d.find_element(By.ID, "ac-password").send_keys(PASSWORD)
        Select(d.find_element(By.ID, "ac-role")).select_by_value("municipal")
        Select(d.find_element(By.ID, "ac-muni")).select_by_value(KORIYAMA)
        d.find_element(By.ID, "ac-create").click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#accounts tr[data-username='kori-op']")))
        assert "郡山市" in row.text and "郡山 太郎" in row.text
        # A bad request shows the API's message (a name already taken).
        d.find_element(By.ID, "ac-username").send_keys("kori-op")
        d.find_element(By.ID, "ac-display").send_keys("again")
        d.find_element(By.ID, "ac-password").send_keys(PASSWORD)
        Select(d.find_element(By.ID, "ac-role")).select_by_value("viewer")
        d.find_element(By.ID, "ac-create").click()
        wait_for(d, lambda d: d.find_element(By.ID, "account-error").text)
        click_until(d, "#accounts tr[data-username='kori-op'] .act-disable",
                    lambda d: d.find_element(By.CSS_SELECTOR, "#accounts tr[data-username='kori-op']").get_attribute("data-active") == "false")
        screenshot(d, "accounts")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='audit']").click()
        wait_for(d, lambda d: {r.get_attribute("data-action") for r in d.find_elements(By.CSS_SELECTOR, "#audit tr[data-action]")}
              >= {"account.create", "account.update"})
        assert "is_active: true → false" in d.find_element(By.CSS_SELECTOR, "#audit tr[data-action='account.update']").text
        screenshot(d, "audit-log")
        sign_out(d)

    await in_thread(manage)
    r = await client.post("/v1/staff/auth/login", json={"username": "kori-op", "password": PASSWORD})
    assert r.status_code in (401, 403), r.text  # disabled


async def test_safety_answers_and_a_narrow_window(app, client, engine, live_server, browser, screenshot):
    f_lat, f_lon = FUKUSHIMA_POINT
    await add_answers(engine, "cap:console", [(FUKUSHIMA, (f_lat, f_lon), "need_help")] * 2
                   + [(FUKUSHIMA, (f_lat, f_lon), "safe")] * 3 + [(FUKUSHIMA, (f_lat, f_lon), None)] * 4)
    op = await make_account(app, "municipal", FUKUSHIMA, username="op-narrow")
    await issued_notice(app, op, "op-narrow", "municipal", FUKUSHIMA, codes=[FUKUSHIMA], drill=True)
    d = browser

    def look():
        sign_in(d, live_server, "op-narrow")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='figures']").click()
        row = wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, f"#safety tr[data-code='{FUKUSHIMA}']")))
        cells = {c.get_attribute("data-field"): c.text for c in row.find_elements(By.CSS_SELECTOR, "td[data-field]")}
        assert cells == {"checks": "9", "answered": "5", "unanswered": "4", "need_help": "2"}, cells
        screenshot(d, "figures")
        # A drill notice: hatched on the map and labelled 訓練 in the list of notices.
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='map']").click()
        drill = wait_for(d, lambda d: d.find_elements(By.CSS_SELECTOR, "#map path.notice.drill"))[0]
        assert "hatch-3" in d.execute_script("return getComputedStyle(arguments[0]).fill", drill)
        assert "訓練" in [t.text for t in d.find_elements(By.CSS_SELECTOR, "#map text.drill-label")]
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='notices']").click()
        assert "訓練" in wait_for(d, EC.visibility_of_element_located((By.CSS_SELECTOR, "#notices tr.drill"))).text
        # Narrow: nothing runs off the side, the map and the list stack.
        d.set_window_size(600, 900)
        for tab in ("map", "compose", "notices", "figures"):
            d.find_element(By.CSS_SELECTOR, f"nav button[data-tab='{tab}']").click()
            over = d.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert over <= 0, (tab, over)
            if tab in ("map", "compose"):
                screenshot(d, f"narrow-{tab}")
        d.find_element(By.ID, "lang-toggle").click()
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='map']").click()
        assert "Danger" in d.find_element(By.ID, "legend").text
        wait_for(d, lambda d: "訓練 DRILL" in [t.text for t in d.find_elements(By.CSS_SELECTOR, "#map text.drill-label")])
        screenshot(d, "narrow-map-en")

    await in_thread(look)


async def test_a_saved_draft_shows_who_would_be_told_what(app, client, engine, live_server, browser, screenshot):
    await new_resident(client, FUKUSHIMA_POINT)
    await new_resident(client, (FUKUSHIMA_POINT[0] + 0.002, FUKUSHIMA_POINT[1]), language="en")
    await new_resident(client, IWAKI_POINT)  # elsewhere: not told
    await make_account(app, "municipal", FUKUSHIMA, username="op-preview")
    d = browser

    def compose():
        sign_in(d, live_server, "op-preview")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='compose']").click()
        Select(d.find_element(By.ID, "c-level")).select_by_value("4")
        Select(d.find_element(By.ID, "c-kind")).select_by_value("municipality")
        Select(d.find_element(By.ID, "c-municipalities")).select_by_value(FUKUSHIMA)
        # The chosen area is outlined on the map while composing.
        assert d.find_elements(By.CSS_SELECTOR, "#map path.target")
        d.find_element(By.ID, "c-reason").send_keys("阿武隈川の氾濫のおそれ")
        d.find_element(By.ID, "c-save").click()
        wait_for(d, lambda d: d.find_element(By.CSS_SELECTOR, "#preview-summary [data-field='residents']").text == "2")
        assert "命に関わる" in d.find_element(By.ID, "preview-summary").text  # 避難指示
        langs = {r.get_attribute("data-language") for r in d.find_elements(By.CSS_SELECTOR, "#preview-messages tr[data-language]")}
        assert langs == {"ja", "en"}
        ja = d.find_element(By.CSS_SELECTOR, "#preview-messages tr[data-language='ja']").text
        assert "避難指示" in ja, ja
        screenshot(d, "draft-preview")

    await in_thread(compose)
    async with engine.connect() as conn:  # a preview sends and keeps nothing
        assert (await conn.execute(text("SELECT count(*) FROM push_messages"))).scalar_one() == 0


async def test_search_every_shelter_and_open_a_selection_together(app, client, engine, live_server, browser, screenshot):
    await make_account(app, "municipal", FUKUSHIMA, username="op-shelters")
    lat, lon = FUKUSHIMA_POINT
    async with engine.begin() as conn:
        for i in range(230):  # more than a page (200)
            await conn.execute(text(
                "INSERT INTO shelters (id, name, municipality_code, geom, source) "
                "VALUES (:id, :name, :m, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'staff')"),
                {"id": f"S-{i:04d}", "name": f"{'渡利' if i % 100 == 7 else '福島'}避難所{i:04d}", "m": FUKUSHIMA,
                 "lat": lat + i * 1e-4, "lon": lon})
    d = browser

    def shelters():
        sign_in(d, live_server, "op-shelters")
        d.find_element(By.CSS_SELECTOR, "nav button[data-tab='shelters']").click()
        wait_for(d, lambda d: d.find_element(By.ID, "sh-count").text == "1–200 / 230")
        d.find_element(By.ID, "sh-next").click()
        wait_for(d, lambda d: d.find_element(By.ID, "sh-count").text == "201–230 / 230")
        d.find_element(By.ID, "sh-q").send_keys("渡利")
        wait_for(d, lambda d: d.find_element(By.ID, "sh-count").text == "1–3 / 3")
        d.find_element(By.ID, "sh-all").click()
        assert d.find_element(By.ID, "sh-selected").text == "3件選択中"
        d.find_element(By.ID, "sh-bulk-open").click()
        d.switch_to.alert.accept()
        wait_for(d, lambda d: [r.get_attribute("data-open") for r in d.find_elements(By.CSS_SELECTOR, "#shelters tr[data-id]")]
              == ["true"] * 3)
        screenshot(d, "shelters-bulk-open")

    await in_thread(shelters)
    async with engine.connect() as conn:
        opened = (await conn.execute(text("SELECT array_agg(id ORDER BY id) FROM shelters WHERE is_open"))).scalar_one()
    assert opened == ["S-0007", "S-0107", "S-0207"]


async def test_every_area_kind_has_polygons_for_the_map(client):
    """The map resolves JMA codes through these: quake areas are unions of their cities, and
    the 津波予報区 福島県 (stored code-only) is drawn as the coastal municipalities."""
    for kind, codes in (("jma_city", 61), ("jma_matome", 9), ("jma_first", 3), ("jma_pref", 1), ("quake", 3), ("tsunami", 1)):
        areas = (await client.get("/v1/areas", params={"kind": kind, "geometry": "true"})).json()
        assert len(areas) == codes and all(a["geometry"] for a in areas), kind
    [tsunami] = (await client.get("/v1/areas", params={"kind": "tsunami", "geometry": "true"})).json()
    from shapely.geometry import Point, shape

    coast = shape(tsunami["geometry"])
    assert coast.contains(Point(IWAKI_POINT[1], IWAKI_POINT[0]))
    assert not coast.contains(Point(FUKUSHIMA_POINT[1], FUKUSHIMA_POINT[0]))
    r = await client.get("/v1/areas", params={"kind": "nowhere"})
    assert r.status_code == 400 and "unknown area kind" in json.dumps(r.json())
