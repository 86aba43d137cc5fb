"""Translation quality against source length: BLEU, chrF, exact match, attention entropy and AER per bucket.

No Qt here: the CLI runs it directly and the GUI can run it on the engine thread through `progress`.

Metric choices (also written into the report's "notes"):
- BLEU and chrF are sacrebleu corpus scores on detokenised outputs against references normalised by
  the model's own target tokenizer (NFC, lowercase, punctuation and the danda split off). BLEU uses
  tokenize="none": both sides are already whitespace-tokenised by that tokenizer, which keeps vowel
  signs, virama and nukta on their letters, so a second tokeniser could only disagree with it.
  (sacrebleu's "13a" and "intl" leave our Devanagari words whole too; "none" keeps it that way for any
  script and is the one choice that scores exactly the tokens the model emits.)
- Attention entropy is -Σ α log α in nats, averaged over every greedy-output token (<eos> step
  excluded) in the bucket, so long outputs weigh more than short ones.
- A model without attention (one fixed context for every step) has no α: its entropy and AER are null.
- AER uses forced decoding of the reference: gold links index reference words, which only line up
  with output positions when the output is the reference. Each reference token (not <eos>) links to
  the argmax of its α row; links are mapped back to whitespace words and compared with the gold
  links taken as sure links: AER = 1 - 2|A∩S| / (|A| + |S|), pooled over the bucket's sentences.
- Every bucket is always present, so models line up index by index; an empty bucket has count 0
  and null scores.  A model without attention has no α: its entropy and AER are null.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from sacrebleu.metrics import BLEU, CHRF
from torch import Tensor

from engine.evaluation.report import BucketScores, EvaluationReport, ModelScores
from models import (
    SPACE_MARK,
    Alignment,
    Checkpoint,
    CheckpointError,
    DataError,
    Example,
    Tokenizer,
    greedy_batch,
    load_any,
    make_batch,
    parse_alignment,
    read_pairs,
    tokenize_pairs,
)

BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 10), (11, 20), (21, 30), (31, 40), (41, 50), (51, None))
OVERALL = "all"
BLEU_TOKENIZE = "none"

Progress = Callable[[int, int], bool | None]


class EvaluationCancelled(Exception):
    """The progress callback returned False."""


@dataclass(frozen=True)
class EvalPair:
    source: str
    target: str
    alignment: Alignment | None = None  # Pharaoh (source word, target word) links; None: no gold


@dataclass(frozen=True)
class Scores:
    range: str
    count: int
    bleu: float | None = None
    chrf: float | None = None
    exact_match: float | None = None
    aer: float | None = None
    entropy: float | None = None

    def to_dict(self) -> BucketScores:
        return {
            "range": self.range,
            "count": self.count,
            "bleu": _round(self.bleu, 2),
            "chrf": _round(self.chrf, 2),
            "exact_match": _round(self.exact_match, 4),
            "aer": _round(self.aer, 4),
            "entropy": _round(self.entropy, 4),
        }


@dataclass(frozen=True)
class ModelReport:
    model: str
    buckets: list[Scores]
    overall: Scores
    hypotheses: list[str] = field(default_factory=list)  # in input order; not written to JSON

    def to_dict(self) -> ModelScores:
        return {
            "model": self.model,
            "buckets": [b.to_dict() for b in self.buckets],
            "overall": self.overall.to_dict(),
        }


@dataclass(frozen=True)
class _Sentence:
    """What one sentence contributes to its bucket's scores."""

    hypothesis: str
    reference: str
    entropy_sum: float
    entropy_rows: int
    links: tuple[int, int, int] | None  # (|A∩S|, |A|, |S|); None: no gold alignment


# -- buckets ---------------------------------------------------------------------------------


