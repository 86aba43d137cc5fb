"""Which cross-attention head to trust: every head, each layer's mean and the mean of all, ranked by word-level AER.

The rule (also written into the report): each reference is forced-decoded through the engine's session, as the
quality evaluation's AER does, so the gold links (which index reference words) line up with the output.  A head's
α is taken to words by engine/word_view.py (a source word's pieces summed, a target word's pieces averaged); each
target word is linked to the source word it gives the most weight, and to none where that is a start or end token;
AER = 1 - 2|A∩S| / (|A| + |S|) against the gold links as sure links, pooled over the sentences.  A sentence
whose tokens do not line up with its whitespace words (truncated, or punctuation split off a word) is skipped.

Heads that put more than SINK_SHARE of their α on the end token or punctuation (engine/head_views.py) are
flagged as attention sinks; their share is each head's mean over every step of every scored sentence.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from engine.decoding.session import InferenceSession
from engine.evaluation.head_report import HeadRankingReport, HeadScore, head_label
from engine.evaluation.quality import (
    EvalPair,
    EvaluationCancelled,
    Progress,
    aer_from_counts,
    link_counts,
    model_names,
    read_eval_pairs,
)
from engine.head_views import END_TOKENS, SINK_SHARE, HeadChoice, sink_shares, view_rows
from engine.records import DecodeResult
from engine.requests import DecodeRequest, InputError
from engine.word_view import word_level
from models import SPECIALS, UNK, DataError, head_layout

RULE = (
    "forced decoding of the reference; each head's α taken to words (a source word's pieces summed, a target "
    "word's pieces averaged); each target word linked to the source word with the largest weight (no link where "
    "that is a start or end token); AER = 1 - 2|A∩S| / (|A| + |S|) against the gold links as sure links, pooled over "
    "the sentences"
)
SINK_RULE = f"a sink head puts more than {SINK_SHARE:.0%} of its α, over every step, on the end token or punctuation"
# Boundary tokens: in the α, in no gold link (an unknown word is still a word).
NOT_WORDS = frozenset((*SPECIALS, "<s>", "[CLS]", *END_TOKENS)) - {UNK}


class NoHeadsError(ValueError):
    """The model has no attention heads (an RNN): there is nothing to rank."""


def head_choices(layers: int, heads: int) -> list[HeadChoice]:
    """Every head, then each layer's mean, then the mean of all."""
    every = [HeadChoice("head", layer, head) for layer in range(layers) for head in range(heads)]
    return every + [HeadChoice("layer", layer) for layer in range(layers)] + [HeadChoice("all")]


def word_links(
    source_tokens: Sequence[str], output_tokens: Sequence[str], rows: np.ndarray, words: tuple[int, int]
) -> set[tuple[int, int]] | None:
    """(source word, target word) links from (U, T) α rows by the argmax rule; None where the tokens do not
    line up with the `words` (source, target) whitespace words of the sentence."""
    view = word_level(source_tokens, output_tokens, rows)
    sources, targets = _word_index(view.source_words, words[0]), _word_index(view.output_words, words[1])
    if sources is None or targets is None:
        return None
    links = set()
    for t, j in enumerate(view.alpha.argmax(axis=1).tolist()):
        s, w = sources[j], targets[t]
        if s is not None and w is not None:
            links.add((s, w))
    return links


def _word_index(words: Sequence[str], count: int) -> list[int | None] | None:
    """The whitespace word each aggregated word is (None for a boundary token), or None if they do not line up."""
    index: list[int | None] = []
    for word in words:
        index.append(None if word in NOT_WORDS else sum(i is not None for i in index))
    return index if sum(i is not None for i in index) == count else None


class _Tally:
    """Link counts per choice and sink weight per head, pooled over the sentences."""

    def __init__(self, choices: list[HeadChoice], layers: int, heads: int) -> None:
        self.choices = choices
        self.counts = np.zeros((len(choices), 3), dtype=np.int64)  # |A∩S|, |A|, |S|
        self.sink_weight = np.zeros((layers, heads))
        self.steps = 0
        self.sentences = 0
        self.skipped = 0

    def add(self, result: DecodeResult, pair: EvalPair) -> None:
        assert result.heads is not None and pair.alignment is not None
        weights, norms = result.heads.weights, result.heads.norms
        words = (len(pair.source.split()), len(pair.target.split()))
        gold = set(pair.alignment)
        counts = []
        for choice in self.choices:
            links = word_links(result.source_tokens, result.output_tokens, view_rows(weights, norms, choice), words)
            if links is None:
                self.skipped += 1
                return
            counts.append(link_counts(links, gold))
        self.counts += np.array(counts, dtype=np.int64)
        self.sink_weight += sink_shares(weights, result.source_tokens) * len(weights)
        self.steps += len(weights)
        self.sentences += 1

    def scores(self) -> list[HeadScore]:
        shares = self.sink_weight / max(self.steps, 1)
        rows = []
        for choice, counts in zip(self.choices, self.counts.tolist(), strict=True):
            share = float(_pick(shares, choice))
            rows.append(
                HeadScore(
                    kind=choice.kind,
                    layer=None if choice.kind == "all" else choice.layer,
                    head=choice.head if choice.kind == "head" else None,
                    label=head_label(choice.kind, choice.layer, choice.head),
                    rank=0,
                    aer=aer_from_counts(*counts) if self.sentences else None,
                    sink_share=round(share, 4),
                    sink=share > SINK_SHARE,
                )
            )
        return _ranked(rows)


