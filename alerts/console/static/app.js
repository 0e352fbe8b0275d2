// Operators' console: sign in, map, compose, approve, shelters, delivery and safety figures.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  const state = { lang: localStorage.getItem("bousai.lang") || "ja", token: sessionStorage.getItem("bousai.token"),
                  me: null, map: null, areas: [], reportNotice: null, names: {}, correcting: null, auditBefore: null,
                  shPicked: new Map(), renderEpoch: 0 };
  const t = (key) => (I18N[state.lang] && I18N[state.lang][key]) || I18N.ja[key] || key;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(c ?? ""));
    return e;
  }

  function applyLang() {
    document.documentElement.lang = state.lang;
    for (const e of $$("[data-i18n]")) e.textContent = t(e.dataset.i18n);
    for (const e of $$("[data-i18n-placeholder]")) e.placeholder = t(e.dataset.i18nPlaceholder);
    for (const e of $$("[data-i18n-title]")) e.title = t(e.dataset.i18nTitle);
    $("#lang-toggle").textContent = state.lang === "ja" ? "English" : "日本語";
    if (state.me) renderWho();
  }

  function flash(msg, isError) {
    const f = $("#flash"); f.textContent = msg; f.className = isError ? "error" : "ok";
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + state.token };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401) { signOut(); flash(t("session_expired"), true); throw new Error("unauthorized"); }
    const ct = r.headers.get("content-type") || "";
    const data = ct.includes("json") ? await r.json() : await r.text();
    if (!r.ok) { throw new Error((data && data.error) || r.statusText || String(r.status)); }
    return data;
  }

  async function download(path, filename) {
    const r = await fetch(path, { headers: { Authorization: "Bearer " + state.token } });
    const blob = await r.blob();
    const a = el("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(a); a.click(); a.remove();
  }

  // --- sign in ----------------------------------------------------------------------
  async function signIn(ev) {
    ev.preventDefault();
    $("#login-error").textContent = "";
    const r = await fetch("/v1/staff/auth/login", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: $("#login-username").value, password: $("#login-password").value }) });
    const data = await r.json();
    if (!r.ok) { $("#login-error").textContent = r.status === 401 ? t("wrong_login") : data.error; return; }
    state.token = data.token; sessionStorage.setItem("bousai.token", data.token);
    $("#login-password").value = "";
    await start();
  }

  function signOut() {
    state.token = null; state.me = null; sessionStorage.removeItem("bousai.token");
    $("#app-view").hidden = true; $("#login-view").hidden = false; $("#logout").hidden = true; $("#whoami").textContent = "";
  }

  function renderWho() {
    const m = state.me;
    const scope = m.municipality_code ? (state.areas.find((a) => a.code === m.municipality_code) || {}).name || m.municipality_code : "";
    $("#whoami").textContent = `${m.display_name} — ${t("role_" + m.role)}${scope ? " " + scope : ""}`;
  }

  async function start() {
    state.me = await api("GET", "/v1/staff/me");
    $("#login-view").hidden = true; $("#app-view").hidden = false; $("#logout").hidden = false;
    if (!state.areas.length) {
      // Every kind of area a JMA or CAP code may name, from this app (works offline): the map
      // resolves each alert's codes to these polygons.
      const kinds = ["municipality", ...AREA_KINDS];
      const lists = await Promise.all(kinds.map((k) => fetch(`/v1/areas?kind=${k}&geometry=true`).then((r) => r.json())));
      state.areas = lists[0];
      state.map = new BousaiMap($("#map"));
      state.map.onView = (z) => { $("#zoom-level").textContent = `×${z < 10 ? z.toFixed(1) : Math.round(z)}`; };
      state.map.setAreas(state.areas, Object.fromEntries(AREA_KINDS.map((k, i) => [k, lists[i + 1]])));
    }
    document.body.dataset.role = state.me.role;
    document.body.classList.toggle("operator", OPERATOR());
    renderWho();
    await loadComposeOptions();
    await refreshAll();
  }

  const AUTO_REFRESH_MS = 60000;
  const AREA_KINDS = ["jma_city", "jma_matome", "jma_first", "jma_pref", "quake", "tsunami"];
  const OPERATOR = () => ["prefecture", "municipal"].includes(state.me.role);
  const areaName = (code) => (state.areas.find((a) => a.code === code) || {}).name || code;

  // A time as operators read it: Japan time, to the minute (seconds when it matters, in the title).
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString(state.lang === "ja" ? "ja-JP" : "en-GB", { timeZone: "Asia/Tokyo", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit" });
  }
  const who = (id) => (id == null ? "" : state.names[id] || `#${id}`);

  // A note the API requires (cancel, reject), asked in a dialog: never sent empty.
  function askNote(title, help, okLabel) {
    const dlg = $("#note-dialog");
    $("#note-title").textContent = title; $("#note-help").textContent = help || "";
    $("#note-ok").textContent = okLabel; $("#note-text").value = ""; $("#note-error").textContent = "";
    return new Promise((resolve) => {
      const done = (v) => { dlg.close(); $("#note-form").onsubmit = null; $("#note-back").onclick = null; dlg.oncancel = null; resolve(v); };
      $("#note-form").onsubmit = (ev) => {
        ev.preventDefault();
        const note = $("#note-text").value.trim();
        if (!note) { $("#note-error").textContent = t("note_required"); return; }
        done(note);
      };
      $("#note-back").onclick = () => done(null);
      dlg.oncancel = () => done(null);
      dlg.showModal();
      $("#note-text").focus();
    });
  }

  // --- tabs ---------------------------------------------------------------------------
  function showTab(name) {
    for (const b of $$("nav button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const s of $$(".tab")) s.hidden = s.id !== "tab-" + name;
    // The map stays beside the alert list and beside the compose form (draw on it while composing).
    const withMap = name === "map" || name === "compose";
    $("#workspace").hidden = !withMap;
    $("#workspace").dataset.tab = name;
    $(".draw-tools").hidden = name !== "compose";
    if (name !== "compose" && state.map) { state.map.stopDrawing(); state.map.setTarget([]); }
    if (name === "compose" && state.map) targetChanged();
    if (name === "audit") refreshAudit(true);
    if (name === "accounts") refreshAccounts();
  }

  // Lists are refreshed from several places at once (sign-in, after every action, the language
  // switch): an answer to an older request must never overwrite a newer one already shown.
  // An answer identical to what is on screen (the minute's refresh, most of the time) is not
  // drawn again: rows an operator is about to click stay the same elements, focus stays put.
  function newestOnly(load, render) {
    let started = 0, shown = 0, last = null;
    return async () => {
      const n = ++started;
      const data = await load();
      if (n <= shown) return;
      shown = n;
      const key = state.lang + "|" + state.renderEpoch + "|" + JSON.stringify(data);
      if (key === last) return;
      last = key;
      render(data);
    };
  }

  async function refreshAll() {
    await refreshNames();
    await Promise.all([refreshMap(), refreshNotices(), refreshShelters(), refreshSafety()]);
  }

  // Who is who, for the names on notices: the accounts (administrators may list them) and the
  // audit log's actors of notice actions (operators may read it, within their scope).
  async function refreshNames() {
    const names = { [state.me.id]: state.me.display_name };
    try {
      if (state.me.role === "admin") for (const a of await api("GET", "/v1/staff/accounts")) names[a.id] = a.display_name;
      else if (state.me.role !== "viewer") {
        for (const e of await api("GET", "/v1/staff/audit?target_type=notice&limit=500")) {
          if (e.actor && e.actor.id != null && !names[e.actor.id]) names[e.actor.id] = e.actor.username;
        }
      }
    } catch (e) { /* names are a help, not a requirement: ids are shown instead */ }
    if (JSON.stringify(names) !== JSON.stringify(state.names)) state.renderEpoch++;  // rows show names: draw them again
    state.names = names;
  }

  const refreshMap = newestOnly(() => Promise.all([
    api("GET", "/v1/staff/notices?state=issued"), api("GET", "/v1/staff/reports/active-alerts"),
    api("GET", "/v1/staff/shelters?limit=5000"),
  ]), ([notices, alerts, shelters]) => {
    state.map.setNotices(notices.filter((n) => n.msg_type !== "cancel"), t("drill_map_label"));
    const unknown = state.map.setAlerts(alerts, t("drill_map_label"));
    state.map.setShelters(shelters);
    state.alerts = alerts;
    $("#alerts-updated").textContent = `${t("updated_at")} ${when(new Date().toISOString())}`;
    const sorted = [...alerts].sort((a, b) => (a.is_drill - b.is_drill) || (b.level - a.level));
    $("#alert-list").replaceChildren(...sorted.map((a) => {
      const places = [...new Set((a.area_codes || []).map((c) => {
        const area = state.map.resolve(c, a.category); return area ? area.name : c;
      }))];
      const li = el("li", { "data-alert-id": a.alert_id, "data-level": a.level, class: `alert-item lvl${a.level}${a.is_drill ? " drill" : ""}`,
                            tabIndex: 0, title: t("zoom_to") },
        el("span", { class: `badge lvl${a.level}` }, String(a.level)),
        a.is_drill ? el("span", { class: "drill-badge" }, t("drill_label")) : "",
        a.life_critical ? el("span", { class: "critical-badge" }, t("life_critical")) : "",
        el("strong", {}, a.headline || a.category),
        el("div", { class: "places" }, places.join("・")),
        el("div", { class: "muted" }, `${t("cat_" + a.category) !== "cat_" + a.category ? t("cat_" + a.category) : a.category} · ${when(a.issued_at)}`));
      const zoom = () => state.map.fitGeometries(state.map.alertGeoms[a.alert_id] || []);
      li.addEventListener("click", zoom);
      li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") zoom(); });
      return li;
    }));
    $("#alert-unknown").textContent = unknown.length ? `${t("not_drawn")}: ${[...new Set(unknown)].join(", ")}` : "";
    if (!alerts.length) $("#alert-list").replaceChildren(el("li", { class: "muted" }, t("no_alerts")));
  });

  // --- compose ------------------------------------------------------------------------
  async function loadComposeOptions() {
    const mine = state.areas.filter((a) => !state.me.municipality_code || a.code === state.me.municipality_code);
    $("#c-municipalities").replaceChildren(...mine.map((a) => el("option", { value: a.code }, `${a.name} (${a.code})`)));
    const scoped = state.me.municipality_code ? state.areas.filter((a) => a.code === state.me.municipality_code) : state.areas;
    $("#sh-muni").replaceChildren(el("option", { value: "" }, t("all_municipalities")),
      ...scoped.map((a) => el("option", { value: a.code }, a.name)));
    $("#ac-muni").replaceChildren(el("option", { value: "" }, t("whole_prefecture")),
      ...state.areas.map((a) => el("option", { value: a.code }, `${a.name} (${a.code})`)));
    const [templates, districts, shelters] = await Promise.all([
      api("GET", "/v1/staff/notice-templates"), api("GET", "/v1/staff/districts"), api("GET", "/v1/staff/shelters?limit=5000"),
    ]);
    $("#c-template").replaceChildren(...templates.map((x) => el("option", { value: x.key }, x.name[state.lang] || x.name.ja)));
    state.districts = Object.fromEntries(districts.map((d) => [String(d.id), d]));
    $("#c-districts").replaceChildren(...districts.map((d) => el("option", { value: d.id }, `${d.name} (${d.municipality_code})`)));
    $("#c-shelters").replaceChildren(...shelters.map((s) => el("option", { value: s.id }, s.name)));
  }

  function kindChanged() {
    const k = $("#c-kind").value;
    for (const kind of ["municipality", "districts", "polygon"]) for (const e of $$(".k-" + kind)) e.hidden = kind !== k;
    $(".map-toolbar").classList.toggle("draw-wanted", k === "polygon");
    targetChanged();
  }

  // What the form targets now, outlined on the map (a correction shows its new area here).
  function targetChanged() {
    const k = $("#c-kind").value;
    const chosen = (sel) => Array.from($(sel).selectedOptions).map((o) => o.value);
    const geoms = k === "municipality" ? chosen("#c-municipalities").map((c) => state.map.areaPaths[c])
      : k === "districts" ? chosen("#c-districts").map((id) => (state.districts[id] || {}).geometry) : [];
    state.map.setTarget(geoms.filter(Boolean));
  }

  async function saveDraft(ev) {
    ev.preventDefault();
    $("#compose-error").textContent = "";
    const kind = $("#c-kind").value;
    const selected = (sel) => Array.from($(sel).selectedOptions).map((o) => o.value);
    const body = {
      level: Number($("#c-level").value), is_drill: $("#c-drill").checked, template: $("#c-template").value,
      target_kind: kind, reason: $("#c-reason").value || null, shelter_ids: selected("#c-shelters"),
    };
    if (kind === "municipality") body.municipality_codes = selected("#c-municipalities");
    if (kind === "districts") body.district_ids = selected("#c-districts").map(Number);
    if (kind === "polygon") body.polygon = state.map.drawnPolygon();
    if (kind === "polygon" && !body.polygon) { $("#compose-error").textContent = t("draw_first"); return; }
    try {
      let n;
      if (state.correcting) {
        // A correction: level, area, reason and shelters may all change; the original's drill
        // flag and template stay (the API keeps them).
        const { is_drill, template, ...changes } = body;
        n = await api("POST", `/v1/staff/notices/${state.correcting.id}/correction`, changes);
        flash(`${t("correction_made")} (#${n.id})`);
        endCorrection();
      } else {
        n = await api("POST", "/v1/staff/notices", body);
        flash(`${t("saved")} (#${n.id})`);
      }
      state.map.stopDrawing(); state.map.clearDrawing();
      await refreshNotices();
      showTab("notices");
      showPreview(n);  // who it would tell what, before it is submitted
    } catch (e) { $("#compose-error").textContent = e.message; }
  }

  // Correct an issued notice in the compose form, prefilled with what was issued.
  function startCorrection(n) {
    state.correcting = n;
    showTab("compose");
    $("#compose-correcting").hidden = false;
    $("#compose-correcting").textContent = t("correcting").replace("{id}", n.id);
    $("#c-cancel-correction").hidden = false;
    $("#c-save").textContent = t("save_correction");
    $("#c-level").value = String(n.level);
    $("#c-drill").checked = n.is_drill; $("#c-drill").disabled = true; drillChanged();
    $("#c-kind").value = n.target_kind; kindChanged();
    const pick = (sel, values) => { for (const o of $(sel).options) o.selected = values.includes(o.value); };
    pick("#c-municipalities", n.municipality_codes);
    pick("#c-districts", n.district_ids.map(String));
    pick("#c-shelters", n.shelter_ids);
    $("#c-reason").value = n.reason || "";
    targetChanged();
    state.map.stopDrawing();
    if (n.target_kind === "polygon" && n.geometry) {
      startDraw();
      const ring = (n.geometry.type === "MultiPolygon" ? n.geometry.coordinates[0][0] : n.geometry.coordinates[0]).slice(0, -1);
      state.map.drawing = ring.map(([x, y]) => [x, y]); state.map._renderDrawing();
      state.map.fitGeometries([n.geometry]);
    } else {
      const geoms = n.municipality_codes.map((c) => state.map.areaPaths[c]).filter(Boolean);
      if (geoms.length) state.map.fitGeometries(geoms);
    }
  }

  function endCorrection() {
    state.correcting = null;
    $("#compose-correcting").hidden = true; $("#c-cancel-correction").hidden = true;
    $("#c-save").textContent = t("save_draft"); $("#c-drill").disabled = false;
  }

  function drillChanged() { $("#compose-form").classList.toggle("drill", $("#c-drill").checked); }

  function startDraw() {
    state.map.startDrawing((n) => { $("#c-draw-count").textContent = n ? `${n}` : "0"; });
  }

  // --- notices and the approval queue -----------------------------------------------------
  function targetLabel(n) {
    const names = n.municipality_codes.map(areaName).join("・");
    return `${names} ${t("kind_" + n.target_kind)}`;
  }

  // Who did what when: created, approved, issued (with names), so a night shift can read the history.
  function timelineCell(n) {
    const lines = [];
    if (n.created_at) lines.push(`${t("tl_created")} ${when(n.created_at)} ${who(n.created_by)}`);
    if (n.approved_at) lines.push(`${t("tl_approved")} ${when(n.approved_at)} ${who(n.approved_by)}`);
    if (n.issued_at) lines.push(`${t("tl_issued")} ${when(n.issued_at)} ${who(n.issued_by)}`);
    if (n.rejection_note) lines.push(`${t("tl_rejected")}: ${n.rejection_note}`);
    if (n.msg_type === "cancel" && n.reason) lines.push(`${t("tl_cancel_note")}: ${n.reason}`);
    return el("td", { class: "timeline" }, ...lines.map((l) => el("div", {}, l)));
  }

  function action(name, n, fn) {
    return el("button", { type: "button", class: "act-" + name, "data-id": n.id, onclick: fn }, t(name));
  }

  async function act(fn, okMsg) {
    try { await fn(); flash(okMsg); await refreshAll(); } catch (e) { flash(e.message, true); }
  }

  function noticeRow(n) {
    const buttons = [];
    const mine = n.created_by === state.me.id || n.submitted_by === state.me.id;
    const operator = OPERATOR();
    if (operator && n.state === "draft") {
      buttons.push(action("submit", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/submit`), t("submitted"))));
      buttons.push(action("discard", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/discard`), t("st_discarded"))));
    }
    if (operator && n.state === "pending_approval" && !mine) {
      buttons.push(action("approve", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/approve`), t("approved"))));
      buttons.push(action("reject", n, async () => {
        const note = await askNote(`${t("reject")} #${n.id}`, t("reject_note"), t("reject"));
        if (note !== null) act(() => api("POST", `/v1/staff/notices/${n.id}/reject`, { note }), t("rejected"));
      }));
    }
    if (operator && n.state === "issued" && n.msg_type !== "cancel") {
      // A correction opens the compose form prefilled: level and area may change; submit it like any draft.
      buttons.push(action("correct", n, () => startCorrection(n)));
      // A cancellation goes out at once to everyone who was told: the API requires the reason.
      buttons.push(action("cancel", n, async () => {
        const note = await askNote(`${t("cancel")} #${n.id} — ${targetLabel(n)}`, t("confirm_cancel"), t("cancel_send"));
        if (note !== null) act(() => api("POST", `/v1/staff/notices/${n.id}/cancel`, { note }), t("cancelled"));
      }));
    }
    // Before it goes out (the author before submitting, the approver before approving): who would be told what.
    if (["draft", "pending_approval"].includes(n.state)) buttons.push(action("preview", n, () => showPreview(n)));
    if (n.issued_at) buttons.push(action("report", n, () => showReport(n.id)));
    const level = el("td", {}, el("span", { class: `badge lvl${n.level}` }, String(n.level)), " ", t("lv" + n.level),
      n.is_drill ? el("span", { class: "drill-badge" }, t("drill_label")) : "",
      n.needs_approval ? el("div", { class: "muted" }, t("need_approval")) : "");
    return el("tr", { "data-id": n.id, "data-state": n.state, class: n.is_drill ? "drill" : "" },
      el("td", {}, String(n.id)), el("td", { class: "state" }, `${t("st_" + n.state)} (${t("mt_" + n.msg_type)})`),
      level, el("td", {}, targetLabel(n)), timelineCell(n), el("td", { class: "actions" }, ...buttons));
  }

  // The preview runs the notice through the fan-out's own rules on the residents' current
  // state, sends and keeps nothing (POST /v1/staff/notices/{id}/preview).
  async function showPreview(n) {
    const panel = $("#preview");
    $("#preview-title").textContent = `#${n.id} ${t("lv" + n.level)} — ${targetLabel(n)}${n.is_drill ? ` [${t("drill_label")}]` : ""}`;
    $("#preview-summary").textContent = t("loading");
    panel.hidden = false; panel.dataset.noticeId = n.id; panel.classList.toggle("drill", n.is_drill);
    let pv;
    try { pv = await api("POST", `/v1/staff/notices/${n.id}/preview`); } catch (e) { $("#preview-summary").textContent = e.message; return; }
    $("#preview-summary").replaceChildren(
      el("strong", { "data-field": "residents" }, String(pv.residents)), ` ${t("pv_residents")} · `,
      el("span", { class: `badge lvl${pv.level}` }, String(pv.level)), ` ${t("pv_level")}`,
      pv.life_critical ? el("span", { class: "critical-badge" }, t("life_critical")) : "");
    const actionName = (a) => (t("pv_" + a) !== "pv_" + a ? t("pv_" + a) : a);
    $("#preview-actions tbody").replaceChildren(...Object.entries(pv.actions).map(([a, c]) => el("tr", { "data-action": a },
      el("td", {}, actionName(a)), el("td", {}, String(c)))));
    $("#preview-messages tbody").replaceChildren(...pv.messages.map((m) => el("tr", { "data-language": m.language, "data-action": m.action },
      el("td", {}, actionName(m.action)), el("td", {}, m.language), el("td", {}, m.title), el("td", { class: "msg-body" }, m.body))));
    panel.scrollIntoView({ block: "start" });
  }

  const refreshNotices = newestOnly(() => api("GET", "/v1/staff/notices"), (notices) => {
    $("#queue tbody").replaceChildren(...notices.filter((n) => n.state === "pending_approval").map(noticeRow));
    $("#notices tbody").replaceChildren(...notices.map(noticeRow));
  });

  // --- shelters ------------------------------------------------------------------------
  // Shelters: one page of the search at a time (the prefecture has 2,600+); X-Total-Count says how many.
  const SHELTER_PAGE = 200;
  async function loadShelters() {
    const q = new URLSearchParams({ limit: SHELTER_PAGE, offset: state.shOffset || 0 });
    if (state.shQ) q.set("q", state.shQ);
    if ($("#sh-muni").value) q.set("municipality_code", $("#sh-muni").value);
    if ($("#sh-open").value) q.set("is_open", $("#sh-open").value);
    const r = await fetch(`/v1/staff/shelters?${q}`, { headers: { Authorization: "Bearer " + state.token } });
    if (r.status === 401) { signOut(); flash(t("session_expired"), true); throw new Error("unauthorized"); }
    return { rows: await r.json(), total: Number(r.headers.get("x-total-count") || 0) };
  }

  async function printQr(id) {  // the A4 sheet (name, code, instructions) in a new window, ready to print
    const r = await fetch(`/v1/staff/shelters/${encodeURIComponent(id)}/checkin-code.svg`,
      { headers: { Authorization: "Bearer " + state.token } });
    if (!r.ok) { flash(r.statusText, true); return; }
    window.open(URL.createObjectURL(await r.blob()), "_blank");
  }

  async function showRoster() {  // counts only here; every read is audited on the server
    const ro = await api("GET", "/v1/staff/roster"), c = ro.counts;
    $("#roster-summary").textContent = t("roster_line").replace("{in}", c.checked_in.people)
      .replace("{inh}", c.checked_in.households).replace("{out}", c.outside.people).replace("{outh}", c.outside.households)
      .replace("{help}", c.need_help).replace("{unanswered}", c.safety_checks_unanswered);
  }

  const refreshShelters = newestOnly(loadShelters, ({ rows: shelters, total }) => {
    const operator = ["prefecture", "municipal"].includes(state.me.role);
    const from = total ? (state.shOffset || 0) + 1 : 0;
    state.shTotal = total;
    $("#sh-count").textContent = `${from}–${(state.shOffset || 0) + shelters.length} / ${total}`;
    $("#roster-csv").hidden = !operator;
    $("#shelters tbody").replaceChildren(...shelters.map((s) => {
      const occ = el("input", { type: "number", min: 0, value: s.occupancy ?? "", class: "occ", "data-id": s.id });
      const cap = el("input", { type: "number", min: 0, value: s.capacity ?? "", class: "cap", "data-id": s.id });
      const buttons = operator ? [
        el("button", { type: "button", class: s.is_open ? "act-close" : "act-open", "data-id": s.id, onclick: () =>
          act(() => api("POST", `/v1/staff/shelters/${encodeURIComponent(s.id)}/${s.is_open ? "close" : "open"}`), t(s.is_open ? "close" : "open")) },
          t(s.is_open ? "close" : "open")),
        el("button", { type: "button", class: "act-save", "data-id": s.id, onclick: () => act(() => api("PATCH",
          `/v1/staff/shelters/${encodeURIComponent(s.id)}`, { occupancy: occ.value === "" ? null : Number(occ.value),
            capacity: cap.value === "" ? null : Number(cap.value) }), t("save")) }, t("save")),
        el("button", { type: "button", class: "act-qr", "data-id": s.id, onclick: () => printQr(s.id) }, t("qr")),
      ] : [];
      const pick = el("input", { type: "checkbox", class: "sh-pick", "data-id": s.id, checked: state.shPicked.has(s.id),
        onchange: (ev) => { if (ev.target.checked) state.shPicked.set(s.id, s.municipality_code); else state.shPicked.delete(s.id); pickedChanged(); } });
      return el("tr", { "data-id": s.id, "data-open": String(!!s.is_open) },
        ...(operator ? [el("td", { class: "operator-only" }, pick)] : []), el("td", {}, s.name), el("td", {}, t(s.is_open ? "opened" : "closed")),
        el("td", {}, operator ? cap : String(s.capacity ?? "-")), el("td", {}, operator ? occ : String(s.occupancy ?? "-")),
        el("td", { class: "checked-in" }, String(s.checked_in ?? 0)),
        el("td", { class: "crowd sh-" + s.crowding }, t("crowd_" + s.crowding)), el("td", {}, ...buttons));
    }));
    pickedChanged();
  });

  // Bulk: the shelters ticked (on any page of the search) opened or closed together, one
  // request per municipality (POST /v1/staff/shelters/bulk takes one municipality's shelters).
  function pickedChanged() {
    $("#sh-selected").textContent = t("selected_n").replace("{n}", state.shPicked.size);
    $("#sh-bulk-open").disabled = $("#sh-bulk-close").disabled = !state.shPicked.size;
    const boxes = $$("#shelters .sh-pick");
    $("#sh-all").checked = boxes.length > 0 && boxes.every((b) => b.checked);
  }

  async function bulkShelters(action) {
    const byMuni = {};
    for (const [id, muni] of state.shPicked) (byMuni[muni] = byMuni[muni] || []).push(id);
    const total = state.shPicked.size;
    if (!confirm(t("confirm_bulk_" + action).replace("{n}", total))) return;
    await act(async () => {
      let changed = 0;
      for (const [muni, ids] of Object.entries(byMuni)) {
        changed += (await api("POST", "/v1/staff/shelters/bulk", { municipality_code: muni, action, shelter_ids: ids })).changed;
      }
      state.shPicked.clear(); pickedChanged();
      return changed;
    }, t("bulk_done_" + action).replace("{n}", total));
  }

  // --- figures -------------------------------------------------------------------------
  async function showReport(noticeId) {
    const rep = await api("GET", `/v1/staff/reports/notices/${noticeId}`);
    state.reportNotice = noticeId;
    $("#report-title").textContent = `#${noticeId}`;
    // The notice's chain in order (issued, corrected, cancelled), each step with its delivery figures.
    $("#report-table tbody").replaceChildren(...rep.messages.map((m) => el("tr", { "data-alert-id": m.alert_id },
      el("td", { title: m.issued_at }, when(m.issued_at)), el("td", {}, `${t("mt_" + m.msg_type)} #${m.notice_id}`),
      el("td", {}, el("span", { class: `badge lvl${m.level}` }, String(m.level)), m.is_drill ? el("span", { class: "drill-badge" }, t("drill_label")) : ""), el("td", { "data-field": "targeted" }, String(m.targeted)),
      el("td", { "data-field": "sent" }, String(m.pushes.sent)), el("td", { "data-field": "failed" }, String(m.pushes.failed)),
      el("td", {}, m.seconds_to_first_push ?? "-"), el("td", {}, m.seconds_to_last_push ?? "-"),
      el("td", {}, Object.entries(m.by_provider).map(([p, st]) => `${p}: ${Object.entries(st).map(([k, v]) => k + "=" + v).join(" ")}`).join("; ")))));
    $("#report").hidden = false;
    showTab("figures");
  }

  // ``total`` is every safety check sent, answered or not: answers are those with a status.
  const refreshSafety = newestOnly(() => api("GET", "/v1/staff/reports/safety"), (rep) => {
    $("#safety tbody").replaceChildren(...rep.by_municipality.map((m) => {
      const unanswered = m.counts.unanswered || 0;
      return el("tr", { "data-code": m.municipality_code },
        el("td", {}, areaName(m.municipality_code)), el("td", { "data-field": "checks" }, String(m.total)),
        el("td", { "data-field": "answered" }, String(m.total - unanswered)), el("td", { "data-field": "unanswered" }, String(unanswered)),
        el("td", { "data-field": "need_help", class: m.counts.need_help ? "need-help" : "" }, String(m.counts.need_help || 0)),
        el("td", {}, Object.entries(m.counts).filter(([k]) => k !== "unanswered").map(([k, v]) => `${t("ans_" + k) !== "ans_" + k ? t("ans_" + k) : k}: ${v}`).join(", ")));
    }));
  });

  // --- audit log ----------------------------------------------------------------------------
  const AUDIT_PAGE = 100;
  async function refreshAudit(fromTop) {
    if (fromTop) state.auditBefore = null;
    const q = new URLSearchParams({ limit: AUDIT_PAGE });
    if ($("#au-type").value) q.set("target_type", $("#au-type").value);
    if (state.auditBefore) q.set("before_id", state.auditBefore);
    let rows;
    try { rows = await api("GET", `/v1/staff/audit?${q}`); } catch (e) { flash(e.message, true); return; }
    const trs = rows.map((e) => el("tr", { "data-id": e.id, "data-action": e.action },
      el("td", { title: e.at || "" }, when(e.at)), el("td", {}, e.actor && e.actor.username ? e.actor.username + (e.actor.role ? ` (${t("role_" + e.actor.role)})` : "") : t("system")),
      el("td", {}, t("au_" + e.action) !== "au_" + e.action ? t("au_" + e.action) : e.action),
      el("td", {}, `${e.target.type} ${e.target.id ?? ""}`), el("td", {}, e.municipality_code ? areaName(e.municipality_code) : ""),
      el("td", { class: "change" }, auditChange(e))));
    if (fromTop || !state.auditBefore) $("#audit tbody").replaceChildren(...trs); else $("#audit tbody").append(...trs);
    state.auditBefore = rows.length ? rows[rows.length - 1].id : state.auditBefore;
    $("#au-more").hidden = rows.length < AUDIT_PAGE;
  }

  function auditChange(e) {  // the fields that changed, before → after
    const b = e.before || {}, a = e.after || {};
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k])
      && !["geometry", "messages", "updated_at"].includes(k));
    const fmt = (v) => (v === undefined || v === null ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));
    return keys.slice(0, 8).map((k) => `${k}: ${e.before ? fmt(b[k]) + " → " : ""}${fmt(a[k])}`).join("; ");
  }

  // --- staff accounts (administrators) ---------------------------------------------------------
  async function refreshAccounts() {
    if (state.me.role !== "admin") return;
    let accounts;
    try { accounts = await api("GET", "/v1/staff/accounts"); } catch (e) { flash(e.message, true); return; }
    $("#accounts tbody").replaceChildren(...accounts.map((a) => {
      const self = a.id === state.me.id;
      const toggle = el("button", { type: "button", class: a.is_active ? "act-disable" : "act-enable", "data-id": a.id, disabled: self,
        onclick: () => act(() => api("PATCH", `/v1/staff/accounts/${a.id}`, { is_active: !a.is_active }).then(refreshAccounts),
          t(a.is_active ? "disabled_ok" : "enabled_ok")) }, t(a.is_active ? "disable" : "enable"));
      return el("tr", { "data-id": a.id, "data-username": a.username, "data-active": String(a.is_active), class: a.is_active ? "" : "inactive" },
        el("td", {}, String(a.id)), el("td", {}, a.username), el("td", {}, a.display_name), el("td", {}, t("role_" + a.role)),
        el("td", {}, a.municipality_code ? areaName(a.municipality_code) : t("whole_prefecture")),
        el("td", { class: "status" }, t(a.is_active ? "active" : "inactive")), el("td", {}, when(a.last_login_at)), el("td", {}, toggle));
    }));
  }

  async function createAccount(ev) {
    ev.preventDefault();
    $("#account-error").textContent = "";
    const role = $("#ac-role").value;
    const body = { username: $("#ac-username").value.trim(), display_name: $("#ac-display").value.trim(),
                   password: $("#ac-password").value, role, municipality_code: $("#ac-muni").value || null };
    if (role === "municipal" && !body.municipality_code) { $("#account-error").textContent = t("muni_required"); return; }
    try {
      const a = await api("POST", "/v1/staff/accounts", body);
      $("#account-form").reset(); accountRoleChanged();
      flash(`${t("account_created")}: ${a.username}`);
      await refreshAccounts();
    } catch (e) { $("#account-error").textContent = e.message; }
  }

  function accountRoleChanged() {  // municipal operators (and viewers) may have a municipality; the others are prefecture-wide
    const role = $("#ac-role").value, sel = $("#ac-muni");
    sel.disabled = role === "admin" || role === "prefecture";
    if (sel.disabled) sel.value = "";
  }

  // --- wiring --------------------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    $("#login-form").addEventListener("submit", signIn);
    $("#logout").addEventListener("click", signOut);
    $("#lang-toggle").addEventListener("click", () => {
      state.lang = state.lang === "ja" ? "en" : "ja"; localStorage.setItem("bousai.lang", state.lang); applyLang();
      if (state.me) refreshAll();
    });
    for (const b of $$("nav button")) b.addEventListener("click", () => showTab(b.dataset.tab));
    let searchTimer = null;
    $("#sh-q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(() => {
      state.shQ = $("#sh-q").value.trim(); state.shOffset = 0; refreshShelters(); }, 250); });
    $("#sh-prev").addEventListener("click", () => { state.shOffset = Math.max(0, (state.shOffset || 0) - SHELTER_PAGE); refreshShelters(); });
    $("#sh-next").addEventListener("click", () => {
      if ((state.shOffset || 0) + SHELTER_PAGE < (state.shTotal || 0)) { state.shOffset = (state.shOffset || 0) + SHELTER_PAGE; refreshShelters(); } });
    for (const id of ["#sh-muni", "#sh-open"]) $(id).addEventListener("change", () => { state.shOffset = 0; refreshShelters(); });
    $("#sh-all").addEventListener("change", () => {
      const on = $("#sh-all").checked;
      for (const b of $$("#shelters .sh-pick")) { b.checked = on; b.dispatchEvent(new Event("change")); }
    });
    $("#sh-bulk-open").addEventListener("click", () => bulkShelters("open"));
    $("#sh-bulk-close").addEventListener("click", () => bulkShelters("close"));
    $("#roster-show").addEventListener("click", () => showRoster().catch((e) => flash(e.message, true)));
    $("#roster-csv").addEventListener("click", () => download("/v1/staff/roster.csv", "roster.csv"));
    $("#c-kind").addEventListener("change", kindChanged);
    $("#c-drill").addEventListener("change", drillChanged);
    $("#c-municipalities").addEventListener("change", targetChanged);
    $("#c-districts").addEventListener("change", targetChanged);
    $("#compose-form").addEventListener("submit", saveDraft);
    $("#c-draw-start").addEventListener("click", () => { if ($("#c-kind").value !== "polygon") { $("#c-kind").value = "polygon"; kindChanged(); } startDraw(); });
    $("#c-draw-clear").addEventListener("click", () => state.map.clearDrawing());
    $("#c-cancel-correction").addEventListener("click", () => { endCorrection(); state.map.stopDrawing(); showTab("notices"); });
    $("#zoom-in").addEventListener("click", () => state.map.zoomIn());
    $("#zoom-out").addEventListener("click", () => state.map.zoomOut());
    $("#zoom-reset").addEventListener("click", () => state.map.reset());
    $("#au-type").addEventListener("change", () => refreshAudit(true));
    $("#preview-close").addEventListener("click", () => { $("#preview").hidden = true; });
    $("#au-more").addEventListener("click", () => refreshAudit(false));
    $("#account-form").addEventListener("submit", createAccount);
    $("#ac-role").addEventListener("change", accountRoleChanged);
    $("#report-csv").addEventListener("click", () => download(`/v1/staff/reports/notices/${state.reportNotice}.csv`, `notice-${state.reportNotice}.csv`));
    $("#safety-csv").addEventListener("click", () => download("/v1/staff/reports/safety.csv", "safety.csv"));
    applyLang();
    // For the map's own tests and for operators' browser tooling: the projection, read-only use.
    window.BousaiConsole = { map: () => state.map };
    if (state.token) start().catch(() => signOut());
    // What is in force changes by the minute on a bad night: the map, its alert list and the
    // notices refresh themselves (not the shelter table, where an operator may be typing).
    setInterval(() => {
      if (!state.me || document.hidden) return;
      refreshMap().catch(() => {}); refreshNotices().catch(() => {});
    }, AUTO_REFRESH_MS);
  });
})();
