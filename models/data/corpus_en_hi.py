"""Synthetic English→Hindi household commands with exact word alignments.

Sentences come from a small grammar, so every Hindi word knows which English words it
translates: the alignment is by construction, not estimated.  Clauses keep the English
order, but inside a clause Hindi is verb-final (please, time, place, object, verb):
"turn off the lights in the kitchen" → "रसोई में लाइट बंद करो".

Register is chosen per sentence: one "please" makes every verb polite ("करें", negation
"न"); without it verbs are familiar ("करो", negation "मत").  So the Hindi is a function of
the whole English sentence, and mixed registers never appear.

Punctuation is ordinary and aligned token to token: a comma may precede a connector
(", then" → ", फिर"), a sentence may end in "." → "।", "!" → "!" or the tag ", okay ?" →
", ठीक है ?", and a sentence-final ", please" moves to the front in Hindi ("turn off the
lights , please !" → "कृपया लाइट बंद करें !"; that comma has no Hindi counterpart).  Text is
written lower-case and pre-tokenised (punctuation stands apart), so whitespace tokens are
the word tokeniser's tokens and the alignment indexes them; lengths count them too.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.data.tsv_io import write_tsv_atomic

Alignment = tuple[tuple[int, int], ...]

ARTICLE_EXAMPLE = ("turn off the lights", "लाइट बंद करो")
DEFAULT_BUCKETS = ((1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, 60))
MIN_SENTENCE_WORDS = 3  # verb + determiner + noun: the shortest clause


@dataclass(frozen=True)
class Pair:
    source: str
    target: str
    alignment: Alignment  # (source index, target index) over whitespace tokens


@dataclass(frozen=True)
class _Piece:
    """English words plus Hindi words, each Hindi word linked to indices into `en`."""

    en: tuple[str, ...]
    hi: tuple[tuple[str, tuple[int, ...]], ...]


def _p(en: str, hi: str, links: str) -> _Piece:
    """Compact piece: `links` holds one comma-separated index list per Hindi word."""
    words, groups = hi.split(), links.split()
    if len(words) != len(groups):
        raise ValueError(f"{hi!r}: {len(words)} words but {len(groups)} link groups")
    hi_links = tuple((w, tuple(int(i) for i in g.split(","))) for w, g in zip(words, groups, strict=True))
    return _Piece(tuple(en.split()), hi_links)


def _arrange(parts: Sequence[_Piece], hindi_order: Sequence[int]) -> _Piece:
    """Join parts in English order, emitting their Hindi in `hindi_order` (indices into parts)."""
    offsets = [0]
    for part in parts:
        offsets.append(offsets[-1] + len(part.en))
    en = tuple(w for part in parts for w in part.en)
    hi = tuple((word, tuple(offsets[k] + i for i in links)) for k in hindi_order for word, links in parts[k].hi)
    return _Piece(en, hi)


def _concat(parts: Sequence[_Piece]) -> _Piece:
    return _arrange(parts, range(len(parts)))


# --- inflection -------------------------------------------------------------------------------
# Six slots: masculine sg / pl / oblique, then feminine sg / pl / oblique.
_Forms = tuple[str, str, str, str, str, str]


def _gendered(m_sg: str, m_other: str, fem: str) -> _Forms:
    """-ā adjectives (बड़ा/बड़े/बड़ी): the masculine form changes for plural and oblique."""
    return (m_sg, m_other, m_other, fem, fem, fem)


def _numbered(sg: str, pl: str, obl: str) -> _Forms:
    """Demonstratives (यह/ये/इस) follow number and case, not gender."""
    return (sg, pl, obl, sg, pl, obl)


def _same(word: str) -> _Forms:
    return (word,) * 6


def _form(forms: _Forms, gender: str, plural: bool, oblique: bool) -> str:
    return forms[(3 if gender == "f" else 0) + (2 if oblique else 1 if plural else 0)]


# --- lexicon ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Noun:
    en_sg: str  # "" when the noun is plural-only ("clothes")
    en_pl: str  # "" when the noun has no plural in the grammar
    hi_sg: str
    hi_pl: str
    hi_obl: str  # oblique singular, used before postpositions
    gender: str
    tags: frozenset[str]
    weight: float


def _n(en: str, hi: str, gender: str, tags: str, weight: float = 1.0) -> _Noun:
    """`en` is "sg|pl", `hi` is "sg|pl|oblique" (missing parts fall back to the singular)."""
    en_sg, _, en_pl = en.partition("|")
    hi_sg, hi_pl, hi_obl = ([*hi.split("|"), "", ""])[:3]
    return _Noun(en_sg, en_pl, hi_sg, hi_pl or hi_sg, hi_obl or hi_sg, gender, frozenset(tags.split()), weight)


# Verb tags (switch, open, lock, clean, wash, carry, fill, heat, cook, boil, charge) say which
# verbs take the noun; place tags (room, wet, cooking, in, on, under, near) where it can serve as a
# place; colour/size/age/dirty which adjectives it accepts; "mass" nouns have no plural;
# "noplace" objects take no optional "in the <room>" (a fridge stays in the kitchen).
_NOUNS = (
    _n("light|lights", "लाइट|लाइट", "f", "switch colour size", weight=4.0),  # the article's noun
    _n("fan|fans", "पंखा|पंखे", "m", "switch clean size age"),
    _n("tv|", "टीवी", "m", "switch clean size age"),
    _n("heater|heaters", "हीटर|हीटर", "m", "switch size age"),
    _n("lamp|lamps", "लैंप|लैंप", "m", "switch carry colour size age near"),
    _n("oven|", "ओवन", "m", "switch clean noplace"),
    _n("computer|", "कंप्यूटर", "m", "switch age"),
    _n("radio|", "रेडियो", "m", "switch carry age"),
    _n("washing machine|", "वॉशिंग मशीन", "f", "switch clean noplace"),
    _n("geyser|", "गीज़र", "m", "switch noplace"),
    _n("door|doors", "दरवाज़ा|दरवाज़े|दरवाज़े", "m", "open lock clean colour size near"),
    _n("window|windows", "खिड़की|खिड़कियाँ", "f", "open lock clean size near"),
    _n("cupboard|", "अलमारी", "f", "open lock clean colour size in"),
    _n("box|boxes", "डिब्बा|डिब्बे|डिब्बे", "m", "open carry colour size in"),
    _n("gate|", "गेट", "m", "open lock colour noplace"),
    _n("|curtains", "|पर्दे", "m", "open wash colour"),
    _n("drawer|drawers", "दराज़|दराज़ें", "f", "open lock in"),
    _n("fridge|", "फ़्रिज", "m", "open clean in noplace"),
    _n("table|tables", "मेज़|मेज़ें", "f", "clean colour size on under near"),
    _n("chair|chairs", "कुर्सी|कुर्सियाँ", "f", "clean carry colour size on under near"),
    _n("sofa|", "सोफ़ा||सोफ़े", "m", "clean on under near"),
    _n("bed|", "बिस्तर", "m", "on under near"),
    _n("floor|", "फ़र्श", "m", "clean on"),
    _n("kitchen|", "रसोई", "f", "clean room wet cooking size"),
    _n("bedroom|", "बेडरूम", "m", "clean room size"),
    _n("bathroom|", "बाथरूम", "m", "clean room wet size"),
    _n("living room|", "लिविंग रूम", "m", "clean room size"),
    _n("garden|", "बगीचा||बगीचे", "m", "clean room wet size"),
    _n("balcony|", "बालकनी", "f", "clean"),  # "on the balcony", so not an "in" room
    _n("garage|", "गैराज", "m", "clean room"),
    _n("room|rooms", "कमरा|कमरे|कमरे", "m", "clean room size"),
    _n("plate|plates", "प्लेट|प्लेटें", "f", "wash carry colour dirty"),
    _n("cup|cups", "कप|कप", "m", "wash carry colour dirty"),
    _n("glass|glasses", "गिलास|गिलास", "m", "wash carry fill dirty"),
    _n("|dishes", "|बर्तन", "m", "wash dirty"),
    _n("|clothes", "|कपड़े", "m", "wash carry dirty"),
    _n("shirt|shirts", "कमीज़|कमीज़ें", "f", "wash carry colour dirty age"),
    _n("towel|towels", "तौलिया|तौलिए", "m", "wash carry colour dirty"),
    _n("blanket|blankets", "कंबल|कंबल", "m", "wash carry colour"),
    _n("car|", "गाड़ी", "f", "wash clean lock colour age noplace"),
    _n("bottle|bottles", "बोतल|बोतलें", "f", "carry fill colour size"),
    _n("book|books", "किताब|किताबें", "f", "carry colour age"),
    _n("key|keys", "चाबी|चाबियाँ", "f", "carry"),
    _n("phone|", "फ़ोन", "m", "carry charge age"),
    _n("laptop|", "लैपटॉप", "m", "carry charge age"),
    _n("watch|", "घड़ी", "f", "carry charge"),
    _n("bag|bags", "बैग|बैग", "m", "carry colour size in"),
    _n("ball|balls", "गेंद|गेंदें", "f", "carry colour"),
    _n("pillow|pillows", "तकिया|तकिए", "m", "carry wash colour"),
    _n("remote|", "रिमोट", "m", "carry"),
    _n("umbrella|", "छाता", "m", "carry colour"),
    _n("|shoes", "|जूते", "m", "carry clean colour"),
    _n("newspaper|", "अख़बार", "m", "carry"),
    _n("medicine|", "दवा", "f", "carry"),
    _n("bucket|", "बाल्टी", "f", "carry fill colour"),
    _n("jug|", "जग", "m", "carry fill"),
    _n("milk|", "दूध", "m", "mass heat boil carry"),
    _n("water|", "पानी", "m", "mass heat boil carry"),
    _n("tea|", "चाय", "f", "mass heat carry"),
    _n("food|", "खाना", "m", "mass heat carry"),
    _n("soup|", "सूप", "m", "mass heat"),
    _n("rice|", "चावल", "m", "mass cook"),
    _n("|vegetables", "|सब्ज़ियाँ", "f", "cook wash carry"),
    _n("egg|eggs", "अंडा|अंडे", "m", "boil carry"),
)


@dataclass(frozen=True)
class _Verb:
    en: tuple[str, ...]
    stem: tuple[str, ...]  # uninflected part (बंद, साफ़); negation goes after it
    familiar: tuple[str, ...]
    polite: tuple[str, ...]
    tag: str
    place: str  # which place phrases the verb takes, see _PLACES
    weight: float


def _v(en: str, hi: str, tag: str, place: str, weight: float = 1.0) -> _Verb:
    """`hi` is "stem|familiar|polite", e.g. "बंद|करो|करें" or "|ले जाओ|ले जाएँ"."""
    stem, familiar, polite = (tuple(part.split()) for part in hi.split("|"))
    return _Verb(tuple(en.split()), stem, familiar, polite, tag, place, weight)


_VERBS = (
    _v("turn on", "चालू|करो|करें", "switch", "loc", weight=2.0),
    _v("turn off", "बंद|करो|करें", "switch", "loc", weight=2.0),
    _v("switch on", "चालू|करो|करें", "switch", "loc"),
    _v("switch off", "बंद|करो|करें", "switch", "loc"),
    _v("open", "|खोलो|खोलें", "open", "loc"),
    _v("close", "बंद|करो|करें", "open", "loc"),
    _v("lock", "लॉक|करो|करें", "lock", "loc"),
    _v("clean", "साफ़|करो|करें", "clean", "loc"),
    _v("wash", "|धोओ|धोएँ", "wash", "wet"),
    _v("bring", "|लाओ|लाएँ", "carry", "from"),
    _v("put", "|रखो|रखें", "carry", "goal"),
    _v("take", "|ले जाओ|ले जाएँ", "carry", "to"),
    _v("find", "|ढूँढो|ढूँढें", "carry", "find"),
    _v("fill", "|भरो|भरें", "fill", "wet"),
    _v("heat", "गरम|करो|करें", "heat", "cooking"),
    _v("cook", "|पकाओ|पकाएँ", "cook", "cooking"),
    _v("boil", "|उबालो|उबालें", "boil", "cooking"),
    _v("charge", "चार्ज|करो|करें", "charge", "loc"),
)

_VERB_WEIGHTS = [v.weight for v in _VERBS]

# Finite verb forms: a Hindi clause ends with exactly one of these.
HINDI_VERB_FORMS = frozenset(v.familiar[-1] for v in _VERBS) | frozenset(v.polite[-1] for v in _VERBS)

# (preposition, noun tag it needs); Hindi postpositions below.
_PLACES = {
    "loc": (("in", "room"),),
    "wet": (("in", "wet"),),
    "cooking": (("in", "cooking"),),
    "from": (("from", "room"), ("from", "in"), ("from", "on")),
    "goal": (("in", "in"), ("on", "on"), ("under", "under"), ("near", "near")),
    "to": (("to", "room"),),
    "find": (("in", "room"), ("in", "in"), ("on", "on"), ("under", "under")),
}
_PLACE_REQUIRED = frozenset({"goal", "to"})  # "put the box" alone is not a command
_PLACE_AFTER_OBJECT = frozenset({"goal", "to"})  # डिब्बा मेज़ पर रखो, but रसोई से डिब्बा लाओ
_POSTPOSITIONS = {"in": "में", "on": "पर", "from": "से", "to": "में", "under": "के नीचे", "near": "के पास"}

_ADJECTIVES: dict[str, tuple[tuple[str, _Forms], ...]] = {
    "size": (("big", _gendered("बड़ा", "बड़े", "बड़ी")), ("small", _gendered("छोटा", "छोटे", "छोटी"))),
    "age": (("new", _gendered("नया", "नए", "नई")), ("old", _gendered("पुराना", "पुराने", "पुरानी"))),
    "dirty": (("dirty", _gendered("गंदा", "गंदे", "गंदी")),),
    "colour": (
        ("red", _same("लाल")),
        ("blue", _gendered("नीला", "नीले", "नीली")),
        ("green", _gendered("हरा", "हरे", "हरी")),
        ("black", _gendered("काला", "काले", "काली")),
        ("white", _same("सफ़ेद")),
        ("yellow", _gendered("पीला", "पीले", "पीली")),
    ),
}


@dataclass(frozen=True)
class _Det:
    en_sg: tuple[str, ...]
    en_pl: tuple[str, ...]
    forms: _Forms | None  # None: no Hindi word ("the")
    weight: float


_THE = _Det(("the",), ("the",), None, 0.6)
_THIS = _Det(("this",), ("these",), _numbered("यह", "ये", "इस"), 0.1)
_DETS = (
    _THE,
    _Det(("my",), ("my",), _gendered("मेरा", "मेरे", "मेरी"), 0.15),
    _THIS,
    _Det(("that",), ("those",), _numbered("वह", "वे", "उस"), 0.05),
)
_ALL = _Det(("all", "the"), ("all", "the"), _gendered("सारा", "सारे", "सारी"), 0.1)  # plural or mass only

_NUMBERS = (
    ("one", "एक"),
    ("two", "दो"),
    ("three", "तीन"),
    ("four", "चार"),
    ("five", "पाँच"),
    ("six", "छह"),
    ("seven", "सात"),
    ("eight", "आठ"),
    ("nine", "नौ"),
    ("ten", "दस"),
    ("eleven", "ग्यारह"),
    ("twelve", "बारह"),
)
_MINUTES = (("five", "पाँच"), ("ten", "दस"), ("fifteen", "पंद्रह"), ("twenty", "बीस"), ("thirty", "तीस"))
_TIMES = (
    _p("now", "अभी", "0"),
    _p("today", "आज", "0"),
    _p("tomorrow", "कल", "0"),
    _p("tonight", "आज रात", "0 0"),
    _p("in the morning", "सुबह", "0,2"),
    _p("in the evening", "शाम को", "2 0"),
    _p("at night", "रात को", "1 0"),
    _p("tomorrow morning", "कल सुबह", "0 1"),
    _p("tomorrow evening", "कल शाम", "0 1"),
    _p("after lunch", "लंच के बाद", "1 0 0"),
    _p("after dinner", "डिनर के बाद", "1 0 0"),
    _p("before breakfast", "नाश्ते से पहले", "1 0 0"),
    *(_p(f"at {en}", f"{hi} बजे", "1 0") for en, hi in _NUMBERS),
    *(_p(f"in {en} minutes", f"{hi} मिनट में", "1 2 0") for en, hi in _MINUTES),
)
_PLEASE = _p("please", "कृपया", "0")
_AND = _p("and", "और", "0")
_CONNECTORS = (_AND, _p("then", "फिर", "0"), _p("and then", "और फिर", "0 1"), _p("after that", "उसके बाद", "1 0"))
_CONNECTOR_WEIGHTS = (0.4, 0.25, 0.2, 0.15)
_COMMA = _p(",", ",", "0")
_COMMA_BEFORE = (0.15, 0.5, 0.4, 0.6)  # chance of ", " before each connector: rarer before a bare "and"
# Sentence endings (None: no mark) and their weights; the tag question is never added to ", please".
_ENDINGS = (None, _p(".", "।", "0"), _p("!", "!", "0"), _p(", okay ?", ", ठीक है ?", "0 1 1 2"))
_ENDING_WEIGHTS = (0.4, 0.3, 0.2, 0.1)
_TAIL_PLEASE = _Piece((",", "please"), (("कृपया", (1,)),))  # "…, please" → कृपया first; the comma is unaligned
_TAIL_PLEASE_SHARE = 0.3  # of polite sentences

_BY_TAG: dict[str, tuple[_Noun, ...]] = {
    tag: tuple(n for n in _NOUNS if tag in n.tags) for tag in {t for n in _NOUNS for t in n.tags}
}


# --- phrases ---------------------------------------------------------------------------------


def _pick_plural(rng: random.Random, noun: _Noun) -> bool:
    if not noun.en_sg:
        return True
    return bool(noun.en_pl) and rng.random() < 0.5


def _pick_det(rng: random.Random, noun: _Noun, plural: bool, oblique: bool) -> _Det:
    options = [_THE, _THIS] if "mass" in noun.tags else list(_DETS)
    if (plural or "mass" in noun.tags) and not oblique:
        options.append(_ALL)  # "all the lights", "all the milk", never "all the lamp"
    return rng.choices(options, weights=[d.weight for d in options])[0]


def _pick_adjectives(rng: random.Random, noun: _Noun, oblique: bool) -> list[tuple[str, _Forms]]:
    """At most one size/age/dirty adjective, then at most one colour (English and Hindi agree on order)."""
    if "mass" in noun.tags:
        return []
    if oblique:  # keep place phrases short: only "the small kitchen" style
        return [rng.choice(_ADJECTIVES["size"])] if "size" in noun.tags and rng.random() < 0.15 else []
    picked = []
    first = [c for c in ("size", "age", "dirty") if c in noun.tags]
    if first and rng.random() < 0.3:
        picked.append(rng.choice(_ADJECTIVES[rng.choice(first)]))
    if "colour" in noun.tags and rng.random() < 0.3:
        picked.append(rng.choice(_ADJECTIVES["colour"]))
    return picked


def _noun_phrase(rng: random.Random, noun: _Noun, oblique: bool = False) -> _Piece:
    plural = not oblique and _pick_plural(rng, noun)
    det = _pick_det(rng, noun, plural, oblique)
    adjectives = _pick_adjectives(rng, noun, oblique)
    det_en = det.en_pl if plural else det.en_sg
    noun_en = (noun.en_pl if plural else noun.en_sg).split()
    noun_hi = (noun.hi_obl if oblique else noun.hi_pl if plural else noun.hi_sg).split()
    en = (*det_en, *(a for a, _ in adjectives), *noun_en)
    hi: list[tuple[str, tuple[int, ...]]] = []
    if det.forms is not None:
        hi.append((_form(det.forms, noun.gender, plural, oblique), (0,)))  # "all the" → सारे: link "all"
    for k, (_, forms) in enumerate(adjectives):
        hi.append((_form(forms, noun.gender, plural, oblique), (len(det_en) + k,)))
    start = len(det_en) + len(adjectives)
    noun_links = tuple(range(start, start + len(noun_en)))
    # Two-word nouns map word by word ("washing machine" → "वॉशिंग मशीन").
    for k, word in enumerate(noun_hi):
        hi.append((word, (noun_links[k],) if len(noun_hi) == len(noun_links) else noun_links))
    return _Piece(en, tuple(hi))


def _choose_noun(rng: random.Random, tag: str, exclude: Sequence[_Noun] = ()) -> _Noun:
    nouns = [n for n in _BY_TAG[tag] if n not in exclude]
    return rng.choices(nouns, weights=[n.weight for n in nouns])[0]


def _objects(rng: random.Random, tag: str) -> tuple[_Piece, list[_Noun]]:
    """One object, or two joined by "and" ("the lights and the fan" → "लाइट और पंखा")."""
    nouns = [_choose_noun(rng, tag)]
    if rng.random() < 0.1:
        second = _choose_noun(rng, tag)
        if second is not nouns[0]:
            nouns.append(second)
    phrases = [_noun_phrase(rng, n) for n in nouns]
    if len(phrases) == 1:
        return phrases[0], nouns
    return _concat([phrases[0], _AND, phrases[1]]), nouns


def _verb_phrase(verb: _Verb, polite: bool, negated: bool) -> _Piece:
    """ "do not turn off" → "बंद मत करो": negation sits between the stem and the finite verb."""
    prefix = ("do", "not") if negated else ()
    links = tuple(range(len(prefix), len(prefix) + len(verb.en)))
    hi = [(w, links) for w in verb.stem]
    if negated:
        hi.append(("न" if polite else "मत", (0, 1)))
    hi.extend((w, links) for w in (verb.polite if polite else verb.familiar))
    return _Piece((*prefix, *verb.en), tuple(hi))


def _place(rng: random.Random, verb: _Verb, objects: list[_Noun]) -> _Piece | None:
    fixed = any(n.tags & {"room", "noplace"} for n in objects)  # no "clean the kitchen in the bedroom"
    if verb.place not in _PLACE_REQUIRED and (fixed or rng.random() >= 0.4):
        return None
    prep, tag = rng.choice(_PLACES[verb.place])
    noun_phrase = _noun_phrase(rng, _choose_noun(rng, tag, exclude=objects), oblique=True)
    post = _POSTPOSITIONS[prep].split()
    return _arrange([_Piece((prep,), tuple((w, (0,)) for w in post)), noun_phrase], [1, 0])


def _clause(rng: random.Random, polite: bool, please: bool) -> _Piece:
    verb = rng.choices(_VERBS, weights=_VERB_WEIGHTS)[0]
    obj, nouns = _objects(rng, verb.tag)
    parts = {
        "please": _PLEASE if please else None,
        "verb": _verb_phrase(verb, polite, rng.random() < 0.08),
        "object": obj,
        "place": _place(rng, verb, nouns),
        "time": rng.choice(_TIMES) if rng.random() < 0.3 else None,
    }
    present = [k for k, v in parts.items() if v is not None]  # dict order is the English order
    middle = ["object", "place"] if verb.place in _PLACE_AFTER_OBJECT else ["place", "object"]
    hindi = [present.index(k) for k in ("please", "time", *middle, "verb") if k in present]
    return _arrange([p for p in parts.values() if p is not None], hindi)


def _sentence(rng: random.Random, min_words: int, max_words: int) -> _Piece:
    """Clauses joined by connectors until a length drawn from [min_words, max_words] is reached, then an ending.

    Lengths count whitespace tokens, punctuation included.
    """
    for _ in range(10_000):
        polite = rng.random() < 0.25
        tail_please = polite and rng.random() < _TAIL_PLEASE_SHARE
        goal = rng.randint(min_words, max_words)
        parts = [_clause(rng, polite, please=polite and not tail_please)]
        words, misses = len(parts[0].en) + (len(_TAIL_PLEASE.en) if tail_please else 0), 0
        while words < goal and misses < 8:
            extra = [
                _connector(rng),
                _clause(rng, polite, please=polite and rng.random() < 0.2),
            ]
            size = sum(len(p.en) for p in extra)
            if words + size <= max_words:
                parts.extend(extra)
                words += size
            else:
                misses += 1
        ending = _ending(rng, max_words - words, tail_please)
        words += len(ending.en) if ending is not None else 0
        if min_words <= words <= max_words:
            return _finish(parts, tail_please, ending)
    raise RuntimeError(f"could not build a sentence of {min_words}-{max_words} words")


def _connector(rng: random.Random) -> _Piece:
    k = rng.choices(range(len(_CONNECTORS)), weights=_CONNECTOR_WEIGHTS)[0]
    return _concat([_COMMA, _CONNECTORS[k]]) if rng.random() < _COMMA_BEFORE[k] else _CONNECTORS[k]


def _ending(rng: random.Random, room: int, tail_please: bool) -> _Piece | None:
    """A sentence-final mark that fits in `room` tokens (no tag question after ", please")."""
    options = [
        (e, w)
        for e, w in zip(_ENDINGS, _ENDING_WEIGHTS, strict=True)
        if e is None or (len(e.en) <= room and not (tail_please and e.en[0] == ","))
    ]
    return rng.choices([e for e, _ in options], weights=[w for _, w in options])[0]


def _finish(clauses: list[_Piece], tail_please: bool, ending: _Piece | None) -> _Piece:
    """English: clauses, ", please", ending; Hindi: कृपया first, then the clauses and the ending."""
    parts = [*clauses, *([_TAIL_PLEASE] if tail_please else []), *([ending] if ending is not None else [])]
    order = list(range(len(parts)))
    if tail_please:
        order.insert(0, order.pop(len(clauses)))
    return _arrange(parts, order)


def _to_pair(piece: _Piece) -> Pair:
    alignment = sorted((s, t) for t, (_, links) in enumerate(piece.hi) for s in links)
    return Pair(" ".join(piece.en), " ".join(w for w, _ in piece.hi), tuple(alignment))


# --- public API ------------------------------------------------------------------------------


def generate(n: int, seed: int, min_words: int = 3, max_words: int = 15) -> list[Pair]:
    """`n` pairs whose source has min_words..max_words words; deterministic for a seed.

    min_words below 3 is raised to 3, the shortest command ("cook the rice").
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    min_words = max(min_words, MIN_SENTENCE_WORDS)
    if max_words < min_words:
        raise ValueError(f"max_words must be >= {min_words}, got {max_words}")
    rng = random.Random(seed)
    return [_to_pair(_sentence(rng, min_words, max_words)) for _ in range(n)]


