"""InferenceSession on the tiny toy model: records, strategies, input checks, control between steps."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import (
    DecodeControl,
    DecodeRequest,
    DecodeResult,
    DecodeStart,
    InferenceSession,
    InputError,
    Run,
    StepRecord,
)
from engine.decoding import strategies
from engine.decoding.inputs import prepare_request
from engine.decoding.strategies import hand_out
from models import BOS_ID, EOS, EOS_ID, greedy_batch
from tests.fakes import alpha_of, scores_of

SOURCES = ["w1 w2", "w3 w4 w5", "w6 w7 w8 w9 w10", "w11 w0 w1 w2 w3 w4"]


@pytest.fixture(scope="module")
def session(tiny_model_path: Path) -> InferenceSession:
    return InferenceSession.open(tiny_model_path, "cpu")


def run(session: InferenceSession, source: str, **options: object) -> DecodeResult:
    return session.run(DecodeRequest(1, source, **options))  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", ["greedy", "beam", "forced", "sample"])
def test_alpha_rows_sum_to_one_and_context_is_the_weighted_sum(session: InferenceSession, strategy: str) -> None:
    result = run(session, "w1 w2 w3 w4", strategy=strategy, target="w4 w3 w2 w1")
    assert alpha_of(result).shape == (len(result.output_tokens), 4)
    np.testing.assert_allclose(alpha_of(result).sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose(result.context, result.alpha @ result.encoder_states, atol=1e-5)
    if strategy == "greedy":  # the chosen token is the top candidate
        np.testing.assert_allclose(result.token_probs, [step[0].prob for step in result.topk])


def test_greedy_equals_batched_greedy(session: InferenceSession) -> None:
    model, vocab = session.model, session.checkpoint.src_vocab
    for source in SOURCES:
        result = run(session, source)
        ids = vocab.encode(source.split())
        expected_ids, expected_alpha = greedy_batch(
            model, torch.tensor([ids]), torch.tensor([len(ids)]), max_len=2 * len(ids) + 10
        )
        assert [session.checkpoint.tgt_vocab.id(t) for t in result.output_tokens] == [*expected_ids[0], EOS_ID]
        np.testing.assert_allclose(alpha_of(result), expected_alpha[0].numpy(), atol=1e-6)


def test_greedy_learned_the_toy_task(session: InferenceSession) -> None:
    result = run(session, "w1 w2 w3")
    assert result.output_tokens == ("w3", "w2", "w1", EOS)
    assert result.text == "w3 w2 w1"


def test_beam_width_one_equals_greedy(session: InferenceSession) -> None:
    for source in SOURCES:
        greedy, beam = run(session, source), run(session, source, strategy="beam", beam_width=1)
        assert beam.output_tokens == greedy.output_tokens
        np.testing.assert_array_equal(beam.alpha, greedy.alpha)
        np.testing.assert_allclose(beam.token_probs, greedy.token_probs, rtol=1e-6)
        assert len(beam.hypotheses) == 1


def test_beam_returns_sorted_finished_hypotheses_each_with_its_alpha(session: InferenceSession) -> None:
    result = run(session, "w6 w7 w8 w9", strategy="beam", beam_width=4, length_penalty=0.7)
    hyps = result.hypotheses
    assert len(hyps) >= 2
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    assert hyps[0].tokens == result.output_tokens
    np.testing.assert_array_equal(hyps[0].alpha, result.alpha)
    for h in hyps:
        assert h.finished and h.tokens[-1] == EOS
        assert h.score == pytest.approx(h.log_prob / len(h.tokens) ** 0.7)
        assert alpha_of(h).shape == (len(h.tokens), 4)
        np.testing.assert_allclose(alpha_of(h).sum(1), 1.0, atol=1e-5)
    assert len({h.tokens for h in hyps}) == len(hyps)
    first, last = hyps[0], hyps[-1]
    assert not np.array_equal(alpha_of(first)[:2], alpha_of(last)[:2]) or first.tokens[:2] == last.tokens[:2]


def test_forced_probabilities_equal_teacher_forced_softmax(session: InferenceSession) -> None:
    source, target = "w1 w2 w3", "w3 w1 w2"
    result = run(session, source, strategy="forced", target=target)
    assert result.output_tokens == ("w3", "w1", "w2", EOS)
    src_ids = session.checkpoint.src_vocab.encode(source.split())
    tgt_ids = session.checkpoint.tgt_vocab.encode(target.split())
    with torch.inference_mode():
        logits, alphas = session.model(torch.tensor([src_ids]), torch.tensor([3]), torch.tensor([[BOS_ID, *tgt_ids]]))
    probs = torch.softmax(logits[0], -1)[torch.arange(4), torch.tensor([*tgt_ids, EOS_ID])]
    np.testing.assert_allclose(result.token_probs, probs.numpy(), atol=1e-5)
    np.testing.assert_allclose(alpha_of(result), alphas[0].numpy(), atol=1e-6)


def test_sampling_is_deterministic_per_seed(session: InferenceSession) -> None:
    def sample(seed: int) -> DecodeResult:
        return run(session, "w1 w2 w3 w4 w5", strategy="sample", temperature=3.0, seed=seed)

    first, again = sample(7), sample(7)
    assert first.output_tokens == again.output_tokens
    np.testing.assert_array_equal(first.token_probs, again.token_probs)
    assert len({sample(seed).output_tokens for seed in range(6)}) > 1


@pytest.mark.parametrize("source", ["", "   \t\n "])
def test_empty_source_is_an_input_error(session: InferenceSession, source: str) -> None:
    with pytest.raises(InputError, match="empty"):
        run(session, source)
    assert issubclass(InputError, ValueError)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"strategy": "nope"}, "strategy"),
        ({"strategy": "beam", "beam_width": 0}, "Beam width"),
        ({"strategy": "sample", "temperature": 0.0}, "Temperature"),
        ({"strategy": "forced", "target": "  "}, "target"),
        ({"max_len": -1}, "Maximum length"),
        ({"top_k": 0}, "Top-k"),
    ],
)
def test_bad_options_are_input_errors(session: InferenceSession, options: dict[str, object], match: str) -> None:
    with pytest.raises(InputError, match=match):
        run(session, "w1 w2", **options)


def test_unknown_words_are_reported(session: InferenceSession) -> None:
    result = run(session, "w1 zz w2 qq")
    assert result.unknown_positions == (1, 3)
    assert any("zz" in m and "qq" in m for m in result.messages)


def test_long_source_is_truncated_with_a_message(tiny_model_path: Path) -> None:
    short = InferenceSession.open(tiny_model_path, "cpu", max_source_tokens=3)
    result = short.run(DecodeRequest(1, "w1 w2 w3 w4 w5"))
    assert result.source_tokens == ("w1", "w2", "w3")
    assert any("first 3" in m for m in result.messages)


def test_only_a_length_asked_for_beyond_the_cap_is_noted(session: InferenceSession) -> None:
    """A 600-word source: "auto" (2 × 600 + 10) and forced decoding are capped at 1,024 steps without a note;
    a maximum length the user typed above the cap is noted."""
    source = " ".join(["w1"] * 600)
    auto = prepare_request(DecodeRequest(1, source), session.checkpoint)
    forced = prepare_request(DecodeRequest(1, source, strategy="forced", target="w1 w2"), session.checkpoint)
    asked = prepare_request(DecodeRequest(1, source, max_len=2000), session.checkpoint)
    assert len(auto.source_tokens) == 600 and auto.max_len == asked.max_len == 1024
    assert auto.messages == forced.messages == ()
    assert asked.messages == ("Maximum length 2000 is above the limit; decoding stops after 1024 tokens.",)


def test_max_len_stops_without_eos(session: InferenceSession) -> None:
    result = run(session, "w1 w2 w3 w4", max_len=2)
    assert len(result.output_tokens) == 2 and EOS not in result.output_tokens
    assert any("maximum length" in m for m in result.messages)


def test_steps_stream_before_the_result(session: InferenceSession) -> None:
    items = list(session.decode(DecodeRequest(5, "w1 w2 w3", top_k=3)))
    steps, result = [s for s in items if isinstance(s, StepRecord)], items[-1]
    assert len(steps) == len(items) - 1 and isinstance(result, DecodeResult)
    assert [s.step for s in steps] == list(range(len(result.output_tokens)))
    assert all(s.request_id == 5 and len(s.topk) == 3 for s in steps)
    assert steps[0].topk[0].prob >= steps[0].topk[1].prob >= steps[0].topk[2].prob
    assert steps[0].state.shape == (session.model.config.hidden_dim,)
    with pytest.raises(ValueError):
        alpha_of(steps[0])[0] = 1.0  # read-only
    alpha = alpha_of(steps[1])
    assert steps[1].entropy == pytest.approx(float(-(alpha * np.log(alpha)).sum()), rel=1e-5)
    np.testing.assert_array_equal(alpha_of(result), np.stack([alpha_of(s) for s in steps]))
    for matrix in (alpha_of(result), scores_of(result), result.context, result.states):  # fresh, whole, frozen
        assert matrix.flags.c_contiguous and matrix.flags.owndata and not matrix.flags.writeable


def streamed(
    session: InferenceSession, request: DecodeRequest, delay: float = 0.0
) -> tuple[list[StepRecord], DecodeResult]:
    """Decode with a control attached, as the app does: free-running, steps come in runs of about a frame;
    with a per-step delay, each step is its own run."""
    control = DecodeControl()
    control.set_delay(delay)
    control.begin(request.request_id)
    items = list(session.decode(request, control))
    return [s for s in items if isinstance(s, StepRecord)], items[-1]  # type: ignore[return-value]


@pytest.mark.parametrize("delay", [0.0, 0.001])
@pytest.mark.parametrize("strategy", ["greedy", "forced", "sample"])
def test_records_made_at_the_end_equal_the_streamed_ones(session: InferenceSession, strategy: str, delay: float):
    """run() (no one watching) turns the whole decode into records at once; the numbers are the same."""
    request = DecodeRequest(2, "w1 w2 w3 w4 w5", strategy=strategy, target="w5 w4 zz w2", temperature=0.7, seed=4)
    at_end = [s for s in session.decode(request) if isinstance(s, StepRecord)]
    steps, result = streamed(session, request, delay)
    assert [(s.step, s.token_id, s.token) for s in at_end] == [(s.step, s.token_id, s.token) for s in steps]
    assert [[c[:2] for c in s.topk] for s in at_end] == [[c[:2] for c in s.topk] for s in steps]
    for a, b in zip(at_end, steps, strict=True):
        assert a.prob == pytest.approx(b.prob, rel=1e-5) and a.entropy == pytest.approx(b.entropy, rel=1e-5)
        np.testing.assert_allclose([c.prob for c in a.topk], [c.prob for c in b.topk], rtol=1e-5)
        for field in ("alpha", "scores", "context", "state"):
            np.testing.assert_allclose(getattr(a, field), getattr(b, field), rtol=1e-5, atol=1e-7)
            assert not getattr(a, field).flags.writeable
    ran = session.run(request)
    np.testing.assert_allclose(alpha_of(ran), alpha_of(result), rtol=1e-5, atol=1e-7)
    assert ran.output_tokens == result.output_tokens and ran.messages == result.messages


def handed_out(items: list[DecodeStart | Run | DecodeResult]) -> tuple[DecodeStart, list[Run], DecodeResult]:
    """decode_runs' items split into its start, its runs and its result, checking that order."""
    first, *middle, last = items
    runs = [item for item in middle if not isinstance(item, DecodeStart | DecodeResult)]
    assert isinstance(first, DecodeStart) and isinstance(last, DecodeResult) and len(runs) == len(middle)
    return first, runs, last


