"""Writing a DecodeResult to .json, .npz or .csv (α with token headers), atomically.

A model without attention has no α and no e: JSON says `"alpha": null` and `"scores": null`, the NPZ leaves
those arrays out (its `has_attention` is False), and the CSV holds the output tokens under a header that says
there is no α.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.records import BeamNode, Candidate, DecodeResult, Perturbation
from engine.requests import to_dict
from models import atomic_write_bytes, atomic_write_text

CSV_CORNER = "output\\source"
NO_ALPHA_HEADER = "output (this model has no attention: no α)"


def export_result(
    result: DecodeResult,
    path: str | os.PathLike[str],
    model: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write `result` in the format its suffix names; `model` describes the model and `extra` adds top-level
    fields (JSON only)."""
    target = Path(path)
    writer = _WRITERS.get(target.suffix.lower())
    if writer is None:
        shown = f"'{target.suffix}'" if target.suffix else "a file without a suffix"
        raise ValueError(f"cannot export to {shown}: use one of {', '.join(_WRITERS)}")
    writer(result, target, dict(model or {}), dict(extra or {}))
    return target


def result_to_dict(result: DecodeResult, model: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Everything in the result except the hidden states, as JSON-ready values."""
    return {
        "model": dict(model or {}),
        "request_id": result.request_id,
        "strategy": result.strategy,
        "text": result.text,
        "source_tokens": list(result.source_tokens),
        "output_tokens": list(result.output_tokens),
        "unknown_tokens": [{"position": i, "token": result.source_tokens[i]} for i in result.unknown_positions],
        "token_probs": result.token_probs.tolist(),
        "token_log_probs": token_log_probs(result).tolist(),
        "has_attention": result.alpha is not None,
        "alpha": _listed(result.alpha),
        "scores": _listed(result.scores),
        "context": result.context.tolist(),
        "topk": [[_candidate(c) for c in step] for step in result.topk],
        "hypotheses": [
            {
                "tokens": list(h.tokens),
                "log_prob": h.log_prob,
                "score": h.score,  # log_prob / len(tokens) ** length_penalty
                "length_penalty": h.length_penalty,
                "finished": h.finished,
                "alpha": _listed(h.alpha),
            }
            for h in result.hypotheses
        ],
        "messages": list(result.messages),
        "seconds": result.seconds,
        **_whatif_dict(result),
        **_heads_dict(result),
    }


def _heads_dict(result: DecodeResult) -> dict[str, Any]:
    """A transformer's every layer and head, [steps, layers, heads, source_len] (steps include <eos>)."""
    heads = result.heads
    if heads is None:
        return {}
    out: dict[str, Any] = {
        "attention_view": f"alpha and scores: {heads.view}",
        **({"heads_source_tokens": list(heads.source_tokens)} if heads.source_tokens else {}),
        "cross_attention": heads.weights.tolist(),
        "cross_scores": heads.scores.tolist(),
        "value_weighted_norms": heads.norms.tolist(),
        "head_contexts": heads.contexts.tolist(),
    }
    if heads.self_weights:
        out["self_attention"] = [w.tolist() for w in heads.self_weights]
    return out


def _whatif_dict(result: DecodeResult) -> dict[str, Any]:
    """The what-if parts, present only when the decode has them."""
    out: dict[str, Any] = {}
    if result.interventions or result.score_temperature != 1.0:
        out["interventions"] = [to_dict(x) for x in result.interventions]
        out["score_temperature"] = result.score_temperature
    if result.beam_tree:
        out["beam_tree"] = [_beam_node(n) for n in result.beam_tree]
    if result.perturbations:
        out["perturbations"] = [_perturbation(p) for p in result.perturbations]
    return out


def _beam_node(n: BeamNode) -> dict[str, Any]:
    return {
        "index": n.index,
        "parent": n.parent,
        "step": n.step,
        "token": n.token,
        "log_prob": n.log_prob,
        "status": n.status,
    }


def _perturbation(p: Perturbation) -> dict[str, Any]:
    return {
        "position": p.position,
        "word": p.word,
        "replacement": p.replacement,
        "output_tokens": list(p.output_tokens),
        "text": p.text,
        "changed_positions": list(p.changed_positions),
        "lost_positions": list(p.lost_positions),
        "max_delta_alpha": [None if d != d else d for d in p.max_delta_alpha],  # NaN is not JSON
    }


def token_log_probs(result: DecodeResult) -> np.ndarray:
    """log p of each output token (from its float32 p: -inf where p underflowed to 0)."""
    with np.errstate(divide="ignore"):
        return np.log(result.token_probs.astype(np.float64))


def alpha_csv(result: DecodeResult) -> str:
    """α as a table: header "output\\source" + source tokens; then one row per output token.  Without attention:
    one column, the output tokens, under a header that says so."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if result.alpha is None:
        writer.writerow([NO_ALPHA_HEADER])
        writer.writerows([token] for token in result.output_tokens)
        return out.getvalue()
    # A transformer's α is one view of its heads: the corner cell says which (a CSV has no other place for it).
    corner = CSV_CORNER if result.heads is None else f"{CSV_CORNER} ({result.heads.view})"
    writer.writerow([corner, *result.source_tokens])
    for token, row in zip(result.output_tokens, result.alpha, strict=True):
        writer.writerow([token, *(f"{w:.9g}" for w in row.tolist())])  # 9 digits: float32 round-trips
    return out.getvalue()


def npz_bytes(result: DecodeResult) -> bytes:
    arrays: dict[str, np.ndarray] = {"has_attention": np.array(result.alpha is not None)}
    if result.alpha is not None and result.scores is not None:
        arrays.update(alpha=result.alpha, scores=result.scores)
    if result.hypotheses:
        arrays.update(_hypothesis_arrays(result))
    arrays.update(
        context=result.context,
        states=result.states,
        encoder_states=result.encoder_states,
        token_probs=result.token_probs,
        token_log_probs=token_log_probs(result),
        source_tokens=np.array(result.source_tokens, dtype=str),
        output_tokens=np.array(result.output_tokens, dtype=str),
        unknown_positions=np.array(result.unknown_positions, dtype=np.int64),
        **_heads_arrays(result),  # type: ignore[arg-type]
    )
    buffer = io.BytesIO()
    np.savez(buffer, allow_pickle=False, **arrays)
    return buffer.getvalue()


def _hypothesis_arrays(result: DecodeResult) -> dict[str, np.ndarray]:
    """Beam search: each hypothesis's text, log p and length-normalised score, best first, and the penalty."""
    hyps = result.hypotheses
    return {
        "hypothesis_tokens": np.array([" ".join(h.tokens) for h in hyps], dtype=str),
        "hypothesis_log_prob": np.array([h.log_prob for h in hyps], dtype=np.float64),
        "hypothesis_score": np.array([h.score for h in hyps], dtype=np.float64),
        "length_penalty": np.array(hyps[0].length_penalty, dtype=np.float64),
    }


def _listed(matrix: np.ndarray | None) -> list[Any] | None:
    return None if matrix is None else matrix.tolist()


def _heads_arrays(result: DecodeResult) -> dict[str, np.ndarray]:
    heads = result.heads
    if heads is None:
        return {}
    return {
        "cross_attention": heads.weights,
        "cross_scores": heads.scores,
        "value_weighted_norms": heads.norms,
        "head_contexts": heads.contexts,
        "attention_view": np.array(f"alpha and scores: {heads.view}"),
        **({"heads_source_tokens": np.array(heads.source_tokens, dtype=str)} if heads.source_tokens else {}),
    }


def _candidate(c: Candidate) -> dict[str, Any]:
    return {"token": c.token, "token_id": c.token_id, "prob": c.prob}


def _write_json(result: DecodeResult, path: Path, model: dict[str, Any], extra: dict[str, Any]) -> None:
    data = {**result_to_dict(result, model), **extra}
    atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")


def _write_npz(result: DecodeResult, path: Path, model: dict[str, Any], extra: dict[str, Any]) -> None:
    atomic_write_bytes(path, npz_bytes(result))


def _write_csv(result: DecodeResult, path: Path, model: dict[str, Any], extra: dict[str, Any]) -> None:
    atomic_write_text(path, alpha_csv(result))


_WRITERS: dict[str, Callable[[DecodeResult, Path, dict[str, Any], dict[str, Any]], None]] = {
    ".json": _write_json,
    ".npz": _write_npz,
    ".csv": _write_csv,
}
FORMATS = tuple(_WRITERS)
