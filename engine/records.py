"""Frozen records that cross from the engine to its consumers: requests, steps, results."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

STRATEGIES = ("greedy", "beam", "forced", "sample")


@dataclass(frozen=True)
class DecodeRequest:
    """One decode the user asked for; `request_id` ties every record back to it."""

    request_id: int
    source: str
    strategy: str = "greedy"
    target: str = ""  # the reference for forced decoding
    beam_width: int = 4
    length_penalty: float = 1.0  # beam score = log p / len^penalty
    temperature: float = 1.0
    seed: int = 0
    max_len: int = 0  # 0: derived from the source length
    top_k: int = 5


@dataclass(frozen=True)
class Candidate:
    token: str
    token_id: int
    prob: float


@dataclass(frozen=True)
class StepRecord:
    """Decoder step i: what it chose and why. Arrays are read-only numpy copies."""

    request_id: int
    step: int
    token_id: int
    token: str
    prob: float  # probability of the chosen token
    topk: tuple[Candidate, ...]
    alpha: np.ndarray  # (T,) α_i·, sums to 1
    scores: np.ndarray  # (T,) raw e_i·
    context: np.ndarray  # (H_enc,) c_i
    state: np.ndarray  # (H,) top-layer decoder state s_i
    entropy: float  # of α_i·, in nats


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[str, ...]
    token_ids: tuple[int, ...]
    score: float  # length-normalised log probability
    log_prob: float
    alpha: np.ndarray  # (U, T)
    finished: bool


@dataclass(frozen=True)
class DecodeResult:
    """The final record: the whole hypothesis and the full matrices."""

    request_id: int
    strategy: str
    source_tokens: tuple[str, ...]
    output_tokens: tuple[str, ...]  # ends with "<eos>" when the model stopped by itself
    unknown_positions: tuple[int, ...]  # source positions outside the vocabulary
    alpha: np.ndarray  # (U, T)
    scores: np.ndarray  # (U, T)
    context: np.ndarray  # (U, H_enc)
    states: np.ndarray  # (U, H)
    encoder_states: np.ndarray  # (T, H_enc) the h_j
    token_probs: np.ndarray  # (U,)
    topk: tuple[tuple[Candidate, ...], ...]
    hypotheses: tuple[Hypothesis, ...] = field(default=())  # beam: every finished one, best first
    seconds: float = 0.0
    messages: tuple[str, ...] = field(default=())  # notes for the user (truncation, fallbacks)
    text: str = ""  # the output detokenised, without <eos>


def frozen_array(values: np.ndarray) -> np.ndarray:
    """A fresh read-only copy, safe to hand to another thread."""
    out = np.array(values, dtype=np.float32, copy=True)
    out.setflags(write=False)
    return out