def bucket_label(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else f"{lo}-{hi}"


BUCKET_LABELS = tuple(bucket_label(lo, hi) for lo, hi in BUCKETS)


def bucket_index(words: int) -> int:
    """Index into BUCKETS for a source of `words` whitespace words (0 words counts as the first bucket)."""
    for index, (_, hi) in enumerate(BUCKETS):
        if hi is None or words <= hi:
            return index
    raise AssertionError("the last bucket is open-ended")


# -- data ------------------------------------------------------------------------------------


def read_eval_pairs(path: str | Path) -> list[EvalPair]:
    """`source<TAB>target[<TAB>alignment]` lines; a malformed or out-of-range alignment is a DataError."""
    pairs = read_pairs(path)  # validates the two text columns, with line numbers
    lines = enumerate(Path(path).read_text("utf-8").splitlines(), 1)
    rows = [(n, line.split("\t")) for n, line in lines if line.strip()]  # the lines read_pairs kept
    out, bad = [], []
    for (number, cols), (source, target) in zip(rows, pairs, strict=True):
        try:
            alignment = _alignment(cols[2] if len(cols) > 2 else "", len(source.split()), len(target.split()))
        except ValueError as exc:
            bad.append(f"line {number}: {exc}")
            continue
        out.append(EvalPair(source, target, alignment))
    if bad:
        raise DataError(f"{path}: {len(bad)} bad alignment(s): {bad[0]}" + (" ..." if len(bad) > 1 else ""))
    return out


def _alignment(text: str, src_words: int, tgt_words: int) -> Alignment | None:
    if not text.strip():
        return None
    links = parse_alignment(text)
    for s, t in links:
        if s >= src_words or t >= tgt_words:
            raise ValueError(f"alignment link {s}-{t} is outside {src_words} source × {tgt_words} target words")
    return links


# -- alignment error rate ----------------------------------------------------------------------


def word_map(tokenizer: Tokenizer, text: str) -> list[int | None] | None:
    """Whitespace-word index of each model token of `text` (None for a space mark), or None if not recoverable."""
    tokens: list[str] = []
    mapping: list[int | None] = []
    for k, word in enumerate(text.split()):
        if k and tokenizer.kind == "char":
            tokens.append(SPACE_MARK)
            mapping.append(None)
        pieces = tokenizer.tokenize(word)
        tokens.extend(pieces)
        mapping.extend([k] * len(pieces))
    return mapping if tokens == tokenizer.tokenize(text) else None


def argmax_links(alpha: Tensor, src_map: Sequence[int | None], tgt_map: Sequence[int | None]) -> set[tuple[int, int]]:
    """(source word, target word) for each target token's most-attended source token; α is (U, T)."""
    links = set()
    for i, j in enumerate(alpha.argmax(-1).tolist()):
        s, t = src_map[j], tgt_map[i]
        if s is not None and t is not None:
            links.add((s, t))
    return links


def link_counts(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> tuple[int, int, int]:
    return len(predicted & gold), len(predicted), len(gold)


def aer_from_counts(both: int, predicted: int, gold: int) -> float:
    """AER with sure links only: 1 - 2|A∩S| / (|A| + |S|)."""
    return 1.0 - 2.0 * both / (predicted + gold) if predicted + gold else 0.0


def alignment_error_rate(predicted: set[tuple[int, int]], gold: set[tuple[int, int]]) -> float:
    return aer_from_counts(*link_counts(predicted, gold))


# -- decoding --------------------------------------------------------------------------------


def max_output_len(source_tokens: int) -> int:
    """Output limit that does not peek at the reference (the inspector's default too)."""
    return 2 * source_tokens + 10


@torch.inference_mode()
def decode_batch(ckpt: Checkpoint, examples: Sequence[Example]) -> tuple[list[list[int]], list[Tensor], list[Tensor]]:
    """Greedy ids and α rows (no <eos> row) per example, and forced-decoding α over the reference (no <eos> row)."""
    model = ckpt.model
    device = next(model.parameters()).device
    batch = make_batch(examples, ckpt.src_vocab, ckpt.tgt_vocab).to(device)
    lengths = batch.lengths.tolist()
    ids, alphas = greedy_batch(model, batch.src, batch.lengths, max_output_len(max(lengths)))
    # Greedy is causal, so cutting a row at its own limit gives what decoding it alone would.
    ids = [row[: max_output_len(n)] for row, n in zip(ids, lengths, strict=True)]
    greedy = [a[: len(row)] for a, row in zip(alphas, ids, strict=True)]
    _, forced = model(batch.src, batch.lengths, batch.tgt_in)
    forced = forced.cpu()
    refs = [forced[r, : len(ex.target), :n] for r, (ex, n) in enumerate(zip(examples, lengths, strict=True))]
    return ids, greedy, refs


def has_attention(ckpt: Checkpoint) -> bool:
    """False for the fixed-context model: its α rows are zeros, so entropy and AER would describe nothing."""
    return ckpt.config.attention != "none"


def _sentence(ckpt: Checkpoint, pair: EvalPair, ids: list[int], greedy: Tensor, forced: Tensor) -> _Sentence:
    """A model without attention has no α: no entropy and no AER (its placeholder weights are not counted)."""
    tok = ckpt.tgt_tokenizer
    attends = has_attention(ckpt)
    entropy = torch.special.entr(greedy.double()).sum(-1) if attends else greedy.new_zeros(0)
    return _Sentence(
        hypothesis=tok.detokenize(ckpt.tgt_vocab.decode(ids)),
        reference=tok.detokenize(tok.tokenize(pair.target)),
        entropy_sum=float(entropy.sum()),
        entropy_rows=int(entropy.numel()),
        links=_links(ckpt, pair, forced) if attends else None,
    )


def _links(ckpt: Checkpoint, pair: EvalPair, forced: Tensor) -> tuple[int, int, int] | None:
    if pair.alignment is None:
        return None
    src_map = word_map(ckpt.src_tokenizer, pair.source)
    tgt_map = word_map(ckpt.tgt_tokenizer, pair.target)
    if src_map is None or tgt_map is None:  # tokenisation cannot be traced back to words: no AER for it
        return None
    return link_counts(argmax_links(forced, src_map, tgt_map), set(pair.alignment))


def _decode_all(
    ckpt: Checkpoint, pairs: Sequence[EvalPair], batch_size: int, progress: Progress | None
) -> list[_Sentence]:
    examples = tokenize_pairs([(p.source, p.target) for p in pairs], ckpt.src_tokenizer, ckpt.tgt_tokenizer)
    empty = next((i for i, ex in enumerate(examples) if not ex.source), None)
    if empty is not None:
        raise DataError(f"sentence {empty + 1} has no source tokens: {pairs[empty].source[:60]!r}")
    order = sorted(range(len(examples)), key=lambda i: len(examples[i].source))  # similar lengths: little padding
    results: list[_Sentence | None] = [None] * len(examples)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        outputs = decode_batch(ckpt, [examples[i] for i in chunk])
        for i, ids, greedy, forced in zip(chunk, *outputs, strict=True):
            results[i] = _sentence(ckpt, pairs[i], ids, greedy, forced)
        if progress is not None and progress(start + len(chunk), len(order)) is False:
            raise EvaluationCancelled
    return [r for r in results if r is not None]


# -- scoring ---------------------------------------------------------------------------------


def score(label: str, sentences: Sequence[_Sentence]) -> Scores:
    if not sentences:
        return Scores(label, 0)
    hyps = [s.hypothesis for s in sentences]
    refs = [[s.reference for s in sentences]]
    rows = sum(s.entropy_rows for s in sentences)
    gold = [s.links for s in sentences if s.links is not None]
    return Scores(
        range=label,
        count=len(sentences),
        bleu=BLEU(tokenize=BLEU_TOKENIZE).corpus_score(hyps, refs).score,
        chrf=CHRF().corpus_score(hyps, refs).score,
        exact_match=sum(h == r for h, r in zip(hyps, refs[0], strict=True)) / len(sentences),
        aer=aer_from_counts(*(sum(c) for c in zip(*gold, strict=True))) if gold else None,
        entropy=sum(s.entropy_sum for s in sentences) / rows if rows else None,
    )


def evaluate_model(
    checkpoint: Checkpoint,
    pairs_with_alignments: Sequence[EvalPair],
    batch_size: int = 64,
    progress: Progress | None = None,
    name: str | None = None,
) -> ModelReport:
    """Greedy-decode every pair in length-sorted batches and score each source-length bucket.

    `progress(done, total)` is called after each batch; returning False raises EvaluationCancelled.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if not pairs_with_alignments:
        raise DataError("no sentence pairs to evaluate")
    sentences = _decode_all(checkpoint, pairs_with_alignments, batch_size, progress)
    grouped: list[list[_Sentence]] = [[] for _ in BUCKETS]
    for pair, sentence in zip(pairs_with_alignments, sentences, strict=True):
        grouped[bucket_index(len(pair.source.split()))].append(sentence)
    return ModelReport(
        model=name or (checkpoint.path.stem if checkpoint.path is not None else "model"),
        buckets=[score(label, group) for label, group in zip(BUCKET_LABELS, grouped, strict=True)],
        overall=score(OVERALL, sentences),
        hypotheses=[s.hypothesis for s in sentences],
    )


def report_dict(reports: Sequence[ModelReport], data: str | None = None) -> EvaluationReport:
    """The report file: {"models": [...]} plus how the numbers were made."""
    out: EvaluationReport = {"models": [r.to_dict() for r in reports]}
    if data is not None:
        out["data"] = data
    out["notes"] = {
        "buckets": "source length in whitespace words; empty buckets have count 0 and null scores",
        "bleu": f"sacrebleu corpus BLEU, tokenize={BLEU_TOKENIZE}: outputs and references are both "
        "already tokenised (and normalised) by the model's target tokenizer",
        "chrf": "sacrebleu chrF (character 6-grams, beta 2) corpus score",
        "exact_match": "fraction of outputs identical to the normalised reference",
        "entropy": "mean -sum(alpha log alpha) in nats over greedy output tokens (<eos> step excluded); "
        "null for a model without attention",
        "aer": "argmax of alpha under forced decoding of the reference vs gold links as sure links; "
        "null where the data has no alignments or the model has no attention",
    }
    return out


# -- files: what the GUI's engine thread runs ------------------------------------------------------


def model_names(paths: Sequence[str | os.PathLike[str]]) -> list[str]:
    """File stems, as the CLI names models; where two share a stem the parent folder is added (legend, CSV)."""
    stems = [Path(p).stem for p in paths]
    return [f"{Path(p).parent.name}/{Path(p).stem}" if stems.count(Path(p).stem) > 1 else Path(p).stem for p in paths]


def evaluate_files(
    model_paths: Sequence[str | os.PathLike[str]],
    data: str | os.PathLike[str],
    device: str = "cpu",
    batch_size: int = 64,
    progress: Progress | None = None,
) -> EvaluationReport:
    """report_dict() for every model on the test TSV `data`, each loaded with load_any onto `device`.

    The data and every model are checked before any decoding, so a bad file fails at once.
    `progress(done, total)` counts sentences over all models, starting with (0, total) once the
    models are loaded; returning False raises EvaluationCancelled.
    """
    if not model_paths:
        raise ValueError("no models to evaluate")
    pairs = read_eval_pairs(Path(data))
    checkpoints = [_load(path, device) for path in model_paths]
    total = len(pairs) * len(checkpoints)
    if progress is not None and progress(0, total) is False:
        raise EvaluationCancelled
    reports = []
    for k, (ckpt, name) in enumerate(zip(checkpoints, model_names(model_paths), strict=True)):
        offset = k * len(pairs)
        step = None if progress is None else _offset_progress(progress, offset, total)
        reports.append(evaluate_model(ckpt, pairs, batch_size, progress=step, name=name))
    return report_dict(reports, data=str(data))


def _load(path: str | os.PathLike[str], device: str) -> Checkpoint:
    try:
        return load_any(path, device)
    except (CheckpointError, OSError) as exc:
        if Path(path).name in str(exc):
            raise
        # Some loaders say only what is wrong ("header claims ... bytes"): with several models, say which.
        raise CheckpointError(f"{Path(path).name}: {exc}") from exc


def _offset_progress(progress: Progress, offset: int, total: int) -> Progress:
    def step(done: int, _model_total: int) -> bool | None:
        return progress(offset + done, total)

    return step


def format_table(reports: Sequence[ModelReport]) -> str:
    """Plain-text table for the terminal."""
    lines = [f"{'model':<24} {'range':>6} {'count':>5} {'BLEU':>6} {'chrF':>6} {'exact':>6} {'AER':>6} {'H(α)':>6}"]
    for report in reports:
        for s in [*report.buckets, report.overall]:
            cells = [_cell(s.bleu, 1), _cell(s.chrf, 1), _cell(s.exact_match, 3), _cell(s.aer, 3), _cell(s.entropy, 3)]
            lines.append(f"{report.model:<24} {s.range:>6} {s.count:>5} " + " ".join(f"{c:>6}" for c in cells))
    return "\n".join(lines)


def _cell(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