def generate_by_length(
    n_per_bucket: int, seed: int, buckets: Sequence[tuple[int, int]] = DEFAULT_BUCKETS
) -> list[Pair]:
    """`n_per_bucket` pairs for each (lo, hi) source-length bucket, bucket by bucket."""
    rng = random.Random(seed)
    pairs: list[Pair] = []
    for lo, hi in buckets:
        lo = max(lo, MIN_SENTENCE_WORDS)
        if hi < lo:
            raise ValueError(f"bucket ({lo}, {hi}) is empty")
        pairs.extend(_to_pair(_sentence(rng, lo, hi)) for _ in range(n_per_bucket))
    return pairs


def format_alignment(alignment: Alignment) -> str:
    return " ".join(f"{s}-{t}" for s, t in alignment)


def parse_alignment(text: str) -> Alignment:
    """Pharaoh "s-t s-t ..." → ((s, t), ...)."""
    pairs = []
    for item in text.split():
        s, sep, t = item.partition("-")
        if not sep or not s.isdigit() or not t.isdigit():
            raise ValueError(f"bad alignment item {item!r} (expected 's-t')")
        pairs.append((int(s), int(t)))
    return tuple(pairs)


def write_tsv(pairs: Iterable[Pair], path: str | os.PathLike[str], with_alignment: bool = True) -> int:
    """`source<TAB>target[<TAB>alignment]` lines, written atomically; returns the line count."""
    rows = (
        (p.source, p.target, format_alignment(p.alignment)) if with_alignment else (p.source, p.target) for p in pairs
    )
    return write_tsv_atomic(rows, path)