def _pick(shares: np.ndarray, choice: HeadChoice) -> float:
    """A choice's sink share: its head's, or the mean of its heads' (α is averaged, so its share is too)."""
    if choice.kind == "head":
        return float(shares[choice.layer, choice.head])
    return float(shares[choice.layer].mean() if choice.kind == "layer" else shares.mean())


def _ranked(rows: list[HeadScore]) -> list[HeadScore]:
    """Lowest AER first (ties keep the order of head_choices: heads by layer, then the means), then rounded."""
    order = sorted(rows, key=lambda r: (r["aer"] is None, r["aer"] or 0.0))
    for rank, row in enumerate(order, 1):
        row["rank"] = rank
        row["aer"] = None if row["aer"] is None else round(row["aer"], 4)
    return order


def rank_heads(
    session: InferenceSession,
    pairs: Sequence[EvalPair],
    progress: Progress | None = None,
    model: str = "model",
    data: str = "",
) -> HeadRankingReport:
    """The ranking of `session`'s heads on `pairs` (those with gold links); NoHeadsError for a model without heads.

    `progress(done, total)` counts the sentences with gold links, from (0, total); returning False raises
    EvaluationCancelled.
    """
    layout = heads_of(session, model)
    gold = [p for p in pairs if p.alignment is not None]
    if not gold:
        raise DataError(f"{data or 'the data'} has no gold alignments (a third column of s-t links) to rank heads by")
    decoded = _forced_all(session, gold, progress)
    return rank_results(decoded, layout, model, data, skipped=len(pairs) - len(gold))


def heads_of(session: InferenceSession, model: str = "model") -> tuple[int, int]:
    """(decoder layers, heads per layer) of the session's model; NoHeadsError for a model without heads."""
    layout = head_layout(session.model.config)
    if layout is None:
        raise NoHeadsError(f"{model} has no attention heads (an RNN): only a transformer's heads can be ranked")
    return layout[0], layout[1]


def rank_results(
    decoded: Iterable[tuple[DecodeResult, EvalPair]],
    layout: tuple[int, int],
    model: str = "model",
    data: str = "",
    skipped: int = 0,
) -> HeadRankingReport:
    """The report for forced decodes of references with gold links (each result with its pair), from the
    (layers, heads) of the model; `skipped` counts sentences left out before (no gold links)."""
    layers, heads = layout
    tally = _Tally(head_choices(layers, heads), layers, heads)
    for result, pair in decoded:
        tally.add(result, pair)
    ranking = tally.scores()
    single = [r for r in ranking if r["kind"] == "head" and r["aer"] is not None]
    return HeadRankingReport(
        model=model,
        data=data,
        layers=layers,
        heads=heads,
        rule=RULE,
        sink_rule=SINK_RULE,
        sentences=tally.sentences,
        skipped=tally.skipped + skipped,
        ranking=ranking,
        best=single[0] if single else None,
        sinks=[r["label"] for r in ranking if r["kind"] == "head" and r["sink"]],
    )


def _forced_all(
    session: InferenceSession, pairs: Sequence[EvalPair], progress: Progress | None
) -> Iterator[tuple[DecodeResult, EvalPair]]:
    """Each reference forced-decoded, in order, with progress after each."""
    _report_progress(progress, 0, len(pairs))
    for n, pair in enumerate(pairs, 1):
        try:
            result = session.run(DecodeRequest(n, pair.source, strategy="forced", target=pair.target))
        except InputError as exc:
            raise DataError(f"sentence {n} with gold links: {exc}") from exc
        yield result, pair
        _report_progress(progress, n, len(pairs))


def _report_progress(progress: Progress | None, done: int, total: int) -> None:
    if progress is not None and progress(done, total) is False:
        raise EvaluationCancelled


def rank_head_file(
    model: str | os.PathLike[str],
    data: str | os.PathLike[str],
    device: str = "cpu",
    progress: Progress | None = None,
) -> HeadRankingReport:
    """rank_heads() for the model file or folder `model` on the test TSV `data` (checked before the model loads)."""
    pairs = read_eval_pairs(Path(data))
    session = InferenceSession.open(model, device)
    return rank_heads(session, pairs, progress, model=model_names([model])[0], data=str(data))
