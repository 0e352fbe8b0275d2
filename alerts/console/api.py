"""The operators' web console: static HTML/JS/CSS served by the app, no CDN, no map tiles.

The page talks only to the staff API with the signed-in operator's token; it draws the
prefecture from ``/v1/areas?kind=...&geometry=true`` (municipalities as the base layer; JMA
cities, まとめ地域, 一次細分, the prefecture, quake and tsunami areas to resolve each alert's codes)
and zooms and pans an SVG with its own code (map.js, no library), so it works offline.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

from server.errors import NotFound

router = APIRouter(tags=["console"], include_in_schema=False)

STATIC = Path(__file__).with_name("static")
# Only these files are served (no path from the request ever reaches the filesystem).
FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "map.js": "text/javascript; charset=utf-8",
}
# The console holds a staff token: never let another site frame it or load scripts into it.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/console")
async def console_root():
    return RedirectResponse("/console/")


@router.get("/console/")
async def console_index():
    return FileResponse(STATIC / "index.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/console/{name}")
async def console_file(name: str):
    if name not in FILES:
        raise NotFound(f"no console file {name!r}")
    return FileResponse(STATIC / name, media_type=FILES[name], headers=SECURITY_HEADERS)
