"""The parts of one decoder step as the anatomy view shows them: the query, the scores e_ij, the weights α_ij,
each h_j scaled by its weight, their sum c_i, and the next-token candidates (numpy only)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from engine.records import Candidate, DecodeResult, DecodeStart, StepRecord

QUERY_NAMES = {
    "prev": "sᵢ₋₁, the decoder state before this step (Bahdanau)",
    "new": "sᵢ, the decoder state this step computed first (Luong, JoeyNMT, OpenNMT-py)",
}
NO_ATTENTION = "a decode without attention has no scores or weights to take apart"
FIRST_QUERY = "s₀, the decoder's initial state (Bahdanau)"


class StepAnatomy(NamedTuple):
    step: int
    source_tokens: tuple[str, ...]
    token: str  # the output token the step chose
    prob: float
    query: np.ndarray  # (H,) the vector the scores were computed from
    query_name: str  # which state it is, in words
    scores: np.ndarray  # (T,) e_ij
    alpha: np.ndarray  # (T,) α_ij = softmax(e_i·)_j (after any what-if edit)
    weighted: np.ndarray  # (T, H_enc) α_ij h_j
    context: np.ndarray  # (H_enc,) c_i = Σ_j α_ij h_j
    candidates: tuple[Candidate, ...]  # the most probable next tokens, most probable first
    pair_scores: int  # Tx × Ty: the scores the whole sentence pair needs


def step_anatomy(start: DecodeStart, records: Sequence[StepRecord], step: int, query: str, steps: int) -> StepAnatomy:
    """Step `step` of a decode taken apart; `records` are its steps so far (at least up to `step`), `query` the
    model's query kind ("prev" or "new"; describe()'s "query"), `steps` the output length Ty (so far)."""
    record = records[step]
    state = _query_state(query, step, start.initial_state, lambda i: records[i].state)
    return _anatomy(start.source_tokens, start.encoder_states, record, query, state, len(start.source_tokens) * steps)


def result_anatomy(result: DecodeResult, step: int, query: str) -> StepAnatomy:
    """Step `step` of a finished decode taken apart (a GIF's frames, an export)."""
    if result.initial_state is None:
        raise ValueError("this result carries no initial decoder state")
    if result.alpha is None or result.scores is None:
        raise ValueError(NO_ATTENTION)
    record = StepRecord(
        request_id=result.request_id,
        step=step,
        token_id=-1,
        token=result.output_tokens[step],
        prob=float(result.token_probs[step]),
        topk=result.topk[step],
        alpha=result.alpha[step],
        scores=result.scores[step],
        context=result.context[step],
        state=result.states[step],
        entropy=0.0,
    )
    state = _query_state(query, step, result.initial_state, lambda i: result.states[i])
    pairs = len(result.source_tokens) * len(result.output_tokens)
    return _anatomy(result.source_tokens, result.encoder_states, record, query, state, pairs)


def _query_state(query: str, step: int, initial: np.ndarray, state_of: Callable[[int], np.ndarray]) -> np.ndarray:
    if query == "prev":
        return initial if step == 0 else state_of(step - 1)
    if query == "new":
        return state_of(step)
    raise ValueError(f"a model without attention has no query (query kind {query!r})")


def _anatomy(
    source: tuple[str, ...], h: np.ndarray, record: StepRecord, query: str, state: np.ndarray, pairs: int
) -> StepAnatomy:
    step = record.step
    if record.alpha is None or record.scores is None:
        raise ValueError(NO_ATTENTION)
    alpha = np.asarray(record.alpha, dtype=np.float64)
    return StepAnatomy(
        step=step,
        source_tokens=source,
        token=record.token,
        prob=record.prob,
        query=np.asarray(state, dtype=np.float64),
        query_name=QUERY_NAMES[query] if step or query == "new" else FIRST_QUERY,
        scores=np.asarray(record.scores, dtype=np.float64),
        alpha=alpha,
        weighted=alpha[:, None] * np.asarray(h, dtype=np.float64),
        context=np.asarray(record.context, dtype=np.float64),
        candidates=tuple(sorted(record.topk, key=lambda c: c.prob, reverse=True)),
        pair_scores=pairs,
    )


class HeadAnatomy(NamedTuple):
    """One cross-attention head of a transformer at one step: q·k/√d → softmax → α → Σⱼ αⱼ vⱼ, then the layer's heads
    concatenated and projected by W_O."""

    step: int
    layer: int
    head: int
    source_tokens: tuple[str, ...]
    token: str
    prob: float
    scores: np.ndarray  # (T,) q·kⱼ/√d of this head
    alpha: np.ndarray  # (T,) its softmax
    norms: np.ndarray  # (T,) ‖αⱼ W_O^h vⱼ‖: what each source token adds to the layer's output through this head
    context: np.ndarray  # (d_head,) Σⱼ αⱼ vⱼ
    concatenated: np.ndarray  # (H · d_head,) every head's context of the layer, this one's at head · d_head
    output: np.ndarray | None  # (d_model,) W_O [c¹; …; c^H] + b, when the records hold this layer's output
    candidates: tuple[Candidate, ...]
    pair_scores: int  # Tx × Ty × heads × layers: the scores the sentence pair needs


def head_anatomy(
    record: StepRecord, source: tuple[str, ...], layer: int, head: int, steps: int, output_layer: int
) -> HeadAnatomy:
    """Head `head` of layer `layer` at the step `record` is; `output_layer`: the layer whose output the record's
    context holds (the view's), `steps`: the output length Ty so far."""
    heads = record.heads
    if heads is None:
        raise ValueError("this step has no heads (not a transformer)")
    layers, count = heads.weights.shape[:2]
    return HeadAnatomy(
        step=record.step,
        layer=layer,
        head=head,
        source_tokens=source,
        token=record.token,
        prob=record.prob,
        scores=np.asarray(heads.scores[layer, head], dtype=np.float64),
        alpha=np.asarray(heads.weights[layer, head], dtype=np.float64),
        norms=np.asarray(heads.norms[layer, head], dtype=np.float64),
        context=np.asarray(heads.contexts[layer, head], dtype=np.float64),
        concatenated=np.asarray(heads.contexts[layer], dtype=np.float64).reshape(-1),
        output=np.asarray(record.context, dtype=np.float64) if layer == output_layer % layers else None,
        candidates=tuple(sorted(record.topk, key=lambda c: c.prob, reverse=True)),
        pair_scores=len(source) * steps * layers * count,
    )
