"""Hand-made, internally consistent decode records for GUI tests (no model, no torch).

h_j random, e random, α = softmax(e) per row, c_i = Σ_j α_ij h_j: the same algebra the
engine's records satisfy, so widgets can be checked against numpy.  Also two fault injectors for
engine and window tests (torch is imported only inside them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from engine import Candidate, DecodeResult, DecodeStart, StepRecord, frozen_array

EN_SOURCE = ("turn", "off", "the", "lights", "<eos>")
HI_OUTPUT = ("लाइट", "बंद", "करो", "<eos>")
TOPK_VOCAB = ("लाइट", "बत्ती", "बंद", "करो", "कीजिए", "दो", "<eos>", "<unk>")


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def fake_topk(rng: np.random.Generator, chosen: str, k: int = 5) -> tuple[Candidate, ...]:
    """k candidates, the chosen token first, probabilities descending and summing below 1."""
    others = [t for t in TOPK_VOCAB if t != chosen]
    names = [chosen, *rng.choice(others, size=k - 1, replace=False).tolist()]
    probs = np.sort(rng.dirichlet(np.ones(k + 1)))[::-1][:k]  # the rest of the mass is outside the top k
    return tuple(
        Candidate(token=str(t), token_id=i, prob=float(p)) for i, (t, p) in enumerate(zip(names, probs, strict=True))
    )


def fake_result(
    source: Sequence[str] = EN_SOURCE,
    output: Sequence[str] = HI_OUTPUT,
    hidden: int = 16,
    seed: int = 0,
    fixed_context: bool = False,
) -> DecodeResult:
    """A consistent DecodeResult; `fixed_context` mimics the no-attention model: no α, no e, and one context
    vector (the encoder's summary) for every step."""
    rng = np.random.default_rng(seed)
    t, u = len(source), len(output)
    h = rng.normal(size=(t, hidden))
    scores = rng.normal(scale=2.0, size=(u, t))
    alpha = softmax_rows(scores)
    context = np.repeat(rng.normal(size=(1, hidden)), u, axis=0) if fixed_context else alpha @ h
    topk = tuple(fake_topk(rng, tok) for tok in output)
    return DecodeResult(
        request_id=1,
        strategy="greedy",
        source_tokens=tuple(source),
        output_tokens=tuple(output),
        unknown_positions=(),
        alpha=None if fixed_context else frozen_array(alpha),
        scores=None if fixed_context else frozen_array(scores),
        context=frozen_array(context),
        states=frozen_array(rng.normal(size=(u, hidden))),
        encoder_states=frozen_array(h),
        token_probs=frozen_array(np.array([c[0].prob for c in topk])),
        topk=topk,
        text=" ".join(tok for tok in output if tok != "<eos>"),
        initial_state=frozen_array(rng.normal(size=hidden)),
    )


def step_records(result: DecodeResult) -> list[StepRecord]:
    """The StepRecords an engine would have streamed while producing `result`."""
    records = []
    for i, token in enumerate(result.output_tokens):
        alpha = None if result.alpha is None else result.alpha[i]
        scores = None if result.scores is None else result.scores[i]
        entropy = float("nan") if alpha is None else float(-(alpha * np.log(np.clip(alpha, 1e-12, None))).sum())
        records.append(
            StepRecord(
                request_id=result.request_id,
                step=i,
                token_id=i,
                token=token,
                prob=float(result.token_probs[i]),
                topk=result.topk[i],
                alpha=alpha,
                scores=scores,
                context=result.context[i],
                state=result.states[i],
                entropy=entropy,
            )
        )
    return records


def decode_start(result: DecodeResult) -> DecodeStart:
    """The DecodeStart an engine would have sent before streaming `result` (initial state: zeros)."""
    return DecodeStart(
        request_id=result.request_id,
        source_tokens=result.source_tokens,
        unknown_positions=result.unknown_positions,
        encoder_states=result.encoder_states,
        initial_state=result.initial_state if result.initial_state is not None else np.zeros(result.states.shape[1]),
        max_steps=2 * len(result.source_tokens) + 10,
    )


def fail_on_step(monkeypatch: Any, session: Any, n: int, fault: BaseException) -> None:
    """Make the session's model raise `fault` on its n-th decode_step call (1-based), and run normally otherwise."""
    real_step = session.model.decode_step
    calls = {"n": 0}

    def step(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == n:
            raise fault
        return real_step(*args)

    monkeypatch.setattr(session.model, "decode_step", step)


def fail_device_moves(monkeypatch: Any, session: Any, message: str) -> None:
    """'auto' resolves to CUDA, but moving the model off the CPU raises RuntimeError(message)."""
    import torch

    from engine.decoding.device import DeviceChoice

    real_to = session.model.to

    def to(device: Any, *args: Any, **kwargs: Any) -> Any:
        if torch.device(device).type != "cpu":
            raise RuntimeError(message)
        return real_to(device, *args, **kwargs)

    monkeypatch.setattr("engine.decoding.session.resolve_device", lambda name: DeviceChoice(torch.device("cuda", 0)))
    monkeypatch.setattr(session.model, "to", to)


def alpha_of(result: Any) -> np.ndarray:
    """A record's or result's α, which a decode by a model with attention always has."""
    assert result.alpha is not None, "this decode has no attention weights"
    return np.asarray(result.alpha)


def scores_of(result: Any) -> np.ndarray:
    """A record's or result's raw scores e (a model with attention)."""
    assert result.scores is not None, "this decode has no attention scores"
    return np.asarray(result.scores)
