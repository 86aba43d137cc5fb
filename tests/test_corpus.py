"""Synthetic corpora: determinism, lengths, gold alignments, Hindi word order, dates, TSV files."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from models.data import corpus_dates, corpus_en_hi
from models.data.corpus_cli import main as cli_main
from models.data.corpus_en_hi import ARTICLE_EXAMPLE, HINDI_VERB_FORMS, Pair
from models.data.tsv_io import read_tsv, write_tsv_atomic
from models.tokens import Tokenizer

CONNECTORS_HI = {"और", "फिर", "उसके", ","}  # tokens that may follow a clause-final verb
ENDINGS_HI = ((), ("।",), ("!",), (",", "ठीक", "है", "?"))  # what may follow the last verb
PUNCTUATION = {",", ".", "!", "?", "।"}


def _body(words: list[str]) -> list[str]:
    """Hindi tokens without the sentence ending (full stop, "!" or the ", ठीक है ?" tag)."""
    ending = max((e for e in ENDINGS_HI if tuple(words[len(words) - len(e) :]) == e), key=len)
    return words[: len(words) - len(ending)]


@pytest.fixture(scope="module")
def long_pairs() -> list[Pair]:
    return corpus_en_hi.generate(20000, seed=1, min_words=3, max_words=60)


@pytest.fixture(scope="module")
def short_pairs() -> list[Pair]:
    return corpus_en_hi.generate(3000, seed=5, min_words=3, max_words=8)


# --- English→Hindi: determinism and lengths -------------------------------------------------


def test_same_seed_same_pairs_and_different_seed_differs() -> None:
    a = corpus_en_hi.generate(300, seed=11, max_words=30)
    assert a == corpus_en_hi.generate(300, seed=11, max_words=30)
    assert a != corpus_en_hi.generate(300, seed=12, max_words=30)


@pytest.mark.parametrize(("lo", "hi"), [(3, 3), (3, 15), (10, 12), (40, 60), (55, 60)])
def test_source_length_within_bounds(lo: int, hi: int) -> None:
    pairs = corpus_en_hi.generate(200, seed=lo * 100 + hi, min_words=lo, max_words=hi)
    lengths = [len(p.source.split()) for p in pairs]
    assert min(lengths) >= lo
    assert max(lengths) <= hi


def test_long_sentences_exist_when_asked(long_pairs: list[Pair]) -> None:
    lengths = Counter(len(p.source.split()) for p in long_pairs)
    assert sum(c for n, c in lengths.items() if n >= 50) > 1000
    assert max(lengths) <= 60
    assert sum(c for n, c in lengths.items() if n <= 10) > 500  # short ones too, not only long


def test_impossible_lengths_are_rejected() -> None:
    with pytest.raises(ValueError):
        corpus_en_hi.generate(5, seed=1, min_words=3, max_words=2)
    with pytest.raises(ValueError):
        corpus_en_hi.generate(-1, seed=1)


def test_length_buckets() -> None:
    buckets = ((1, 10), (11, 20), (51, 60))
    pairs = corpus_en_hi.generate_by_length(40, seed=7, buckets=buckets)
    assert len(pairs) == 120
    for k, (lo, hi) in enumerate(buckets):
        lengths = [len(p.source.split()) for p in pairs[k * 40 : (k + 1) * 40]]
        assert all(max(lo, 3) <= n <= hi for n in lengths), (lo, hi, lengths)
    assert pairs == corpus_en_hi.generate_by_length(40, seed=7, buckets=buckets)
    assert len(corpus_en_hi.generate_by_length(2, seed=7)) == 2 * len(corpus_en_hi.DEFAULT_BUCKETS)


# --- English→Hindi: content -----------------------------------------------------------------


def test_article_example_is_generated(short_pairs: list[Pair]) -> None:
    produced = {(p.source, p.target) for p in short_pairs}
    assert ARTICLE_EXAMPLE == ("turn off the lights", "लाइट बंद करो")
    assert ARTICLE_EXAMPLE in produced
    assert ("turn on the lights", "लाइट चालू करो") in produced


def test_reordering_examples_from_the_brief(long_pairs: list[Pair]) -> None:
    table = {p.source: p.target for p in corpus_en_hi.generate(20000, seed=0, max_words=8)}
    command = "turn off the lights in the kitchen"
    kitchen = {s: t for s, t in table.items() if s in {command, command + " .", command + " !"}}
    assert kitchen, "reordering example missing from the sample"
    assert all(t.startswith("रसोई में लाइट बंद करो") for t in kitchen.values()), kitchen
    with_box = [p for p in long_pairs if "the big red box" in p.source]
    assert with_box, "adjective example missing from the sample"
    assert all("बड़ा लाल डिब्बा" in p.target or "बड़े लाल डिब्बे" in p.target for p in with_box)


def test_same_english_always_gets_same_hindi(long_pairs: list[Pair], short_pairs: list[Pair]) -> None:
    seen: dict[str, str] = {}
    others = corpus_en_hi.generate(20000, seed=2, max_words=10)
    for p in [*long_pairs, *short_pairs, *others]:
        assert seen.setdefault(p.source, p.target) == p.target, p.source


def test_text_is_clean_lowercase_pretokenised_and_nfc(long_pairs: list[Pair]) -> None:
    tokenizer = Tokenizer()
    for p in long_pairs[:3000]:
        # Lower-case words and standalone marks, single spaces: whitespace split is the word tokeniser.
        assert re.fullmatch(r"([a-z]+|[,.?!])( ([a-z]+|[,.?!]))*", p.source), p.source
        assert unicodedata.normalize("NFC", p.target) == p.target
        hindi_token = r"([\u0900-\u0963\u0966-\u097F]+|[,।?!])"  # Devanagari letters (no danda), or one mark
        assert re.fullmatch(rf"{hindi_token}( {hindi_token})*", p.target), p.target
        assert "." not in p.target  # Hindi ends a sentence with the danda
        assert tokenizer.tokenize(p.source) == p.source.split() and tokenizer.tokenize(p.target) == p.target.split()


def test_punctuation_is_ordinary_and_varied(long_pairs: list[Pair]) -> None:
    counts = Counter(w for p in long_pairs for w in p.source.split() if w in PUNCTUATION)
    assert all(counts[mark] > 500 for mark in ",.!?"), counts
    assert sum(p.source.split()[-1] not in PUNCTUATION for p in long_pairs) > 5000  # unpunctuated ones too


def test_vocabularies_stay_small(long_pairs: list[Pair]) -> None:
    english = {w for p in long_pairs for w in p.source.split()}
    hindi = {w for p in long_pairs for w in p.target.split()}
    assert 120 <= len(english) <= 200
    assert 120 <= len(hindi) <= 220


# --- English→Hindi: alignments --------------------------------------------------------------


def test_alignment_indices_valid_and_every_target_word_aligned(long_pairs: list[Pair]) -> None:
    for p in long_pairs:
        n_src, n_tgt = len(p.source.split()), len(p.target.split())
        assert len(set(p.alignment)) == len(p.alignment)
        assert all(0 <= s < n_src and 0 <= t < n_tgt for s, t in p.alignment)
        assert {t for _, t in p.alignment} == set(range(n_tgt)), p


def test_article_alignment_links_verb_to_both_english_words() -> None:
    pair = next(p for p in corpus_en_hi.generate(3000, seed=5, max_words=8) if p.source == ARTICLE_EXAMPLE[0])
    # turn(0) off(1) the(2) lights(3) → लाइट(0) बंद(1) करो(2); "the" has no Hindi counterpart.
    assert pair.alignment == ((0, 1), (0, 2), (1, 1), (1, 2), (3, 0))


def test_alignments_link_translations(long_pairs: list[Pair]) -> None:
    """Each Hindi word is aligned only to English words it can translate."""
    linked: dict[str, set[str]] = defaultdict(set)
    for p in long_pairs:
        src, tgt = p.source.split(), p.target.split()
        for s, t in p.alignment:
            linked[tgt[t]].add(src[s])
    assert linked["लाइट"] == {"light", "lights"}
    assert linked["कृपया"] == {"please"}
    assert linked["में"] == {"in", "to"}
    assert linked["पर"] == {"on"}
    assert linked["रसोई"] == {"kitchen"}
    assert linked["मत"] == {"do", "not"}
    assert linked["बंद"] == {"turn", "switch", "off", "close"}
    assert linked["डिब्बा"] == {"box"}
    assert linked["बड़ा"] == {"big"}
    assert linked["सारी"] == {"all"}
    assert linked[","] == {","} and linked["।"] == {"."} and linked["!"] == {"!"} and linked["?"] == {"?"}
    assert linked["ठीक"] == linked["है"] == {"okay"}


def test_marks_align_to_each_other_and_only_a_final_pleases_comma_is_unaligned(long_pairs: list[Pair]) -> None:
    tail = 0
    for p in long_pairs:
        src, tgt = p.source.split(), p.target.split()
        linked = {s for s, _ in p.alignment}
        for s, word in enumerate(src):
            if word in PUNCTUATION and s not in linked:
                assert src[s + 1] == "please" and s + 2 >= len(src) - 1, p.source  # ", please" at the end
                assert tgt[0] == "कृपया" and (s + 1, 0) in p.alignment, p
                tail += 1
    assert tail > 100


def test_please_at_the_end_goes_first_in_hindi() -> None:
    table = {p.source: p.target for p in corpus_en_hi.generate(30000, seed=0, max_words=8)}
    assert table["turn off the lights , please !"] == "कृपया लाइट बंद करें !"
    assert table["turn off the lights ."] == "लाइट बंद करो ।"
    assert table["turn off the lights , okay ?"] == "लाइट बंद करो , ठीक है ?"


def test_alignment_text_round_trip() -> None:
    pair = corpus_en_hi.generate(1, seed=3, min_words=20, max_words=30)[0]
    text = corpus_en_hi.format_alignment(pair.alignment)
    assert re.fullmatch(r"\d+-\d+( \d+-\d+)*", text)
    assert corpus_en_hi.parse_alignment(text) == pair.alignment
    assert corpus_en_hi.parse_alignment("") == ()
    with pytest.raises(ValueError):
        corpus_en_hi.parse_alignment("0-1 2:3")


# --- English→Hindi: word order ----------------------------------------------------------------


def _hindi_clauses(pair: Pair) -> list[list[int]]:
    """Target token indices per clause: a clause ends at its finite verb (connectors dropped)."""
    clauses: list[list[int]] = [[]]
    src = pair.source.split()
    tail_please = {t for s, t in pair.alignment if src[s - 1 : s + 1] == [",", "please"]}
    for t, word in enumerate(_body(pair.target.split())):
        if t in tail_please:
            continue  # a sentence-final "please" is the one word that crosses clauses
        if word in CONNECTORS_HI and not clauses[-1]:
            continue  # connector between clauses ("और फिर", "उसके बाद")
        if word == "बाद" and not clauses[-1]:
            continue
        clauses[-1].append(t)
        if word in HINDI_VERB_FORMS:
            clauses.append([])
    return [c for c in clauses if c]


def test_hindi_is_verb_final(long_pairs: list[Pair], short_pairs: list[Pair]) -> None:
    for p in [*long_pairs, *short_pairs]:
        words = _body(p.target.split())
        assert words[-1] in HINDI_VERB_FORMS, p.target
        for k, word in enumerate(words[:-1]):
            if word in HINDI_VERB_FORMS:  # a verb only ever closes a clause
                assert words[k + 1] in CONNECTORS_HI, p.target


def test_single_clause_commands_end_with_their_verb(short_pairs: list[Pair]) -> None:
    verbs = {
        "turn",
        "switch",
        "open",
        "close",
        "lock",
        "clean",
        "wash",
        "bring",
        "put",
        "take",
        "find",
        "fill",
        "heat",
        "cook",
        "boil",
        "charge",
    }
    single = [p for p in short_pairs if sum(w in verbs for w in p.source.split()) == 1]
    assert len(single) > 500
    for p in single:
        src, tgt = p.source.split(), _body(p.target.split())
        verb_index = next(i for i, w in enumerate(src) if w in verbs)
        assert tgt[-1] in HINDI_VERB_FORMS
        assert (verb_index, len(tgt) - 1) in p.alignment  # the final Hindi word translates the verb


def test_clause_order_follows_english(long_pairs: list[Pair]) -> None:
    for p in long_pairs[:3000]:
        spans = []
        for clause in _hindi_clauses(p):
            sources = [s for s, t in p.alignment if t in set(clause)]
            spans.append((min(sources), max(sources)))
        assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False)), p


def test_register_is_uniform(long_pairs: list[Pair]) -> None:
    familiar = {"करो", "खोलो", "लाओ", "रखो", "जाओ", "धोओ", "पकाओ"}
    polite = {"करें", "खोलें", "लाएँ", "रखें", "जाएँ", "धोएँ", "पकाएँ"}
    for p in long_pairs:
        words = set(p.target.split())
        if "please" in p.source.split():
            assert not words & familiar and "मत" not in words, p.target
        else:
            assert not words & polite and "न" not in words, p.target


# --- dates ----------------------------------------------------------------------------------


def _parse_written_date(text: str) -> tuple[date, str | None]:
    """Independent reader for the generated forms: returns the date and any stated weekday."""
    words = text.replace(",", "").split()
    weekday = words.pop(0) if words[0] in corpus_dates.WEEKDAYS else None
    cleaned = " ".join(w for w in words if w not in ("the", "of"))
    cleaned = re.sub(r"\b(\d+)(st|nd|rd|th)\b", r"\1", cleaned)
    for fmt in (
        "%d %B %Y",
        "%B %d %Y",
        "%d %b %Y",
        "%b %d %Y",
        "%d/%m/%Y",
        "%d.%m.%Y",
        "%d-%m-%Y",
        "%Y/%m/%d",
        "%Y %B %d",
    ):
        try:
            return datetime.strptime(cleaned, fmt).date(), weekday
        except ValueError:
            continue
    raise AssertionError(f"unparseable date {text!r}")


def test_dates_parse_back_to_their_iso_target() -> None:
    pairs = corpus_dates.generate(500, seed=4)
    for source, iso in pairs:
        expected = date.fromisoformat(iso)
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", iso)
        assert source == source.lower()
        parsed, weekday = _parse_written_date(source)
        assert parsed == expected, source
        if weekday is not None:
            assert weekday == corpus_dates.WEEKDAYS[expected.weekday()], source
        assert 1950 <= expected.year <= 2050


def test_dates_deterministic_and_cover_every_style() -> None:
    pairs = corpus_dates.generate(4000, seed=9)
    assert pairs == corpus_dates.generate(4000, seed=9)
    assert pairs != corpus_dates.generate(4000, seed=10)
    sources = {s for s, _ in pairs}
    assert any("/" in s for s in sources) and any(" of " in s for s in sources)
    assert any(s.split()[0] in corpus_dates.WEEKDAYS for s in sources)
    for style in corpus_dates.FORMATS:  # every style renders a parseable date
        assert _parse_written_date(corpus_dates.format_date(date(1999, 2, 3), style))[0] == date(1999, 2, 3)


def test_dates_example_and_fixed_day_month_convention() -> None:
    source, iso = corpus_dates.EXAMPLE
    assert corpus_dates.format_date(date.fromisoformat(iso), "ordinal_of") == source
    assert corpus_dates.format_date(date(2026, 3, 5), "slash") == "5/3/2026"  # day first, always
    assert [corpus_dates.ordinal(d) for d in (1, 2, 3, 4, 11, 12, 13, 21, 22, 23, 31)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "23rd",
        "31st",
    ]


# --- TSV files and the CLI ------------------------------------------------------------------


def test_en_hi_tsv_round_trip(tmp_path: Path) -> None:
    pairs = corpus_en_hi.generate(50, seed=3, max_words=40)
    path = tmp_path / "sub" / "en_hi.tsv"
    assert corpus_en_hi.write_tsv(pairs, path) == 50
    rows = read_tsv(path)
    back = [Pair(s, t, corpus_en_hi.parse_alignment(a)) for s, t, a in rows]
    assert back == pairs
    assert [p.name for p in path.parent.iterdir()] == ["en_hi.tsv"]  # no temp file left behind
    corpus_en_hi.write_tsv(pairs, path, with_alignment=False)
    assert read_tsv(path) == [[p.source, p.target] for p in pairs]


def test_dates_tsv_round_trip(tmp_path: Path) -> None:
    pairs = corpus_dates.generate(100, seed=2)
    path = tmp_path / "dates.tsv"
    corpus_dates.write_tsv(pairs, path)
    assert [tuple(r) for r in read_tsv(path)] == pairs


def test_tsv_writer_refuses_tabs_and_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.tsv"
    write_tsv_atomic([("a", "b")], path)
    with pytest.raises(ValueError):
        write_tsv_atomic([("ok", "fine"), ("bad\tfield", "x")], path)
    assert read_tsv(path) == [["a", "b"]]
    assert [p.name for p in tmp_path.iterdir()] == ["x.tsv"]


def test_cli_writes_all_three_corpora(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    en_hi, buckets, dates = tmp_path / "en_hi.tsv", tmp_path / "buckets.tsv", tmp_path / "dates.tsv"
    assert (
        cli_main(["en-hi", "--n", "30", "--seed", "1", "--min-words", "3", "--max-words", "60", "--out", str(en_hi)])
        == 0
    )
    assert cli_main(["en-hi-buckets", "--per-bucket", "5", "--seed", "7", "--out", str(buckets)]) == 0
    assert cli_main(["dates", "--n", "25", "--seed", "1", "--out", str(dates)]) == 0
    rows = read_tsv(en_hi)
    assert len(rows) == 30 and all(len(r) == 3 for r in rows)
    assert rows == [
        [p.source, p.target, corpus_en_hi.format_alignment(p.alignment)]
        for p in corpus_en_hi.generate(30, seed=1, min_words=3, max_words=60)
    ]
    assert len(read_tsv(buckets)) == 5 * len(corpus_en_hi.DEFAULT_BUCKETS)
    assert [tuple(r) for r in read_tsv(dates)] == corpus_dates.generate(25, seed=1)
    assert "wrote 25 pairs" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli_main(["en-hi", "--n", "3", "--max-words", "2", "--out", str(en_hi)])
