"""Decoding strategies over the model's public step API: greedy, sampling, forced, beam search.

Each strategy is a generator: it yields runs of consecutive StepRecords (one per output token, in
order) and returns an Outcome, or None when the gate says stop (cancelled or superseded), after which
it yields nothing more.

Greedy, sampling and forced decoding turn computed steps into records in runs: one device→host
copy, one log-softmax and top-k per run instead of per step (on a small model a step's records
cost as much as the step itself).  The gate says how long a run may grow (`hand_out_after`):
when no one watches (`InferenceSession.run`: inspect, evaluation, perturbation tables) the whole
decode is one run, unless its logits grow past MAX_PENDING_LOGITS (a big vocabulary); when the app
watches a free-running decode, a run ends every frame (~15 ms), which looks the same on screen, and
reaches the GUI as one signal; under a per-step delay, a pause or single
steps, every step is its own run.  Whatever the run, the gate is asked before each step is computed
whether the request still lives, so a newer request still supersedes within one step.  Beam search
cannot know which hypothesis a step belongs to until the search ends, so it searches first
(checking for cancellation between steps) and then streams the steps of the best hypothesis, each
through the gate like any other step; every finished hypothesis comes back in the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import numpy as np
import torch
from torch import Tensor

from engine.decoding.heads import HeadView, rnn_parts
from engine.decoding.inputs import PreparedRequest
from engine.decoding.step_stats import StepStats
from engine.records import BeamNode, HeadMatrices, Hypothesis, Run, StepRecord, frozen_array, read_only
from engine.whatif.alpha_edits import no_edit
from models import BOS_ID, EOS_ID, StepModel, StepOutput

Steps = Generator[Run, None, "Outcome | None"]
Chooser = Callable[[int, Tensor], Tensor]  # (step, logits (1, V)) → chosen id (1,)
# A run also ends once its steps' logits hold this many values (4 MiB): with a 32k vocabulary an unwatched
# 200-step decode would otherwise keep every step's whole distribution, twice over, until its end (~50 MiB).
MAX_PENDING_LOGITS = 1 << 20


class Gate(Protocol):
    def hand_out_after(self) -> float:
        """Seconds of computed steps that may pile up before they are handed out: 0 (each at once), a
        frame, or math.inf (no one watches the steps; only the end counts)."""
        ...

    def live(self) -> bool:
        """False once the request is cancelled or superseded."""
        ...

    def turn(self, step: int) -> bool:
        """Called before handing out step `step`: may wait (delay, pause); False: stop."""
        ...


@dataclass(frozen=True)
class DecodeContext:
    model: StepModel
    memory: Any  # the source, encoded once (the model's Memory)
    stats: StepStats
    prepared: PreparedRequest
    device: torch.device
    edit_for: Callable[[int], Any] = no_edit  # what-if interventions, per step: the model's edit hook or None
    parts: Callable[[StepOutput], tuple[Tensor, ...]] = rnn_parts  # a step's tensors that become its record
    view: HeadView | None = None  # transformers: the attention view (and whether self-attention is kept)


@dataclass
class Outcome:
    records: list[StepRecord]
    hypotheses: tuple[Hypothesis, ...] = ()
    messages: list[str] = field(default_factory=list)
    beam_tree: tuple[BeamNode, ...] = ()
    blocks: list[np.ndarray] = field(default_factory=list)  # host blocks whose rows are the records, in order


def greedy(ctx: DecodeContext, gate: Gate) -> Steps:
    """Argmax each step; a request's `prefix` is forced first (what-if re-decodes keep the original's start)."""
    prefix = ctx.prepared.prefix_ids
    if not prefix:
        return (yield from _single_path(ctx, gate, None, ctx.prepared.max_len))
    forced_ids = torch.tensor(prefix, dtype=torch.long, device=ctx.device)

    def choose(i: int, logits: Tensor) -> Tensor:
        return forced_ids[i : i + 1] if i < len(prefix) else logits.argmax(-1)

    return (yield from _single_path(ctx, gate, choose, ctx.prepared.max_len))


def sample(ctx: DecodeContext, gate: Gate) -> Steps:
    """Draws from softmax(logits / T); probabilities reported are those of that tempered distribution."""
    request = ctx.prepared.request
    generator = torch.Generator(device=ctx.device)
    generator.manual_seed(request.seed)

    def choose(_: int, logits: Tensor) -> Tensor:
        return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator).view(-1)

    return (yield from _single_path(ctx, gate, choose, ctx.prepared.max_len, temperature=request.temperature))


def forced(ctx: DecodeContext, gate: Gate) -> Steps:
    """Feeds the reference (plus <eos>) whatever the model prefers; records carry the reference token
    and its probability.  The reference sets the length: max_len does not apply."""
    reference = torch.tensor([*ctx.prepared.target_ids, EOS_ID], dtype=torch.long, device=ctx.device)
    return (yield from _single_path(ctx, gate, lambda i, _: reference[i : i + 1], len(reference), stop_at_eos=False))


def hand_out(records: list[StepRecord], gate: Gate, into: list[StepRecord]) -> Generator[Run, None, bool]:
    """Yield `records` through the gate's turns (appending each to `into`): as one run while the decode
    runs free; once it is watched step by step (a pause or a delay began), what is ready goes out first
    and then one step at a time, so a single step shows on screen at once.  False: the gate said stop."""
    run: list[StepRecord] = []
    for record in records:
        if run and gate.hand_out_after() == 0.0:
            yield tuple(run)
            run = []
        if not gate.turn(record.step):
            return False
        run.append(record)
        into.append(record)
    if run:
        yield tuple(run)
    return True


def _single_path(
    ctx: DecodeContext,
    gate: Gate,
    choose: Chooser | None,
    steps: int,
    *,
    temperature: float = 1.0,
    stop_at_eos: bool = True,
) -> Steps:
    """`choose` None: argmax, whose token is the top candidate."""
    path = _Path(ctx, choose, temperature, steps)
    records: list[StepRecord] = []
    i, ended = 0, False
    while i < steps and not ended:
        # One inference-mode span per run of steps, not per step (a short decode's fixed cost); never across
        # a yield, which would leave the mode on in the consumer's code.
        with torch.inference_mode():
            run_start = time.perf_counter()
            while True:
                if not gate.live():
                    return None
                ended = path.compute(i) == EOS_ID and stop_at_eos
                i += 1
                if ended or i == steps or path.pending_logits >= MAX_PENDING_LOGITS:
                    break
                if time.perf_counter() - run_start >= gate.hand_out_after():
                    break
            ready = path.hand_out()
        if not (yield from hand_out(ready, gate, records)):
            return None
    return Outcome(records, messages=_length_note(records, steps, stop_at_eos), blocks=path.host_blocks())


def _length_note(records: list[StepRecord], steps: int, stop_at_eos: bool) -> list[str]:
    if not stop_at_eos or (records and records[-1].token_id == EOS_ID):
        return []
    return [f"Stopped at the maximum length ({steps} tokens) before <eos>."]


class _Path:
    """One hypothesis decoded step by step; the steps computed since the last hand-out wait as tensors.

    compute() and hand_out() run in inference mode (the caller's).
    """

    def __init__(self, ctx: DecodeContext, choose: Chooser | None, temperature: float, steps: int) -> None:
        self.ctx, self._choose, self._temperature = ctx, choose, temperature  # choose None: argmax
        self._steps = steps
        self._host: np.ndarray | None = None  # transformers: every run's rows, in one buffer (see _keep)
        with torch.inference_mode():
            self._state = ctx.model.init_state(ctx.memory)
            self._prev = torch.full((1,), BOS_ID, dtype=torch.long, device=ctx.device)
        self._first = 0  # the step the waiting run starts with
        self.blocks: list[np.ndarray] = []  # handed out so far, a row per step
        self._parts: list[Tensor] = []  # α, e, c, s (+ heads) of each waiting step in turn
        self._self: list[Tensor] = []  # a transformer's self-attention per waiting step, when kept
        self._logits: list[Tensor] = []  # as the choice saw them (tempered)
        self._chosen: list[Tensor] = []  # as tensors, for the gather of a chooser's picks
        self._ids: list[int] = []  # every chosen id, on the host
        self.pending_logits = 0  # values in _logits

    def compute(self, i: int) -> int:
        """Step i; returns the chosen token id (the one host sync per step, to stop at <eos>)."""
        out = self.ctx.model.decode_step(self._prev, self._state, self.ctx.memory, self.ctx.edit_for(i))
        logits = out.logits if self._temperature == 1.0 else out.logits / self._temperature
        # argmax on the logits, as models.training.batch_decode does: same ids, ties included
        self._prev = logits.argmax(-1) if self._choose is None else self._choose(i, logits)
        self._state = out.state
        self._parts += self.ctx.parts(out)
        if self.ctx.view is not None and self.ctx.view.keep_self:
            self._self.append(self.ctx.view.self_weights(out))
        self._logits.append(logits)
        self.pending_logits += logits.numel()
        if self._choose is not None:  # argmax's probability comes from the top-k: no gather, no ids kept
            self._chosen.append(self._prev)
        self._ids.append(int(self._prev))
        return self._ids[-1]

    def hand_out(self) -> list[StepRecord]:
        """The records of the steps computed since the last hand-out, from one host block.

        argmax's log-probability is the first top-k value (ties resolve as argmax did: the id comes from
        compute(), not from the top-k), so only other choices need a gather.
        """
        log_probs = torch.cat(self._logits).log_softmax(-1)
        extra = [] if self._choose is None else [log_probs.gather(1, torch.cat(self._chosen).unsqueeze(1))]
        block, selfs = self.ctx.stats.to_host(self._parts, log_probs, extra, self._self)
        block = self._keep(block) if self.ctx.view is not None else block
        stats, steps, ids = self.ctx.stats, range(self._first, self._first + len(self._ids)), self._ids
        self._first += len(self._ids)
        self.blocks.append(block)
        self._parts, self._logits, self._chosen, self._ids, self._self = [], [], [], [], []
        self.pending_logits = 0
        probs = None if self._choose is None else stats.extra_probabilities(block)
        return stats.records(block, steps, range(len(steps)), ids, probs, selfs)

    def _keep(self, block: np.ndarray) -> np.ndarray:
        """A transformer's wide rows are copied into one host buffer (pages of rows never reached are never
        touched), so the result's matrices are views of the records' memory instead of a second copy of it."""
        if self._host is None:
            self._host = np.empty((self._steps, block.shape[1]), dtype=block.dtype)
        rows = self._host[self._first : self._first + len(block)]
        rows[...] = block
        view = rows.view()
        return read_only(view)

    def host_blocks(self) -> list[np.ndarray]:
        """The handed-out rows: one block of the buffer when there is one, else the runs' blocks."""
        if self._host is None:
            return self.blocks
        return [read_only(self._host[: self._first].view())]


