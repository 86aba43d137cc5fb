"""Frozen records that cross from the engine to its consumers: steps, candidates, hypotheses, results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from engine.requests import Intervention

BEAM_STATUSES = ("kept", "pruned", "finished")


class DecodeStart(NamedTuple):
    """What a decode knows before its first step, sent ahead of it so every view can follow the steps as they
    come: the source as the model read it, the encoder states h_j and the decoder's initial state."""

    request_id: int
    source_tokens: tuple[str, ...]
    unknown_positions: tuple[int, ...]  # source positions outside the vocabulary
    encoder_states: np.ndarray  # (T, H_enc) the h_j
    initial_state: np.ndarray  # (H,) the top layer of s_0, before step 0 (Bahdanau's first query)
    max_steps: int  # the most steps this decode can take


class Candidate(NamedTuple):  # a named tuple: made k times per step, twice as fast as a frozen dataclass
    token: str
    token_id: int
    prob: float


class StepHeads(NamedTuple):
    """One step of a transformer: the cross-attention of every decoder layer and head (read-only views)."""

    weights: np.ndarray  # (L, H, T) α per layer and head
    scores: np.ndarray  # (L, H, T) q·k/√d_head before the softmax
    contexts: np.ndarray  # (L, H, d_head) Σ_j α_ij v_j per head
    norms: np.ndarray  # (L, H, T) value-weighted norms ‖α_ij W_O^h v_j‖ (Kobayashi et al. 2020)
    self_weights: np.ndarray | None  # (L, H, i + 1) decoder self-attention over the steps so far, when requested


class HeadMatrices(NamedTuple):
    """A transformer decode's StepHeads stacked over its steps (U: steps including <eos>)."""

    weights: np.ndarray  # (U, L, H, T)
    scores: np.ndarray  # (U, L, H, T)
    contexts: np.ndarray  # (U, L, H, d_head)
    norms: np.ndarray  # (U, L, H, T)
    self_weights: tuple[np.ndarray, ...]  # per step (L, H, i + 1); empty unless requested
    view: str  # what the records' alpha / scores / context hold, in words
    source_tokens: tuple[str, ...] = ()  # the columns of these arrays, where a view hides some of the result's


class StepRecord(NamedTuple):
    """Decoder step i: what it chose and why. Arrays are read-only numpy copies.

    A named tuple, like Candidate: immutable, and made for every step at a third of a frozen dataclass's
    cost (which sets each of its fields through object.__setattr__).  For a transformer, alpha and scores
    hold the selected view of its heads (default: the mean over the last layer's heads), context that
    layer's cross-attention block output, and `heads` every layer and head; RNN records have no heads.
    """

    request_id: int
    step: int
    token_id: int
    token: str
    prob: float  # probability of the chosen token
    topk: tuple[Candidate, ...]
    alpha: np.ndarray | None  # (T,) α_i·, sums to 1; None: the model has no attention (no α, no e)
    scores: np.ndarray | None  # (T,) raw e_i·; None with alpha
    context: np.ndarray  # (H_enc,) c_i
    state: np.ndarray  # (H,) top-layer decoder state s_i
    entropy: float  # of α_i·, in nats; NaN without attention
    heads: StepHeads | None = None  # transformers only


Run = tuple[StepRecord, ...]  # consecutive steps of one decode, handed out together


class Hypothesis(NamedTuple):
    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    score: float  # length-normalised log probability: log_prob / len(tokens) ** length_penalty
    log_prob: float
    alpha: np.ndarray | None  # (U, T); None: the model has no attention
    finished: bool
    length_penalty: float = 1.0  # the exponent the score was normalised with
    heads: HeadMatrices | None = None  # a transformer's every layer and head along this hypothesis; None: an RNN


@dataclass(frozen=True)  # not a named tuple: its `index` field would hide tuple.index
class BeamNode:
    """One candidate beam search scored: extended further (kept), dropped (pruned), or ended (finished)."""

    index: int  # position in DecodeResult.beam_tree
    parent: int  # index of the node it extends; -1: it extends <bos>
    step: int
    token: str
    token_id: int
    log_prob: float  # of the whole prefix ending here
    status: str  # one of BEAM_STATUSES


class Perturbation(NamedTuple):
    """The decode with one source word dropped (replacement "") or replaced, against the original."""

    position: int
    word: str
    replacement: str
    source_tokens: tuple[str, ...]
    output_tokens: tuple[str, ...]
    text: str
    changed_positions: tuple[int, ...]  # new output positions whose token is new or differs (aligned by edit distance)
    max_delta_alpha: tuple[float, ...]  # per new output row: max |Δα| against its aligned original row; NaN: none
    lost_positions: tuple[int, ...] = ()  # original output positions not kept: replaced or gone


class DecodeResult(NamedTuple):
    """The final record: the whole hypothesis and the full matrices (a named tuple, as StepRecord is)."""

    request_id: int
    strategy: str
    source_tokens: tuple[str, ...]
    output_tokens: tuple[str, ...]  # ends with "<eos>" when the model stopped by itself
    unknown_positions: tuple[int, ...]  # source positions outside the vocabulary
    alpha: np.ndarray | None  # (U, T); None: the model has no attention (every step reads one fixed vector)
    scores: np.ndarray | None  # (U, T); None with alpha
    context: np.ndarray  # (U, H_enc)
    states: np.ndarray  # (U, H)
    encoder_states: np.ndarray  # (T, H_enc) the h_j
    token_probs: np.ndarray  # (U,)
    topk: tuple[tuple[Candidate, ...], ...]
    hypotheses: tuple[Hypothesis, ...] = ()  # beam: every finished one, best first
    seconds: float = 0.0
    messages: tuple[str, ...] = ()  # notes for the user (truncation, fallbacks)
    text: str = ""  # the output detokenised, without <eos>
    beam_tree: tuple[BeamNode, ...] = ()  # beam: every candidate scored, in search order
    perturbations: tuple[Perturbation, ...] = ()  # one per source word when requested
    interventions: tuple[Intervention, ...] = ()  # the what-if edits this decode ran under
    score_temperature: float = 1.0
    initial_state: np.ndarray | None = None  # (H,) the top layer of s_0 (Bahdanau's query at step 0)
    heads: HeadMatrices | None = None  # transformers: every layer's and head's cross-attention


@dataclass(frozen=True)
class ModelInfo:
    """What the UI shows about the loaded model."""

    path: str
    description: dict[str, Any]  # models.checkpoint.describe()
    card: str  # the model card text shipped in the checkpoint
    device: str  # e.g. "cpu", "cuda:0"
    messages: tuple[str, ...] = ()  # e.g. a device fallback
    head_layout: tuple[int, int, int] | None = None  # a transformer's (decoder layers, heads, head width)

    @property
    def has_attention(self) -> bool:
        """False for the plain encoder-decoder (attention "none"): its decodes carry no α and no e."""
        return self.description.get("attention") != "none"


def frozen_array(values: np.ndarray) -> np.ndarray:
    """A fresh read-only copy, safe to hand to another thread."""
    return read_only(np.array(values, dtype=np.float32, copy=True))


def read_only(values: np.ndarray) -> np.ndarray:
    """`values` itself made read-only: for an array just made (a new tensor's memory, an np.stack), which
    nothing else holds, so frozen_array's copy would be a second one."""
    values.setflags(write=False)
    return values
