// The prefecture drawn from the project's own boundary data: an SVG with an equirectangular
// projection scaled by cos(latitude). No tiles, no network beyond this app: works offline.
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const SCALE = 1000; // SVG units per degree of latitude

  class BousaiMap {
    constructor(svg) {
      this.svg = svg;
      this.layers = {};
      for (const name of ["areas", "alerts", "notices", "shelters", "drawing"]) {
        const g = document.createElementNS(NS, "g");
        g.setAttribute("class", "layer-" + name);
        svg.appendChild(g);
        this.layers[name] = g;
      }
      this.drawing = null; // [[lon, lat], ...] while drawing
      svg.addEventListener("click", (ev) => this._click(ev));
    }

    setAreas(areas) {
      let minX = 180, minY = 90, maxX = -180, maxY = -90;
      const each = (geom, fn) => {
        const polys = geom.type === "MultiPolygon" ? geom.coordinates : [geom.coordinates];
        for (const poly of polys) for (const ring of poly) fn(ring);
      };
      for (const a of areas) if (a.geometry) each(a.geometry, (ring) => {
        for (const [x, y] of ring) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
      });
      this.lat0 = (minY + maxY) / 2;
      this.k = Math.cos(this.lat0 * Math.PI / 180);
      this.minX = minX; this.maxY = maxY;
      const w = (maxX - minX) * this.k * SCALE, h = (maxY - minY) * SCALE;
      this.svg.setAttribute("viewBox", `-5 -5 ${w + 10} ${h + 10}`);
      this.layers.areas.replaceChildren();
      this.areaPaths = {};
      for (const a of areas) {
        if (!a.geometry) continue;
        const p = this._path(a.geometry, "muni");
        p.dataset.code = a.code;
        const title = document.createElementNS(NS, "title");
        title.textContent = `${a.name} (${a.code})`;
        p.appendChild(title);
        this.layers.areas.appendChild(p);
        this.areaPaths[a.code] = a.geometry;
      }
    }

    project(lon, lat) { return [(lon - this.minX) * this.k * SCALE, (this.maxY - lat) * SCALE]; }
    unproject(x, y) { return [x / (this.k * SCALE) + this.minX, this.maxY - y / SCALE]; }

    _d(geom) {
      const polys = geom.type === "MultiPolygon" ? geom.coordinates : [geom.coordinates];
      let d = "";
      for (const poly of polys) for (const ring of poly) {
        d += ring.map(([x, y], i) => (i ? "L" : "M") + this.project(x, y).map((v) => v.toFixed(1)).join(",")).join("") + "Z";
      }
      return d;
    }

    _path(geom, cls) {
      const p = document.createElementNS(NS, "path");
      p.setAttribute("d", this._d(geom));
      p.setAttribute("class", cls);
      return p;
    }

    setNotices(notices) {
      const g = this.layers.notices; g.replaceChildren();
      for (const n of notices) {
        const geoms = n.geometry ? [n.geometry] : n.municipality_codes.map((c) => this.areaPaths[c]).filter(Boolean);
        for (const geom of geoms) {
          const p = this._path(geom, `notice lv${n.level}${n.is_drill ? " drill" : ""}`);
          p.dataset.noticeId = n.id;
          g.appendChild(p);
        }
      }
    }

    setAlerts(alerts) {
      const g = this.layers.alerts; g.replaceChildren();
      for (const a of alerts) {
        const geoms = a.geometry ? [a.geometry] : (a.area_codes || []).map((c) => this.areaPaths[c]).filter(Boolean);
        for (const geom of geoms) {
          const p = this._path(geom, "alert" + (a.is_drill ? " drill" : ""));
          p.dataset.alertId = a.alert_id;
          g.appendChild(p);
        }
      }
    }

    setShelters(shelters) {
      const g = this.layers.shelters; g.replaceChildren();
      for (const s of shelters) {
        if (s.lat == null) continue;
        const [x, y] = this.project(s.lon, s.lat);
        const c = document.createElementNS(NS, "circle");
        c.setAttribute("cx", x.toFixed(1)); c.setAttribute("cy", y.toFixed(1));
        c.setAttribute("r", s.is_open ? 4 : 1.5);
        c.setAttribute("class", `shelter ${s.is_open ? "open" : "closed"} sh-${s.crowding}`);
        c.dataset.shelterId = s.id;
        const title = document.createElementNS(NS, "title");
        title.textContent = `${s.name} ${s.is_open ? "●" : "○"} ${s.occupancy ?? "-"}/${s.capacity ?? "-"}`;
        c.appendChild(title);
        g.appendChild(c);
      }
    }

    startDrawing(onChange) { this.drawing = []; this.onDraw = onChange; this._renderDrawing(); }
    clearDrawing() { this.drawing = this.drawing ? [] : null; this._renderDrawing(); }
    stopDrawing() { const pts = this.drawing; this.drawing = null; return pts; }

    drawnPolygon() {
      const pts = this.drawing;
      if (!pts || pts.length < 3) return null;
      return { type: "Polygon", coordinates: [[...pts, pts[0]]] };
    }

    _click(ev) {
      if (!this.drawing) return;
      const pt = this.svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      const loc = pt.matrixTransform(this.svg.getScreenCTM().inverse());
      const [lon, lat] = this.unproject(loc.x, loc.y);
      this.drawing.push([Number(lon.toFixed(6)), Number(lat.toFixed(6))]);
      this._renderDrawing();
    }

    _renderDrawing() {
      const g = this.layers.drawing; g.replaceChildren();
      if (this.onDraw) this.onDraw(this.drawing ? this.drawing.length : 0);
      if (!this.drawing || !this.drawing.length) return;
      const p = document.createElementNS(NS, "polygon");
      p.setAttribute("points", this.drawing.map(([x, y]) => this.project(x, y).join(",")).join(" "));
      p.setAttribute("class", "drawing");
      g.appendChild(p);
    }
  }
  window.BousaiMap = BousaiMap;
})();