# -- beam search ---------------------------------------------------------------------------------


def beam(ctx: DecodeContext, gate: Gate) -> Steps:
    search = _BeamSearch(ctx)
    if not search.run(gate):
        return None
    hypotheses, best_records, notes = search.results()
    if not (yield from hand_out(best_records, gate, [])):
        return None
    return Outcome(best_records, hypotheses, notes, tuple(search.tree))


class _Node(NamedTuple):  # made for every candidate a beam step scores: a named tuple, as the records
    """Token `token` chosen at output position `step` from row `row` of that step's beam."""

    prev: _Node | None
    step: int
    row: int
    token: int
    token_log_prob: float
    log_prob: float  # of the whole prefix ending here
    tree_index: int  # in the search's tree (not `index`: tuple.index)

    def path(self) -> list[_Node]:
        nodes: list[_Node] = []
        node: _Node | None = self
        while node is not None:
            nodes.append(node)
            node = node.prev
        return nodes[::-1]


@dataclass(frozen=True)
class _Candidates:
    rows: Tensor  # (m,) beam row each candidate extends
    tokens: Tensor  # (m,)
    scores: Tensor  # (m,) summed log-probability
    host: list[list[float]]  # per candidate, best first: score, row, token, token log-probability


class _BeamSearch:
    """Beam search ranked by summed log-probability; finished hypotheses by log p / len^penalty.

    An <eos> candidate finishes a hypothesis only when it ranks within the beam width, so width 1
    takes exactly the greedy path.  The search stops once `width` hypotheses have finished (the last
    step may finish a few more; all are returned).
    """

    def __init__(self, ctx: DecodeContext) -> None:
        self.ctx = ctx
        self.width = ctx.prepared.request.beam_width
        self.finished: list[_Node] = []
        self.live: list[_Node | None] = [None]  # None: the <bos> root
        self.blocks: list[np.ndarray] = []  # per step, the host block of every beam row
        self.tree: list[BeamNode] = []  # every candidate scored, for the beam explorer
        self.selfs: list[np.ndarray] = []  # per step, a transformer's self-attention of every beam row, when kept
        self._memories: dict[int, Any] = {}

    def run(self, gate: Gate) -> bool:
        """Search to the end; False when the gate closed on the way."""
        device = self.ctx.device
        with torch.inference_mode():
            state = self.ctx.model.init_state(self.ctx.memory)
            prev = torch.full((1,), BOS_ID, dtype=torch.long, device=device)
            cum = torch.zeros(1, device=device)
        for t in range(self.ctx.prepared.max_len):
            if not gate.live():
                return False
            with torch.inference_mode():
                out = self.ctx.model.decode_step(prev, state, self._memory(len(self.live)), self.ctx.edit_for(t))
                cand = self._expand(out, cum)
            keep = self._select(t, cand.host)
            if len(self.finished) >= self.width or not keep:
                return True
            with torch.inference_mode():
                index = torch.tensor(keep, dtype=torch.long, device=device)
                prev, state, cum = cand.tokens[index], out.state.select(cand.rows[index]), cand.scores[index]
        return True

    def _memory(self, rows: int) -> Any:
        if rows not in self._memories:  # the one encoded source, repeated for each beam row
            self._memories[rows] = self.ctx.memory.select(torch.zeros(rows, dtype=torch.long, device=self.ctx.device))
        return self._memories[rows]

    def _expand(self, out: StepOutput, cum: Tensor) -> _Candidates:
        log_probs = out.logits.log_softmax(-1)
        vocab = log_probs.shape[1]
        flat = (cum.unsqueeze(1) + log_probs).view(-1)
        scores, index = flat.topk(min(2 * self.width, flat.numel()))
        rows = torch.div(index, vocab, rounding_mode="floor")
        tokens = index - rows * vocab
        side = torch.stack([scores, rows.to(scores.dtype), tokens.to(scores.dtype), log_probs.view(-1)[index]], 1)
        view = self.ctx.view
        keep_self = view is not None and view.keep_self
        extra_side = [view.self_weights(out)] if view is not None and keep_self else []
        block, (host, *selfs) = self.ctx.stats.to_host(list(self.ctx.parts(out)), log_probs, side=[side, *extra_side])
        self.blocks.append(block)
        self.selfs.extend(selfs)
        return _Candidates(rows, tokens, scores, host.tolist())

    def _select(self, t: int, candidates: list[list[float]]) -> list[int]:
        """Ranks of the candidates that stay live; <eos> ones within the width finish."""
        keep: list[int] = []
        live: list[_Node | None] = []
        for rank, (score, row, token, token_log_prob) in enumerate(candidates):
            node = _Node(self.live[int(row)], t, int(row), int(token), token_log_prob, score, len(self.tree))
            status = "pruned"
            if node.token == EOS_ID:
                if rank < self.width:
                    self.finished.append(node)
                    status = "finished"
            elif len(live) < self.width:
                live.append(node)
                keep.append(rank)
                status = "kept"
            self._add_to_tree(node, status)
        self.live = live
        return keep

    def _add_to_tree(self, node: _Node, status: str) -> None:
        parent = -1 if node.prev is None else node.prev.tree_index
        token = self.ctx.stats.itos[node.token]
        self.tree.append(BeamNode(node.tree_index, parent, node.step, token, node.token, node.log_prob, status))

    def results(self) -> tuple[tuple[Hypothesis, ...], list[StepRecord], list[str]]:
        """Every finished hypothesis (or, if none finished, the live ones), best first; the best's records."""
        finished = bool(self.finished)
        nodes = self.finished if finished else [n for n in self.live if n is not None]
        notes = (
            []
            if finished
            else ["Beam search reached the maximum length before any hypothesis ended; showing unfinished ones."]
        )
        penalty = self.ctx.prepared.request.length_penalty
        ranked = sorted(((n.log_prob / (n.step + 1) ** penalty, n) for n in nodes), key=lambda pair: -pair[0])
        hypotheses = tuple(self._hypothesis(node, score, finished) for score, node in ranked)
        best = [self._record(node) for node in ranked[0][1].path()] if ranked else []
        return hypotheses, best, notes

    def _record(self, node: _Node) -> StepRecord:
        prob = float(np.exp(np.float32(node.token_log_prob)))
        own = self.selfs[node.step][node.row] if self.selfs else None
        return self.ctx.stats.record(node.step, self.blocks[node.step], node.row, node.token, prob, own)

    def _hypothesis(self, node: _Node, score: float, finished: bool) -> Hypothesis:
        path = node.path()
        stats = self.ctx.stats
        rows = [row for p in path if (row := stats.alpha(self.blocks[p.step], p.row)) is not None]
        return Hypothesis(
            tokens=tuple(stats.itos[p.token] for p in path),
            token_ids=tuple(p.token for p in path),
            score=score,
            log_prob=node.log_prob,
            alpha=frozen_array(np.stack(rows)) if stats.attention else None,
            finished=finished,
            length_penalty=self.ctx.prepared.request.length_penalty,
            heads=self._heads(path) if self.ctx.view is not None else None,
        )

    def _heads(self, path: list[_Node]) -> HeadMatrices:
        """A transformer hypothesis's every layer and head, step by step (copied out of the shared blocks)."""
        assert self.ctx.view is not None
        steps = [self.ctx.stats.head_matrices(self.blocks[p.step][p.row : p.row + 1]) for p in path]
        weights, scores, contexts, norms = (read_only(np.concatenate(parts)) for parts in zip(*steps, strict=True))
        return HeadMatrices(weights, scores, contexts, norms, (), self.ctx.view.describe())


STRATEGY_FUNCTIONS: dict[str, Callable[[DecodeContext, Gate], Steps]] = {
    "greedy": greedy,
    "sample": sample,
    "forced": forced,
    "beam": beam,
}
