"""InferenceSession: one loaded model on one device, decoding requests step by step.

Headless use:

    session = InferenceSession.open("model.safetensors", device="cpu")
    result = session.run(DecodeRequest(1, "turn off the lights"))
    for item in session.decode(DecodeRequest(2, "turn off the lights", strategy="beam")):
        ...  # StepRecord per step, then one DecodeResult

The source is encoded once per request; every strategy then drives model.decode_step, the step
code training uses.  The calling thread decodes with `threads` intra-op threads (default 1: step
decoding is too fine-grained to gain from more, and a GUI keeps a core; torch keeps this setting
per thread).  A DecodeControl passed to `decode` is consulted between steps: its latest request id
must be the request's (call `control.begin(request_id)` first); cancelled or superseded → the
generator ends without a DecodeResult.  `DecodeResult.seconds` leaves out delays and pauses.

What-if requests (engine/requests.py) need nothing else: their edits reach every strategy as the
model's per-step α hook, and `perturb` adds one plain decode per source word after the main one
(engine/whatif/perturbation.py), checking the control between them.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from operator import attrgetter
from typing import Any

import numpy as np
import torch

from engine.decoding.control import DecodeControl
from engine.decoding.device import DECODE_THREADS, prepare_thread, resolve_device
from engine.decoding.heads import HeadView, plain_parts, rnn_parts
from engine.decoding.inputs import MAX_OUTPUT_TOKENS, MAX_SOURCE_TOKENS, PreparedRequest, prepare_request
from engine.decoding.step_stats import StepStats
from engine.decoding.strategies import STRATEGY_FUNCTIONS, DecodeContext, Outcome, Run
from engine.records import DecodeResult, DecodeStart, HeadMatrices, ModelInfo, StepRecord, frozen_array, read_only
from engine.requests import DecodeRequest
from engine.whatif.alpha_edits import StepEdits
from engine.whatif.head_edits import HeadEdits
from engine.whatif.perturbation import perturbation_table
from models import EOS, Checkpoint, StepModel, describe, head_layout, load_any

FRAME_S = 0.015  # a free-running decode hands its steps to the app about once a frame

__all__ = ["InferenceSession", "failure_text"]


class InferenceSession:
    def __init__(
        self,
        checkpoint: Checkpoint,
        device: str | torch.device = "cpu",
        *,
        max_source_tokens: int = MAX_SOURCE_TOKENS,
        max_output_tokens: int = MAX_OUTPUT_TOKENS,
        threads: int | None = DECODE_THREADS,
    ) -> None:
        self.checkpoint = checkpoint
        self.max_source_tokens = max_source_tokens
        self.max_output_tokens = max_output_tokens
        self.threads = threads  # intra-op threads of the decoding thread; None: leave torch's setting
        self.device = torch.device(device)
        self.messages: tuple[str, ...] = ()
        checkpoint.model.to(self.device).eval()

    @classmethod
    def open(cls, path: str | os.PathLike[str], device: str = "auto", **options: Any) -> InferenceSession:
        """Load our checkpoint or a toolkit's model (CheckpointError on any problem) onto `device`, else the CPU."""
        session = cls(load_any(path, "cpu"), "cpu", **options)
        session.move_to(device)
        return session

    @property
    def model(self) -> StepModel:
        return self.checkpoint.model

    def move_to(self, device: str) -> str:
        """Move the model; returns (and keeps in `messages`) a note when it had to fall back to the CPU."""
        choice = resolve_device(device)
        note = choice.message
        try:
            self.model.to(choice.device)
            self.device = choice.device
        except Exception as exc:  # out of device memory, a driver error: whatever it is, the CPU still works
            self.model.to("cpu")
            self.device = torch.device("cpu")
            note = f"Could not move the model to {choice.name} ({str(exc).splitlines()[0]}); using the CPU."
        self.messages = (note,) if note else ()
        return note

    def info(self) -> ModelInfo:
        ckpt = self.checkpoint
        layout = head_layout(self.model.config)
        return ModelInfo(str(ckpt.path or ""), describe(ckpt), ckpt.card, str(self.device), self.messages, layout)

    def run(self, request: DecodeRequest) -> DecodeResult:
        """Decode to the end without streaming."""
        for item in self.decode_runs(request):
            if isinstance(item, DecodeResult):
                return item
        raise RuntimeError("decoding ended without a result")  # only possible with a control

    def decode(
        self, request: DecodeRequest, control: DecodeControl | None = None
    ) -> Iterator[StepRecord | DecodeResult]:
        """Yield a StepRecord per output token, then the DecodeResult; InputError for a bad request."""
        for item in self.decode_runs(request, control):
            if isinstance(item, DecodeStart):
                continue
            if isinstance(item, DecodeResult):
                yield item
                continue
            for record in item:  # a run was computed ahead: a cancel still ends it between steps
                if control is not None and not control.is_live(request.request_id):
                    return
                yield record

    def decode_runs(
        self, request: DecodeRequest, control: DecodeControl | None = None
    ) -> Iterator[DecodeStart | Run | DecodeResult]:
        """decode(), its steps in runs: tuples of consecutive StepRecords handed out together (see strategies),
        after a DecodeStart with the source and encoder states."""
        start = time.perf_counter()
        limits = (self.max_source_tokens, self.max_output_tokens)
        prepared = prepare_request(request, self.checkpoint, *limits, attention=self.has_attention)
        prepare_thread(self.device, self.threads)
        memory = self._encode(prepared)
        begun = self._start(prepared, memory)
        yield begun
        edits = self._edits(prepared)
        view = self._view(request)
        parts = view.parts if view is not None else rnn_parts if self.has_attention else plain_parts
        ctx = DecodeContext(self.model, memory, self._stats(prepared), prepared, self.device, edits, parts, view)
        gate = _Gate(control, request.request_id)
        outcome = yield from STRATEGY_FUNCTIONS[request.strategy](ctx, gate)
        if outcome is None or not gate.live():
            return
        outcome.messages.extend(edits.notes + _unused_note(edits.unused_steps(len(outcome.records))))
        result = self._result(ctx, outcome, begun, time.perf_counter() - start - gate.waited)
        if request.perturb:  # one more decode per source word, stopping if the request is dropped
            rows = perturbation_table(result, request, self._run_plain, gate.live, self.checkpoint.src_tokenizer)
            if rows is None:
                return
            result = result._replace(perturbations=rows)
        yield result

    def _matrices(
        self, ctx: DecodeContext, outcome: Outcome, whole: np.ndarray | None
    ) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray, np.ndarray]:
        """The result's α, e, c and s: the columns of the host blocks when the records are their rows (one
        block for an unwatched decode), else stacked from the records."""
        if whole is not None:
            return ctx.stats.matrices(whole)
        records, config, width = outcome.records, self.model.config, len(ctx.prepared.source_ids)
        context = _stack([r.context for r in records], config.enc_out_dim)
        state = _stack([r.state for r in records], config.hidden_dim)
        if not ctx.stats.attention:
            return None, None, context, state
        alpha = _stack([r.alpha for r in records if r.alpha is not None], width)
        scores = _stack([r.scores for r in records if r.scores is not None], width)
        return alpha, scores, context, state

    @property
    def has_attention(self) -> bool:
        """False for the plain encoder-decoder (attention "none"): no α, no e, nothing to edit."""
        return head_layout(self.model.config) is not None or self.model.config.attention != "none"

    def _view(self, request: DecodeRequest) -> HeadView | None:
        layout = head_layout(self.model.config)
        return None if layout is None else HeadView(layout, request.layer, request.head, request.self_attention)

    def _edits(self, prepared: PreparedRequest) -> StepEdits:
        request, width = prepared.request, len(prepared.source_ids)
        interventions = tuple(request.interventions)
        layout = head_layout(self.model.config)
        if layout is not None:
            return HeadEdits(interventions, request.score_temperature, width, layout, request.layer, request.head)
        return StepEdits(interventions, request.score_temperature, width)

    def _run_plain(self, request: DecodeRequest) -> DecodeResult:
        return self.run(replace(request, perturb="", perturb_with=""))

    def _encode(self, prepared: PreparedRequest) -> Any:
        with torch.inference_mode():
            src = torch.tensor([prepared.source_ids], dtype=torch.long, device=self.device)
            lengths = torch.tensor([len(prepared.source_ids)], dtype=torch.long)
            return self.model.encode(src, lengths)

    def _start(self, prepared: PreparedRequest, memory: Any) -> DecodeStart:
        with torch.inference_mode():
            state = self.model.init_state(memory)
        # An RNN's s_0 (its top layer); a transformer starts from an empty cache: no state vector to show.
        hidden = getattr(state, "hidden", None)
        initial = hidden[-1][0] if isinstance(hidden, torch.Tensor) else memory.states.new_zeros(0)
        return DecodeStart(
            request_id=prepared.request.request_id,
            source_tokens=prepared.source_tokens,
            unknown_positions=prepared.unknown_positions,
            encoder_states=frozen_array(memory.states[0].cpu().numpy()),
            initial_state=frozen_array(initial.cpu().numpy()),
            max_steps=prepared.max_len if prepared.request.strategy != "forced" else len(prepared.target_ids) + 1,
        )

    def _stats(self, prepared: PreparedRequest) -> StepStats:
        config = self.model.config
        width = (len(prepared.source_ids), config.enc_out_dim, config.hidden_dim)
        itos, top_k = self.checkpoint.tgt_vocab.itos, prepared.top_k
        layout = head_layout(config)
        return StepStats(prepared.request.request_id, itos, top_k, *width, layout, attention=self.has_attention)

    def _result(self, ctx: DecodeContext, outcome: Outcome, begun: DecodeStart, seconds: float) -> DecodeResult:
        prepared, records = ctx.prepared, outcome.records
        tokens = tuple(map(attrgetter("token"), records))
        words = tokens[:-1] if tokens and tokens[-1] == EOS else tokens
        whole = _whole(outcome.blocks)
        alpha, scores, context, states = self._matrices(ctx, outcome, whole)
        return DecodeResult(
            request_id=prepared.request.request_id,
            strategy=prepared.request.strategy,
            source_tokens=prepared.source_tokens,
            output_tokens=tokens,
            unknown_positions=prepared.unknown_positions,
            alpha=alpha,
            scores=scores,
            context=context,
            states=states,
            encoder_states=begun.encoder_states,
            token_probs=read_only(np.array([r.prob for r in records], dtype=np.float32)),
            topk=tuple(map(attrgetter("topk"), records)),
            hypotheses=outcome.hypotheses,
            seconds=seconds,
            messages=prepared.messages + tuple(outcome.messages),
            text=self.checkpoint.tgt_tokenizer.detokenize(words),
            beam_tree=outcome.beam_tree,
            interventions=tuple(prepared.request.interventions),
            score_temperature=prepared.request.score_temperature,
            initial_state=begun.initial_state,
            heads=None if ctx.view is None else _head_matrices(ctx, outcome, whole),
        )


