"""Shelter-opening notifications in the 16 languages (fixed phrases; shelter names as
published). A device's language tag is matched by ``server.i18n.resolve_language``."""

from __future__ import annotations

from server.i18n import resolve_language

OPENED = {
    "ja": ("避難所開設: {name}", "{name} が開設されました。{why}"),
    "ja-easy": ("ひなんじょ が あきました: {name}", "{name} に ひなん できます。{why}"),
    "en": ("Shelter open: {name}", "{name} is now open. {why}"),
    "zh-Hans": ("避难所开放: {name}", "{name} 已开放。{why}"),
    "zh-Hant": ("避難所開放: {name}", "{name} 已開放。{why}"),
    "ko": ("대피소 개설: {name}", "{name} 이(가) 개설되었습니다. {why}"),
    "vi": ("Mở nơi lánh nạn: {name}", "{name} đã mở cửa. {why}"),
    "pt": ("Abrigo aberto: {name}", "{name} está aberto. {why}"),
    "es": ("Refugio abierto: {name}", "{name} está abierto. {why}"),
    "id": ("Tempat pengungsian dibuka: {name}", "{name} sekarang dibuka. {why}"),
    "tl": ("Bukas na ang evacuation center: {name}", "Bukas na ang {name}. {why}"),
    "th": ("ศูนย์อพยพเปิดแล้ว: {name}", "{name} เปิดแล้ว {why}"),
    "ne": ("आश्रयस्थल खुल्यो: {name}", "{name} अहिले खुला छ। {why}"),
    "km": ("ទីជម្រកបានបើក៖ {name}", "{name} បានបើកហើយ។ {why}"),
    "my": ("ခိုလှုံရာ ဖွင့်ပြီ: {name}", "{name} ယခု ဖွင့်ထားပါပြီ။ {why}"),
    "mn": ("Хоргодох байр нээгдлээ: {name}", "{name} одоо нээлттэй. {why}"),
}
WHY = {
    "plan": {
        "ja": "あなたの避難計画の避難先です。",
        "ja-easy": "あなた の ひなん けいかく の ばしょ です。",
        "en": "It is a destination in your evacuation plan.",
        "zh-Hans": "这是您避难计划中的避难地点。",
        "zh-Hant": "這是您避難計畫中的避難地點。",
        "ko": "나의 피난 계획에 있는 피난처입니다.",
        "vi": "Đây là nơi sơ tán trong kế hoạch của bạn.",
        "pt": "É um destino do seu plano de evacuação.",
        "es": "Es un destino de su plan de evacuación.",
        "id": "Ini tujuan dalam rencana evakuasi Anda.",
        "tl": "Ito ay destinasyon sa iyong plano sa paglikas.",
        "th": "เป็นจุดหมายในแผนการอพยพของคุณ",
        "ne": "यो तपाईंको स्थानान्तरण योजनाको गन्तव्य हो।",
        "km": "នេះជាគោលដៅក្នុងផែនការជម្លៀសរបស់អ្នក។",
        "my": "၎င်းသည် သင့် ရွှေ့ပြောင်းရေး အစီအစဉ်ထဲရှိ နေရာ ဖြစ်သည်။",
        "mn": "Энэ нь таны нүүлгэн шилжүүлэх төлөвлөгөөний очих газар.",
    },
    "nearby": {
        "ja": "警報等が出ている地域の近くの避難所です。",
        "ja-easy": "ちかく の ひなんじょ です。",
        "en": "It is near a place of yours under an active alert.",
        "zh-Hans": "这是您警报中地点附近的避难所。",
        "zh-Hant": "這是您警報中地點附近的避難所。",
        "ko": "경보 등이 발령된 나의 장소 근처의 대피소입니다.",
        "vi": "Đây là nơi lánh nạn gần địa điểm của bạn đang có cảnh báo.",
        "pt": "Fica perto de um local seu com alerta em vigor.",
        "es": "Está cerca de un lugar suyo con una alerta en vigor.",
        "id": "Ini dekat tempat Anda yang sedang dalam peringatan.",
        "tl": "Malapit ito sa iyong lugar na may aktibong babala.",
        "th": "อยู่ใกล้สถานที่ของคุณที่มีการแจ้งเตือนอยู่",
        "ne": "यो चेतावनी जारी भएको तपाईंको स्थान नजिकको आश्रयस्थल हो।",
        "km": "នៅជិតទីកន្លែងរបស់អ្នកដែលកំពុងមានការព្រមាន។",
        "my": "သတိပေးချက် ထုတ်ထားသော သင့်နေရာအနီးရှိ ခိုလှုံရာ ဖြစ်သည်။",
        "mn": "Сэрэмжлүүлэг гарсан таны газрын ойролцоох хоргодох байр.",
    },
}


def opened(lang: str, name: str, reason: str) -> tuple[str, str]:
    language = resolve_language(lang)
    title, body = OPENED.get(language) or OPENED["en"]
    why_table = WHY[reason]
    why = why_table.get(language) or why_table["en"]
    return title.format(name=name), body.format(name=name, why=why).strip()
