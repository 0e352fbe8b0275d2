"""What an alert means: the one alert-facts model every rule reads.

A parsed document (the normalized alert of ``alerts.sources``) says many things in many
vocabularies: 震度, 津波の予報区分, 警報の種類, 警戒レベル相当, 噴火警戒レベル, EEW 予報/警報,
CAP severity. This module turns each document into typed facts — per area and per
**product** — and the products of one danger into the danger's state now. Ranking,
transitions, the life-critical bypass, plan guidance, safety checks, the pull and the
console all read these facts and nothing else; the vocabularies are defined here once.

Three ideas carry it (JMA's own definitions, not the samples):

* **Product**: a JMA product family (緊急地震速報, 震度速報, 震源・震度情報, 津波警報・注意報,
  津波情報, 沖合の津波観測, 気象警報 …, 噴火警報, 噴火速報) or a CAP ``<references>`` chain.
  Its documents are ordered by report time, then ``Serial`` (out-of-order arrival is
  normal); only the newest counts; a 取消 withdraws exactly that product.
* **Danger group**: the products that carry one danger to a resident — an EEW's 警報 and
  予報, one quake's 震度速報 and 震源・震度情報, one tsunami's 警報 and 情報, one forecast
  region's 気象警報 in every format with its 特別警報報知. A resident hears a group once
  per change, however many products repeat it.
* **Role and lifecycle**: an *authority* product states the danger and may lower or lift
  it (津波警報・注意報, 気象警報); a *supplement* only repeats or adds to it and never lowers
  or lifts it (津波情報, 沖合の津波観測, 特別警報報知); an *info* product never changes what
  a resident is told. A group's lifecycle says what can happen at all: ``warning``
  (raise, lower, lift), ``raise_only`` (EEW: 予報 → 警報, never "lowered"; only 取消 ends
  it), ``observation`` (shaking that happened: more precise reports never lower it),
  ``flash`` (each document is news of its own: 噴火速報, 記録的短時間大雨情報).

The **common danger scale** (``level``, 0–5) puts every source scale on one axis so the
console, the pull and the simulator can compare a tsunami with a landslide:

=====  ==============================================================================
level  meaning (examples)
=====  ==============================================================================
0      nothing in force (解除, 津波なし, 噴火予報 / レベル1 ends a warning)
1      information (震度1–2, 津波予報 若干の海面変動, 噴火警戒レベル1)
2      注意報 / 警戒レベル2 (震度3, 氾濫注意, 噴火警戒レベル2, EEW 予報 below 震度4)
3      警報 / 高齢者等避難 (震度4, 津波注意報, 氾濫警戒, 噴火警戒レベル3, 竜巻注意情報)
4      避難指示 tier (震度5弱・5強, 津波警報, 土砂災害警戒情報, 危険警報, 氾濫危険, EEW 警報,
       噴火警戒レベル4, 記録的短時間大雨情報, 後発地震注意情報 is 3)
5      緊急安全確保 tier (震度6弱+, 大津波警報, 特別警報, 氾濫発生, 噴火警戒レベル5 /
       噴火速報, J-ALERT)
=====  ==============================================================================

``life_critical`` is one definition (``vocabulary.LIFE_CRITICAL``, per area): EEW 警報,
大津波警報, 津波警報, any 特別警報, 緊急安全確保, 避難指示, 噴火警報（居住地域）(噴火警戒
レベル4–5) and 噴火速報, レベル5 氾濫発生, J-ALERT / 国民保護. A drill is never
life-critical. A life-critical product older than its freshness limit
(``vocabulary.FRESHNESS``) is no longer life-critical when it reaches a resident.

The package: ``vocabulary`` (scales, vocabularies, ``AreaFacts``), ``products`` (product and
danger group of a document), ``documents`` (one document's facts per area), ``groups`` (the
danger now, combined), ``readers`` (for plan guidance and safety checks).
"""

from alerts.facts.documents import DocFacts, doc_facts, evacuation_level, warning_kind
from alerts.facts.groups import GroupFacts, combine, is_stale, newest_per_product
from alerts.facts.products import (
    HEAVY_RAIN_BAND_FORECAST, JMA_PRODUCTS, Product, group_key, product_of, serial_of,
)
from alerts.facts.readers import facts_at, hazard_of
from alerts.facts.vocabulary import *  # noqa: F403 — the vocabularies and scales, defined once
from alerts.facts.vocabulary import AreaFacts, NOTHING

__all__ = [
    "AreaFacts", "DocFacts", "GroupFacts", "HEAVY_RAIN_BAND_FORECAST", "JMA_PRODUCTS", "NOTHING", "Product",
    "combine", "doc_facts", "evacuation_level", "facts_at", "group_key", "hazard_of", "is_stale",
    "newest_per_product", "product_of", "serial_of", "warning_kind",
]