def _whole(blocks: list[np.ndarray]) -> np.ndarray | None:
    """The host blocks as one (None: the records are not their rows, as after a beam search)."""
    if not blocks:
        return None
    return blocks[0] if len(blocks) == 1 else read_only(np.concatenate(blocks))


def _head_matrices(ctx: DecodeContext, outcome: Outcome, whole: np.ndarray | None) -> HeadMatrices:
    """Every step's heads: views of the host block when it holds the records as its rows, else stacked."""
    assert ctx.view is not None
    records = outcome.records
    selfs = tuple(r.heads.self_weights for r in records if r.heads is not None and r.heads.self_weights is not None)
    if whole is None:  # stacked from the records (from an empty block when there are none: zero rows)
        heads = [r.heads for r in records if r.heads is not None]
        empty = np.zeros((0, ctx.stats.width), dtype=np.float32)
        stacked = [np.stack([h.weights for h in heads]), np.stack([h.scores for h in heads])] if heads else []
        stacked += [np.stack([h.contexts for h in heads]), np.stack([h.norms for h in heads])] if heads else []
        parts = stacked or ctx.stats.head_matrices(empty)
        weights, scores, contexts, norms = (read_only(np.ascontiguousarray(m)) for m in parts)
    else:
        weights, scores, contexts, norms = ctx.stats.head_matrices(whole)
    return HeadMatrices(weights, scores, contexts, norms, selfs, ctx.view.describe())


