// Operators' console: sign in, map, compose, approve, shelters, delivery and safety figures.
(function () {
  "use strict";
  const $ = (sel) => document.querySelector(sel);
  const $$ = (sel) => Array.from(document.querySelectorAll(sel));
  const state = { lang: localStorage.getItem("bousai.lang") || "ja", token: sessionStorage.getItem("bousai.token"),
                  me: null, map: null, areas: [], reportNotice: null };
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
    if (!r.ok) { throw new Error((data && data.error) || r.statusText); }
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
      const r = await fetch("/v1/areas?kind=municipality&geometry=true");
      state.areas = await r.json();
      state.map = new BousaiMap($("#map"));
      state.map.setAreas(state.areas);
    }
    renderWho();
    await loadComposeOptions();
    await refreshAll();
  }

  // --- tabs ---------------------------------------------------------------------------
  function showTab(name) {
    for (const b of $$("nav button")) b.classList.toggle("active", b.dataset.tab === name);
    for (const s of $$(".tab")) s.hidden = s.id !== "tab-" + name;
    if (name === "compose") $("#tab-map").hidden = false; // draw on the map while composing
  }

  // Lists are refreshed from several places at once (sign-in, after every action, the language
  // switch): an answer to an older request must never overwrite a newer one already shown.
  function newestOnly(load, render) {
    let started = 0, shown = 0;
    return async () => {
      const n = ++started;
      const data = await load();
      if (n > shown) { shown = n; render(data); }
    };
  }

  async function refreshAll() {
    await Promise.all([refreshMap(), refreshNotices(), refreshShelters(), refreshSafety()]);
  }

  const refreshMap = newestOnly(() => Promise.all([
    api("GET", "/v1/staff/notices?state=issued"), api("GET", "/v1/staff/reports/active-alerts"),
    api("GET", "/v1/staff/shelters?limit=5000"),
  ]), ([notices, alerts, shelters]) => {
    state.map.setNotices(notices.filter((n) => n.msg_type !== "cancel"));
    state.map.setAlerts(alerts);
    state.map.setShelters(shelters);
    $("#alert-list").replaceChildren(...alerts.map((a) => el("li", { "data-alert-id": a.alert_id },
      (a.is_drill ? `[${t("drill_label")}] ` : "") + (a.headline || a.category))));
  });

  // --- compose ------------------------------------------------------------------------
  async function loadComposeOptions() {
    const mine = state.areas.filter((a) => !state.me.municipality_code || a.code === state.me.municipality_code);
    $("#c-municipalities").replaceChildren(...mine.map((a) => el("option", { value: a.code }, `${a.name} (${a.code})`)));
    const [templates, districts, shelters] = await Promise.all([
      api("GET", "/v1/staff/notice-templates"), api("GET", "/v1/staff/districts"), api("GET", "/v1/staff/shelters?limit=5000"),
    ]);
    $("#c-template").replaceChildren(...templates.map((x) => el("option", { value: x.key }, x.name[state.lang] || x.name.ja)));
    $("#c-districts").replaceChildren(...districts.map((d) => el("option", { value: d.id }, `${d.name} (${d.municipality_code})`)));
    $("#c-shelters").replaceChildren(...shelters.map((s) => el("option", { value: s.id }, s.name)));
  }

  function kindChanged() {
    const k = $("#c-kind").value;
    for (const kind of ["municipality", "districts", "polygon"]) for (const e of $$(".k-" + kind)) e.hidden = kind !== k;
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
    try {
      const n = await api("POST", "/v1/staff/notices", body);
      flash(`${t("saved")} (#${n.id})`);
      state.map.stopDrawing(); state.map.clearDrawing();
      await refreshNotices();
      showTab("notices");
    } catch (e) { $("#compose-error").textContent = e.message; }
  }

  // --- notices and the approval queue -----------------------------------------------------
  function targetLabel(n) {
    const names = n.municipality_codes.map((c) => (state.areas.find((a) => a.code === c) || {}).name || c).join("・");
    return `${names} ${t("kind_" + n.target_kind)}`;
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
    const operator = ["prefecture", "municipal"].includes(state.me.role);
    if (operator && n.state === "draft") {
      buttons.push(action("submit", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/submit`), t("submitted"))));
      buttons.push(action("discard", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/discard`), t("st_discarded"))));
    }
    if (operator && n.state === "pending_approval" && !mine) {
      buttons.push(action("approve", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/approve`), t("approved"))));
      buttons.push(action("reject", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/reject`,
        { note: prompt(t("reject_note")) || "-" }), t("rejected"))));
    }
    if (operator && n.state === "issued" && n.msg_type !== "cancel") {
      buttons.push(action("correct", n, () => {
        // A ready-made correction: same content, new level (0 = 解除 / lifted); submit it like any draft.
        const level = prompt(t("new_level"), String(n.level));
        if (level === null) return;
        act(() => api("POST", `/v1/staff/notices/${n.id}/correction`, { level: Number(level) }), t("correction_made"));
      }));
      buttons.push(action("cancel", n, () => act(() => api("POST", `/v1/staff/notices/${n.id}/cancel`, {}), t("cancelled"))));
    }
    if (n.issued_at) buttons.push(action("report", n, () => showReport(n.id)));
    const level = t("lv" + n.level) + (n.is_drill ? ` [${t("drill_label")}]` : "") + (n.needs_approval ? ` — ${t("need_approval")}` : "");
    return el("tr", { "data-id": n.id, "data-state": n.state },
      el("td", {}, String(n.id)), el("td", { class: "state" }, `${t("st_" + n.state)} (${t("mt_" + n.msg_type)})`),
      el("td", {}, level), el("td", {}, targetLabel(n)), el("td", {}, ...buttons));
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
      return el("tr", { "data-id": s.id }, el("td", {}, s.name), el("td", {}, t(s.is_open ? "opened" : "closed")),
        el("td", {}, operator ? cap : String(s.capacity ?? "-")), el("td", {}, operator ? occ : String(s.occupancy ?? "-")),
        el("td", { class: "checked-in" }, String(s.checked_in ?? 0)),
        el("td", { class: "crowd sh-" + s.crowding }, t("crowd_" + s.crowding)), el("td", {}, ...buttons));
    }));
  });

  // --- figures -------------------------------------------------------------------------
  async function showReport(noticeId) {
    const rep = await api("GET", `/v1/staff/reports/notices/${noticeId}`);
    state.reportNotice = noticeId;
    $("#report-title").textContent = `#${noticeId}`;
    $("#report-table tbody").replaceChildren(...rep.messages.map((m) => el("tr", { "data-alert-id": m.alert_id },
      el("td", {}, t("mt_" + m.msg_type)), el("td", { "data-field": "targeted" }, String(m.targeted)),
      el("td", { "data-field": "sent" }, String(m.pushes.sent)), el("td", { "data-field": "failed" }, String(m.pushes.failed)),
      el("td", {}, m.seconds_to_first_push ?? "-"), el("td", {}, m.seconds_to_last_push ?? "-"),
      el("td", {}, Object.entries(m.by_provider).map(([p, st]) => `${p}: ${Object.entries(st).map(([k, v]) => k + "=" + v).join(" ")}`).join("; ")))));
    $("#report").hidden = false;
    showTab("figures");
  }

  const refreshSafety = newestOnly(() => api("GET", "/v1/staff/reports/safety"), (rep) => {
    $("#safety tbody").replaceChildren(...rep.by_municipality.map((m) => el("tr", {},
      el("td", {}, (state.areas.find((a) => a.code === m.municipality_code) || {}).name || m.municipality_code),
      el("td", {}, String(m.total)), el("td", {}, Object.entries(m.counts).map(([k, v]) => `${k}: ${v}`).join(", ")))));
  });

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
    $("#roster-show").addEventListener("click", () => showRoster().catch((e) => flash(e.message, true)));
    $("#roster-csv").addEventListener("click", () => download("/v1/staff/roster.csv", "roster.csv"));
    $("#c-kind").addEventListener("change", kindChanged);
    $("#compose-form").addEventListener("submit", saveDraft);
    $("#c-draw-start").addEventListener("click", () => state.map.startDrawing((n) => { $("#c-draw-count").textContent = n ? `${n}` : ""; }));
    $("#c-draw-clear").addEventListener("click", () => state.map.clearDrawing());
    $("#report-csv").addEventListener("click", () => download(`/v1/staff/reports/notices/${state.reportNotice}.csv`, `notice-${state.reportNotice}.csv`));
    $("#safety-csv").addEventListener("click", () => download("/v1/staff/reports/safety.csv", "safety.csv"));
    applyLang();
    // For the map's own tests and for operators' browser tooling: the projection, read-only use.
    window.BousaiConsole = { map: () => state.map };
    if (state.token) start().catch(() => signOut());
  });
})();
