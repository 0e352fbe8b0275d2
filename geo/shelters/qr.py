"""Check-in code images: the QR code (segno) alone as PNG, and a printable A4 sheet as SVG with
the shelter's name and the instructions in Japanese and English around it."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import segno

# Level M survives a scuffed or partly covered poster (15 %); H would make the code denser
# for a URL this long and harder to scan from a distance.
ERROR_LEVEL = "m"
# Instructions on the sheet (fixed phrases; the shelter's name is printed as published).
INSTRUCTIONS = (
    ("ja", "避難所チェックイン", "ふくしま防災アプリでこのコードを読み取ってください。",
     "電波がなくても受付できます（つながったときに送信されます）。"),
    ("ja-easy", "", "アプリ で この コード を よみとって ください。", ""),
    ("en", "Shelter check-in", "Scan this code with the Fukushima bousai app.",
     "Works offline: the app sends it when the network is back."),
)


def qr_png(url: str, *, scale: int = 10) -> bytes:
    buf = io.BytesIO()
    segno.make(url, error=ERROR_LEVEL).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def qr_svg_sheet(*, shelter_id: str, name: str, address: str | None, url: str, version: int) -> str:
    """An A4 portrait sheet (210 × 297 mm): title, shelter name, the code, the instructions."""
    qr = segno.make(url, error=ERROR_LEVEL)
    size_mm = 120.0
    modules = qr.symbol_size(scale=1, border=4)[0]
    scale = size_mm / modules
    code = qr.svg_inline(scale=scale, border=4, omitsize=False)
    # Put the code's own <svg> where it belongs on the page.
    code = code.replace("<svg ", f'<svg x="{(210 - size_mm) / 2:.2f}" y="70" ', 1)
    ja, easy, en = INSTRUCTIONS
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297">',
        '<rect width="210" height="297" fill="#fff"/>',
        '<g font-family="\'Noto Sans JP\', \'Hiragino Sans\', \'Yu Gothic\', sans-serif" fill="#000" text-anchor="middle">',
        f'<text x="105" y="24" font-size="12" font-weight="bold">{escape(ja[1])} / {escape(en[1])}</text>',
        f'<text x="105" y="44" font-size="{9 if len(name) <= 16 else 6}" font-weight="bold">{escape(name)}</text>',
    ]
    if address:
        lines.append(f'<text x="105" y="56" font-size="4.5">{escape(address)}</text>')
    lines.append(code)
    y = 205
    for text_line, size in ((ja[2], 5.5), (ja[3], 4.2), (easy[2], 4.2), (en[2], 5), (en[3], 4)):
        if text_line:
            lines.append(f'<text x="105" y="{y}" font-size="{size}">{escape(text_line)}</text>')
            y += size * 2
    lines.append(f'<text x="105" y="287" font-size="3" fill="#555">{escape(shelter_id)} · v{version}</text>')
    lines += ["</g>", "</svg>"]
    return "\n".join(lines) + "\n"
