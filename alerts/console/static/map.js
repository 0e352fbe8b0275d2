// The prefecture drawn from the project's own boundary data: an SVG with an equirectangular
// projection scaled by cos(latitude). No tiles, no library, no network beyond this app: it
// works offline. Zoom (wheel, buttons) and pan (drag) move the viewBox; strokes keep their
// width on screen (vector-effect), shelters and drill hatching are resized to the zoom.
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const SCALE = 1000; // SVG units per degree of latitude
  const MAX_ZOOM = 128; // ~2 m a pixel on a 1,000-pixel map: a street
  const DRAG_PX = 4; // a press that moves less than this is a click (a vertex while drawing)
  const LEVELS = [0, 1, 2, 3, 4, 5];

  function svgEl(tag, attrs) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    return e;
  }

  function rings(geom, fn) {
    const polys = geom.type === "MultiPolygon" ? geom.coordinates : [geom.coordinates];
    for (const poly of polys) for (const ring of poly) fn(ring);
  }

  class BousaiMap {
    constructor(svg) {
      this.svg = svg;
      this.layers = {};
      this.defs = svgEl("defs");
      svg.appendChild(this.defs);
      for (const name of ["areas", "alerts", "notices", "target", "names", "shelters", "labels", "drawing"]) {
        const g = svgEl("g", { class: "layer-" + name });
        svg.appendChild(g);
        this.layers[name] = g;
      }
      this.kinds = {}; // kind → {code → {name, geometry}}
      this.drawing = null; // [[lon, lat], ...] while drawing
      this.zoom = 1;
      this._hatches();
      this._wirePointer();
      // Shown, hidden or resized: sizes meant in screen pixels follow.
      new ResizeObserver(() => { if (this.view) this._rescale(); }).observe(svg);
    }

    // --- areas and resolving codes -------------------------------------------------------
    setAreas(areas, kinds) {
      // ``areas``: municipalities (the base layer); ``kinds``: {kind: [area...]} every kind a code may name.
      this.kinds = {};
      for (const [kind, list] of Object.entries({ municipality: areas, ...(kinds || {}) })) {
        this.kinds[kind] = Object.fromEntries(list.filter((a) => a.geometry).map((a) => [a.code, a]));
      }
      let minX = 180, minY = 90, maxX = -180, maxY = -90;
      for (const a of areas) if (a.geometry) rings(a.geometry, (ring) => {
        for (const [x, y] of ring) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
      });
      this.lat0 = (minY + maxY) / 2;
      this.k = Math.cos(this.lat0 * Math.PI / 180);
      this.minX = minX; this.maxY = maxY;
      const w = (maxX - minX) * this.k * SCALE, h = (maxY - minY) * SCALE;
      this.full = { x: -5, y: -5, w: w + 10, h: h + 10 };
      this._setView({ ...this.full });
      this.layers.areas.replaceChildren();
      this.areaPaths = {};
      for (const a of areas) {
        if (!a.geometry) continue;
        const p = this._path(a.geometry, "muni");
        p.dataset.code = a.code;
        p.appendChild(Object.assign(svgEl("title"), { textContent: `${a.name} (${a.code})` }));
        this.layers.areas.appendChild(p);
        this.areaPaths[a.code] = a.geometry;
      }
      // Municipality names, shown once zoomed in (no tiles: the names are how an operator finds a place).
      this.layers.names.replaceChildren();
      for (const a of areas) if (a.geometry) {
        const [x, y] = this._anchor(a.geometry);
        const t = svgEl("text", { x, y, class: "muni-name", "text-anchor": "middle", "dominant-baseline": "middle" });
        t.textContent = a.name;
        this.layers.names.appendChild(t);
      }
      this._rescale();
    }

    // Where a name goes: the middle of the largest ring's bounding box (good enough for labels).
    _anchor(geom) {
      let best = null, bestArea = -1;
      rings(geom, (ring) => {
        let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
        for (const [lon, lat] of ring) {
          const [x, y] = this.project(lon, lat);
          minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
        }
        const area = (maxX - minX) * (maxY - minY);
        if (area > bestArea) { bestArea = area; best = [(minX + maxX) / 2, (minY + maxY) / 2]; }
      });
      return best;
    }

    // The area a code of an alert names, or null. JMA codes: 7-digit 二次細分 city (XXXXX00 is a
    // whole municipality, also when it is split in two), 6-digit まとめ地域 / 一次細分 / 府県予報区
    // or a municipality (CAP), 3-digit 地震情報細分区域 — or 津波予報区 for a tsunami.
    resolve(code, category) {
      const k = this.kinds;
      const get = (kind) => (k[kind] || {})[code];
      if (/^\d{3}$/.test(code)) return category === "tsunami" ? get("tsunami") : get("quake");
      if (/^\d{7}$/.test(code)) {
        const city = get("jma_city");
        if (city) return city;
        if (code.endsWith("00")) {
          const muni = Object.values(k.municipality || {}).find((m) => m.code.slice(0, 5) === code.slice(0, 5));
          if (muni) return muni;
        }
        return null;
      }
      if (/^\d{6}$/.test(code)) return get("municipality") || get("jma_matome") || get("jma_first") || get("jma_pref") || null;
      return null;
    }

    // --- projection and view -------------------------------------------------------------
    project(lon, lat) { return [(lon - this.minX) * this.k * SCALE, (this.maxY - lat) * SCALE]; }
    unproject(x, y) { return [x / (this.k * SCALE) + this.minX, this.maxY - y / SCALE]; }

    _setView(v) {
      const minW = this.full.w / MAX_ZOOM;
      if (v.w < minW) { const f = minW / v.w; v.x -= (v.w * f - v.w) / 2; v.y -= (v.h * f - v.h) / 2; v.w *= f; v.h *= f; }
      if (v.w > this.full.w * 1.5) v = { ...this.full };
      this.view = v;
      this.svg.setAttribute("viewBox", `${v.x} ${v.y} ${v.w} ${v.h}`);
      const zoom = this.full.w / v.w;
      if (Math.abs(zoom - this.zoom) / this.zoom > 0.05 || zoom === 1 || !this.unit) { this.zoom = zoom; this._rescale(); }
      if (this.onView) this.onView(this.zoom);
    }

    _toSvg(clientX, clientY) {
      const pt = this.svg.createSVGPoint();
      pt.x = clientX; pt.y = clientY;
      return pt.matrixTransform(this.svg.getScreenCTM().inverse());
    }

    zoomAt(factor, cx, cy) {  // factor > 1 zooms in, about the SVG point (cx, cy) (default: the centre)
      const v = this.view;
      if (cx === undefined) { cx = v.x + v.w / 2; cy = v.y + v.h / 2; }
      this._setView({ x: cx - (cx - v.x) / factor, y: cy - (cy - v.y) / factor, w: v.w / factor, h: v.h / factor });
    }

    zoomIn() { this.zoomAt(2); }
    zoomOut() { this.zoomAt(0.5); }
    reset() { this._setView({ ...this.full }); }

    fitGeometries(geoms) {
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (const g of geoms) rings(g, (ring) => { for (const [lon, lat] of ring) {
        const [x, y] = this.project(lon, lat);
        minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      } });
      if (!isFinite(minX)) return;
      const pad = Math.max(maxX - minX, maxY - minY) * 0.15 + 5;
      this._setView({ x: minX - pad, y: minY - pad, w: maxX - minX + 2 * pad, h: maxY - minY + 2 * pad });
    }

    // Sizes that should stay the same on screen whatever the zoom: shelter dots, hatching, labels.
    // SVG units per screen pixel now (the viewBox and the element's size decide it).
    _u() {
      const ctm = this.svg.getScreenCTM();
      return ctm && ctm.a ? 1 / ctm.a : this.view.w / (this.svg.clientWidth || 1000);
    }

    _rescale() {
      const z = this.zoom, u = this._u();
      this.unit = u;
      // Shelters grow a little with the zoom (4 px open at the whole prefecture, ~11 px in a town).
      for (const c of this.layers.shelters.children) c.setAttribute("r", this._shelterR(c.dataset.open === "1"));
      for (const p of this.defs.querySelectorAll("pattern")) {
        const s = 9 * u;
        p.setAttribute("width", s); p.setAttribute("height", s);
        const line = p.querySelector("line");
        line.setAttribute("y2", s); line.setAttribute("stroke-width", s / 2.2);
        p.querySelector("rect").setAttribute("height", s); p.querySelector("rect").setAttribute("width", s);
      }
      for (const t of this.layers.labels.children) t.setAttribute("font-size", 18 * u);
      for (const t of this.layers.names.children) t.setAttribute("font-size", 13 * u);
      this.svg.classList.toggle("show-names", z >= 1.8);
      for (const c of this.layers.drawing.querySelectorAll("circle")) c.setAttribute("r", 4 * u);
    }

    _shelterR(open) { return (open ? 4 : 1.6) * Math.min(Math.sqrt(this.zoom), 3) * (this.unit || 1); }

    _hatches() {
      // A drill: diagonal stripes of its level's colour over white — never a plain fill that
      // could pass for a real order. One pattern per level (CSS cannot reach into a pattern's use).
      for (const lv of [...LEVELS, "n"]) {
        const p = svgEl("pattern", { id: "hatch-" + lv, patternUnits: "userSpaceOnUse", width: 7, height: 7,
                                      patternTransform: "rotate(45)" });
        p.appendChild(svgEl("rect", { width: 7, height: 7, class: "hatch-bg" }));
        p.appendChild(svgEl("line", { x1: 0, y1: 0, x2: 0, y2: 7, class: "hatch-line lvl" + lv, "stroke-width": 3 }));
        this.defs.appendChild(p);
      }
    }

    // --- pointer: drag pans, wheel zooms, a click adds a vertex while drawing -------------------
    _wirePointer() {
      const svg = this.svg;
      let press = null;
      svg.addEventListener("pointerdown", (ev) => {
        if (ev.button !== 0) return;
        press = { x: ev.clientX, y: ev.clientY, view: { ...this.view }, scale: svg.getScreenCTM().a, moved: false, id: ev.pointerId };
      });
      svg.addEventListener("pointermove", (ev) => {
        if (!press || ev.pointerId !== press.id) return;
        const dx = ev.clientX - press.x, dy = ev.clientY - press.y;
        if (!press.moved && Math.hypot(dx, dy) < DRAG_PX) return;
        if (!press.moved) { press.moved = true; svg.setPointerCapture(ev.pointerId); svg.classList.add("panning"); }
        this._setView({ ...press.view, x: press.view.x - dx / press.scale, y: press.view.y - dy / press.scale });
      });
      const end = (ev) => {
        if (!press || ev.pointerId !== press.id) return;
        const wasClick = !press.moved && ev.type === "pointerup";
        press = null;
        svg.classList.remove("panning");
        if (wasClick) this._click(ev);
      };
      svg.addEventListener("pointerup", end);
      svg.addEventListener("pointercancel", end);
      svg.addEventListener("wheel", (ev) => {
        ev.preventDefault();
        const p = this._toSvg(ev.clientX, ev.clientY);
        this.zoomAt(Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), p.x, p.y);
      }, { passive: false });
      svg.tabIndex = 0; // keyboard: + − 0 and the arrows
      svg.addEventListener("keydown", (ev) => {
        const v = this.view, step = 0.2;
        const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
        if (ev.key === "+" || ev.key === "=") this.zoomIn();
        else if (ev.key === "-") this.zoomOut();
        else if (ev.key === "0") this.reset();
        else if (moves[ev.key]) this._setView({ ...v, x: v.x + moves[ev.key][0] * v.w, y: v.y + moves[ev.key][1] * v.h });
        else return;
        ev.preventDefault();
      });
    }

    // --- layers ------------------------------------------------------------------------------
    _d(geom) {
      let d = "";
      rings(geom, (ring) => {
        d += ring.map(([x, y], i) => (i ? "L" : "M") + this.project(x, y).map((v) => v.toFixed(1)).join(",")).join("") + "Z";
      });
      return d;
    }

    _path(geom, cls) { return svgEl("path", { d: this._d(geom), class: cls }); }

    _label(geom, text, cls) {
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      rings(geom, (ring) => { for (const [lon, lat] of ring) {
        const [x, y] = this.project(lon, lat);
        minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
      } });
      const t = svgEl("text", { x: (minX + maxX) / 2, y: (minY + maxY) / 2, class: cls, "text-anchor": "middle",
                                "dominant-baseline": "middle", "font-size": 18 * (this.unit || 1) });
      t.textContent = text;
      this.layers.labels.appendChild(t);
    }

    setNotices(notices, drillLabel) {
      const g = this.layers.notices; g.replaceChildren();
      for (const l of [...this.layers.labels.querySelectorAll(".notice-label")]) l.remove();
      for (const n of notices) {
        const geoms = n.geometry ? [n.geometry] : n.municipality_codes.map((c) => this.areaPaths[c]).filter(Boolean);
        for (const geom of geoms) {
          const p = this._path(geom, `notice lv${n.level}${n.is_drill ? " drill" : ""}`);
          if (n.is_drill) p.setAttribute("fill", `url(#hatch-${n.level})`);
          p.dataset.noticeId = n.id;
          g.appendChild(p);
          if (n.is_drill) this._label(geom, drillLabel || "訓練", "drill-label notice-label");
        }
      }
    }

    // Every alert in force, each of its areas coloured by its own level on the common danger
    // scale (0–5); the strongest drawn last (on top). Returns the codes that name no known area.
    setAlerts(alerts, drillLabel) {
      const g = this.layers.alerts; g.replaceChildren();
      for (const l of [...this.layers.labels.querySelectorAll(".alert-label")]) l.remove();
      const parts = [], unknown = [];
      this.alertGeoms = {};
      for (const a of alerts) {
        const geoms = this.alertGeoms[a.alert_id] = [];
        if (a.geometry) { parts.push({ a, geom: a.geometry, level: a.level || 0 }); geoms.push(a.geometry); continue; }
        const levels = a.area_levels || {};
        for (const code of a.area_codes || Object.keys(levels)) {
          const area = this.resolve(code, a.category);
          if (!area) { unknown.push(code); continue; }
          parts.push({ a, geom: area.geometry, level: levels[code] ?? a.level ?? 0, code, name: area.name });
          geoms.push(area.geometry);
        }
      }
      parts.sort((p, q) => (p.a.is_drill - q.a.is_drill) || (p.level - q.level));
      for (const { a, geom, level, code, name } of parts) {
        const p = this._path(geom, `alert lvl${level}${a.is_drill ? " drill" : ""}${a.life_critical ? " critical" : ""}`);
        if (a.is_drill) p.setAttribute("fill", `url(#hatch-${level})`);
        p.dataset.alertId = a.alert_id;
        p.dataset.level = level;
        if (code) p.dataset.code = code;
        p.appendChild(Object.assign(svgEl("title"), { textContent: `${a.is_drill ? `[${drillLabel || "訓練"}] ` : ""}${a.headline || a.category} — ${name || ""} (${level})` }));
        g.appendChild(p);
        if (a.is_drill) this._label(geom, drillLabel || "訓練", "drill-label alert-label");
      }
      return unknown;
    }

    setShelters(shelters) {
      const g = this.layers.shelters; g.replaceChildren();
      for (const s of shelters) {
        if (s.lat == null) continue;
        const [x, y] = this.project(s.lon, s.lat);
        const c = svgEl("circle", { cx: x.toFixed(1), cy: y.toFixed(1), r: this._shelterR(s.is_open),
                                    class: `shelter ${s.is_open ? "open" : "closed"} sh-${s.crowding}` });
        c.dataset.shelterId = s.id;
        c.dataset.open = s.is_open ? "1" : "0";
        c.appendChild(Object.assign(svgEl("title"), { textContent: `${s.name} ${s.is_open ? "●" : "○"} ${s.occupancy ?? "-"}/${s.capacity ?? "-"}` }));
        g.appendChild(c);
      }
    }

    // The target being composed (municipalities or districts chosen in the form), outlined.
    setTarget(geoms) {
      const g = this.layers.target; g.replaceChildren();
      for (const geom of geoms) g.appendChild(this._path(geom, "target"));
    }

    // --- drawing a target --------------------------------------------------------------------
    startDrawing(onChange) { this.drawing = []; this.onDraw = onChange; this.svg.classList.add("drawing-mode"); this._renderDrawing(); }
    clearDrawing() { this.drawing = this.drawing ? [] : null; this._renderDrawing(); }
    stopDrawing() { const pts = this.drawing; this.drawing = null; this.svg.classList.remove("drawing-mode"); this._renderDrawing(); return pts; }

    drawnPolygon() {
      const pts = this.drawing;
      if (!pts || pts.length < 3) return null;
      return { type: "Polygon", coordinates: [[...pts, pts[0]]] };
    }

    _click(ev) {
      if (!this.drawing) return;
      const loc = this._toSvg(ev.clientX, ev.clientY);
      const [lon, lat] = this.unproject(loc.x, loc.y);
      this.drawing.push([Number(lon.toFixed(6)), Number(lat.toFixed(6))]);
      this._renderDrawing();
    }

    _renderDrawing() {
      const g = this.layers.drawing; g.replaceChildren();
      if (this.onDraw) this.onDraw(this.drawing ? this.drawing.length : 0);
      if (!this.drawing || !this.drawing.length) return;
      const pts = this.drawing.map(([x, y]) => this.project(x, y).join(",")).join(" ");
      g.appendChild(svgEl("polygon", { points: pts, class: "drawing" }));
      for (const [x, y] of this.drawing.map(([lon, lat]) => this.project(lon, lat))) {
        g.appendChild(svgEl("circle", { cx: x, cy: y, r: 4 * (this.unit || 1), class: "vertex" }));
      }
    }
  }
  BousaiMap.LEVELS = LEVELS;
  window.BousaiMap = BousaiMap;
})();