def failure_text(exc: Exception, device: torch.device | str) -> str:
    """What a user reads when a decode raised: out of memory gets advice (and the device's cache is freed)."""
    if isinstance(exc, torch.OutOfMemoryError):
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()  # the next, smaller request should not fail on this one's leftovers
        return (
            f"Out of memory while decoding on {device}: try a shorter source, a smaller beam width "
            "or a smaller maximum length, or switch to the CPU."
        )
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"Decoding failed: {type(exc).__name__}" + (f": {first}" if first else "")


def _unused_note(steps: list[int]) -> list[str]:
    if not steps:
        return []
    return [f"The decode ended before step {', '.join(map(str, steps))}: that edit was never applied."]


def _stack(rows: list[np.ndarray], width: int) -> np.ndarray:
    """The rows as one fresh read-only matrix."""
    return read_only(np.stack(rows) if rows else np.zeros((0, width), dtype=np.float32))


class _Gate:
    """The strategies' view of a DecodeControl (or of none: always open)."""

    def __init__(self, control: DecodeControl | None, request_id: int) -> None:
        self._control = control
        self._request_id = request_id
        self.waited = 0.0  # seconds spent in delays and pauses, left out of the result's timing

    def hand_out_after(self) -> float:
        if self._control is None:
            return math.inf  # no one watches: one run, one host copy for the whole decode
        return FRAME_S if self._control.free_running() else 0.0

    def live(self) -> bool:
        return self._control is None or self._control.is_live(self._request_id)

    def turn(self, step: int) -> bool:
        if self._control is None:
            return True
        start = time.perf_counter()
        go = self._control.wait_turn(self._request_id, first=step == 0)
        self.waited += time.perf_counter() - start
        return go