def test_steps_are_handed_out_in_runs(session: InferenceSession) -> None:
    """Unwatched: one run; free-running: runs of about a frame; with a per-step delay: one step per run."""
    request = DecodeRequest(9, "w1 w2 w3 w4 w5", strategy="forced", target=" ".join(["w2"] * 30))
    first, runs, result = handed_out(list(session.decode_runs(request)))
    assert first.source_tokens == result.source_tokens and first.max_steps == 31 and len(runs) == 1
    np.testing.assert_array_equal(first.encoder_states, result.encoder_states)  # h_j before the first step
    assert [s.step for s in runs[0]] == list(range(31))
    for delay, most in ((0.0, 31), (1e-4, 1)):
        control = DecodeControl()
        control.set_delay(delay)
        control.begin(request.request_id)
        _, runs, result = handed_out(list(session.decode_runs(request, control)))
        assert [s.step for run in runs for s in run] == list(range(31))
        assert max(len(run) for run in runs) <= most and all(run for run in runs)
        np.testing.assert_array_equal(alpha_of(result), np.stack([alpha_of(s) for run in runs for s in run]))


def test_an_unwatched_decode_holds_a_bounded_number_of_logits(
    session: InferenceSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A big vocabulary ends an unwatched run once its logits reach the cap (not only at the decode's end);
    the records and the result are those of the one-run decode."""
    request = DecodeRequest(3, "w1 w2 w3 w4 w5", strategy="forced", target=" ".join(["w2"] * 30))
    _, (whole,), expected = handed_out(list(session.decode_runs(request)))
    vocab = len(session.checkpoint.tgt_vocab)
    monkeypatch.setattr(strategies, "MAX_PENDING_LOGITS", 4 * vocab)
    _, runs, result = handed_out(list(session.decode_runs(request)))
    assert [len(run) for run in runs] == [4] * 7 + [3]
    assert [(s.step, s.token) for run in runs for s in run] == [(s.step, s.token) for s in whole]
    for field in ("alpha", "scores", "context", "states", "token_probs"):
        np.testing.assert_allclose(getattr(result, field), getattr(expected, field), rtol=1e-5, atol=1e-7)


class ScriptedGate:
    """A gate whose hand_out_after answers come from a script (then 0: watched); turn stops at `stop_at`."""

    def __init__(self, hand_out_after: list[float], stop_at: int | None = None) -> None:
        self._answers, self._stop_at = list(hand_out_after), stop_at

    def hand_out_after(self) -> float:
        return self._answers.pop(0) if self._answers else 0.0

    def live(self) -> bool:
        return True

    def turn(self, step: int) -> bool:
        return step != self._stop_at


def drain(generator):  # type: ignore[no-untyped-def]
    """(what it yielded, what it returned)."""
    yielded = []
    try:
        while True:
            yielded.append(next(generator))
    except StopIteration as end:
        return yielded, end.value


def test_a_pause_mid_run_hands_out_what_is_ready_then_one_step_at_a_time(session: InferenceSession) -> None:
    items = session.decode(DecodeRequest(1, "w1 w2 w3 w4", strategy="forced", target="w1 w2 w3"))
    steps = [s for s in items if isinstance(s, StepRecord)]
    assert len(steps) == 4
    into: list[StepRecord] = []
    runs, handed = drain(hand_out(steps, ScriptedGate([math.inf]), into))  # free, then paused before step 2
    assert handed and into == steps
    assert [[s.step for s in run] for run in runs] == [[0, 1], [2], [3]]
    into = []
    runs, handed = drain(hand_out(steps, ScriptedGate([math.inf] * 3, stop_at=2), into))
    assert not handed and runs == [] and [s.step for s in into] == [0, 1]  # cancelled: the run is dropped


def test_cancel_between_steps_yields_nothing_more(session: InferenceSession) -> None:
    control = DecodeControl()
    control.begin(3)
    stream = session.decode(DecodeRequest(3, "w1 w2 w3 w4"), control)
    assert isinstance(next(stream), StepRecord)
    control.cancel()
    assert list(stream) == []


def test_a_newer_request_supersedes_within_one_step(session: InferenceSession) -> None:
    control = DecodeControl()
    control.begin(3)
    stream = session.decode(DecodeRequest(3, "w1 w2 w3 w4"), control)
    next(stream)
    control.begin(4)
    assert list(stream) == []


def test_result_timing_leaves_out_the_per_step_delay(session: InferenceSession) -> None:
    control = DecodeControl()
    control.begin(6)
    control.set_delay(0.08)
    items = list(session.decode(DecodeRequest(6, "w1 w2 w3"), control))
    result = items[-1]
    assert isinstance(result, DecodeResult) and len(items) == 5  # 4 steps, 3 delays
    assert result.seconds < 0.08


def test_steps_are_handed_out_in_runs_only_while_free_running() -> None:
    """No one watching: one run; free-running: a frame's worth; delay, pause or single steps: one at a time."""
    from engine.decoding.session import FRAME_S, _Gate

    assert _Gate(None, 1).hand_out_after() == float("inf")
    control = DecodeControl()
    gate = _Gate(control, 1)
    assert gate.hand_out_after() == FRAME_S
    control.set_delay(0.2)
    assert gate.hand_out_after() == 0.0
    control.set_delay(0.0)
    control.pause()
    assert gate.hand_out_after() == 0.0
    control.resume()
    control.step_once()
    assert gate.hand_out_after() == 0.0
