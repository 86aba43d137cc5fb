"""What-if tools in the engine: attention interventions, score temperature, beam tree, perturbation, compare, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.decoding.inputs import InputError
from engine.decoding.session import InferenceSession
from engine.records import DecodeResult
from engine.requests import DecodeRequest, EditRow, MaskSource, PinStep, reweighted_row
from engine.whatif.alpha_edits import StepEdits
from engine.whatif.compare import alpha_difference, changed_positions, step_labels
from engine.whatif.redecode import whatif_options
from main import main
from models.tokens import EOS

SOURCE = "w1 w2 w3 w4"


@pytest.fixture(scope="module")
def session(tiny_model_path: Path) -> InferenceSession:
    return InferenceSession.open(tiny_model_path, "cpu")


@pytest.fixture(scope="module")
def original(session: InferenceSession) -> DecodeResult:
    return session.run(DecodeRequest(1, SOURCE))


def whatif(session: InferenceSession, original: DecodeResult, *edits: object, tau: float = 1.0) -> DecodeResult:
    return session.run(DecodeRequest(2, SOURCE, **whatif_options(original, edits, tau)))  # type: ignore[arg-type]


def assert_consistent(result: DecodeResult) -> None:
    """Rows sum to 1 and c_i is built from the (edited) weights."""
    np.testing.assert_allclose(result.alpha.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(result.context, result.alpha @ result.encoder_states, atol=1e-5)


# -- interventions ---------------------------------------------------------------------------
def test_zeroing_a_source_word_leaves_its_column_zero(session: InferenceSession, original: DecodeResult) -> None:
    edited = whatif(session, original, MaskSource(1))
    assert np.all(edited.alpha[:, 1] == 0.0)
    assert_consistent(edited)
    assert edited.interventions == (MaskSource(1),)
    assert edited.output_tokens != original.output_tokens  # the reversal needs w2


def test_pin_gives_one_hot_and_earlier_steps_are_unchanged(session: InferenceSession, original: DecodeResult) -> None:
    edited = whatif(session, original, PinStep(2, 0))
    assert edited.output_tokens[:2] == original.output_tokens[:2]
    np.testing.assert_array_equal(edited.alpha[:2], original.alpha[:2])
    np.testing.assert_array_equal(edited.token_probs[:2], original.token_probs[:2])
    np.testing.assert_array_equal(edited.alpha[2], [1.0, 0.0, 0.0, 0.0])
    assert_consistent(edited)


def test_edited_row_is_used_normalised(session: InferenceSession, original: DecodeResult) -> None:
    edited = whatif(session, original, EditRow(1, (1.0, 0.0, 3.0, 0.0)))
    np.testing.assert_array_equal(edited.alpha[:1], original.alpha[:1])
    np.testing.assert_allclose(edited.alpha[1], [0.25, 0.0, 0.75, 0.0], atol=1e-7)
    assert_consistent(edited)


def test_whatif_on_a_beam_result_forces_its_prefix(session: InferenceSession) -> None:
    beam = session.run(DecodeRequest(1, SOURCE, strategy="beam", beam_width=3))
    edited = session.run(DecodeRequest(2, SOURCE, **whatif_options(beam, (PinStep(2, 3),))))
    assert edited.output_tokens[:2] == beam.output_tokens[:2]
    np.testing.assert_allclose(edited.alpha[:2], beam.alpha[:2], atol=1e-5)  # batched beam rows vs one row


def test_score_temperature_near_zero_gives_one_hot_rows(session: InferenceSession, original: DecodeResult) -> None:
    edited = whatif(session, original, tau=1e-4)
    one_hot = np.eye(4)[edited.alpha.argmax(1)]
    np.testing.assert_allclose(edited.alpha, one_hot, atol=1e-6)
    assert_consistent(edited)


def test_score_temperature_one_is_the_plain_decode(session: InferenceSession, original: DecodeResult) -> None:
    edited = whatif(session, original, tau=1.0)
    assert edited.output_tokens == original.output_tokens
    np.testing.assert_array_equal(edited.alpha, original.alpha)
    np.testing.assert_array_equal(edited.context, original.context)


def test_temperature_applies_to_the_masked_scores() -> None:
    scores = torch.tensor([[2.0, 1.0, 0.5]])
    alpha = torch.softmax(scores, -1)
    mask = torch.ones(1, 3, dtype=torch.bool)
    edit = StepEdits((MaskSource(0),), 0.5, 3, softmax_weights=True)(0)
    assert edit is not None
    expected = torch.softmax(torch.tensor([[-float("inf"), 2.0, 1.0]]), -1)
    torch.testing.assert_close(edit(scores, alpha, mask), expected)


def test_masking_without_attention_falls_back_to_uniform() -> None:
    """Weights that are not a softmax of scores: masking a word renormalises the rest (uniform when nothing is left)."""
    alpha = torch.tensor([[0.0, 0.0, 1.0]])
    edits = StepEdits((MaskSource(2),), 0.5, 3, softmax_weights=False)
    edit = edits(0)
    assert edit is not None and edits.notes  # temperature is reported as ineffective
    torch.testing.assert_close(
        edit(torch.zeros(1, 3), alpha, torch.ones(1, 3, dtype=torch.bool)), torch.tensor([[0.5, 0.5, 0.0]])
    )


def test_untouched_steps_get_no_hook_and_an_explicit_row_wins() -> None:
    edits = StepEdits((PinStep(3, 0), MaskSource(0)), 1.0, 2, softmax_weights=True)
    assert edits(0) is not None and StepEdits((PinStep(3, 0),), 1.0, 2, softmax_weights=True)(0) is None
    edit = edits(3)
    assert edit is not None
    ones = torch.ones(1, 2, dtype=torch.bool)
    torch.testing.assert_close(edit(torch.zeros(1, 2), torch.full((1, 2), 0.5), ones), torch.tensor([[1.0, 0.0]]))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"interventions": (MaskSource(4),)}, "Source position"),
        ({"interventions": (PinStep(-1, 0),)}, "step"),
        ({"interventions": (EditRow(0, (1.0, 1.0)),)}, "needs 4 weights"),
        ({"interventions": (EditRow(0, (0.0, 0.0, 0.0, 0.0)),)}, "not all 0"),
        ({"interventions": tuple(MaskSource(j) for j in range(4))}, "Every source word"),
        ({"score_temperature": 0.0}, "Score temperature"),
        ({"prefix": ("w1",), "strategy": "beam"}, "greedy"),
        ({"perturb": "drop", "interventions": (MaskSource(0),)}, "cannot be combined"),
        ({"perturb": "replace", "perturb_with": "two words"}, "one source token"),
    ],
)
def test_bad_what_if_requests_are_refused(session: InferenceSession, options: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        session.run(DecodeRequest(1, SOURCE, **options))


def test_an_edit_past_the_end_is_reported(session: InferenceSession, original: DecodeResult) -> None:
    edited = whatif(session, original, PinStep(40, 0))
    assert edited.output_tokens == original.output_tokens
    assert any("step 40" in note for note in edited.messages)


def test_reweighted_row_sums_to_one() -> None:
    row = reweighted_row((0.1, 0.3, 0.6), 2, 0.2)
    assert row[2] == 0.2 and sum(row) == pytest.approx(1.0)
    assert row[1] / row[0] == pytest.approx(3.0)  # the others keep their proportions
    assert reweighted_row((0.0, 1.0), 1, 0.4) == pytest.approx((0.6, 0.4))


# -- beam tree -------------------------------------------------------------------------------
def test_beam_tree_finished_leaves_are_the_hypotheses(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, "w6 w7 w8 w9", strategy="beam", beam_width=3))
    tree = result.beam_tree
    assert [n.index for n in tree] == list(range(len(tree)))
    assert all(n.parent < n.index and (n.parent == -1 or tree[n.parent].status == "kept") for n in tree)

    def path(index: int) -> tuple[str, ...]:
        tokens: list[str] = []
        while index != -1:
            tokens.append(tree[index].token)
            index = tree[index].parent
        return tuple(reversed(tokens))

    finished = {path(n.index): n.log_prob for n in tree if n.status == "finished"}
    assert set(finished) == {h.tokens for h in result.hypotheses}
    for h in result.hypotheses:
        assert finished[h.tokens] == pytest.approx(h.log_prob)
    for step in {n.step for n in tree}:
        assert sum(n.status == "kept" for n in tree if n.step == step) <= 3
    assert any(n.status == "pruned" for n in tree)


def test_greedy_has_no_beam_tree(original: DecodeResult) -> None:
    assert original.beam_tree == () and original.perturbations == ()


# -- perturbation ----------------------------------------------------------------------------
def test_perturbation_table_has_a_row_per_word(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, "w1 w2 zz", perturb="drop"))  # zz: unknown, and the model ignores it
    rows = result.perturbations
    assert [r.word for r in rows] == ["w1", "w2", "zz"] and [r.position for r in rows] == [0, 1, 2]
    by_word = {r.word: r for r in rows}
    assert by_word["zz"].output_tokens == result.output_tokens and by_word["zz"].changed_positions == ()
    assert by_word["w1"].changed_positions and by_word["w1"].source_tokens == ("w2", "zz")
    plain = session.run(DecodeRequest(2, "w2 zz"))
    assert by_word["w1"].output_tokens == plain.output_tokens
    assert len(by_word["w1"].max_delta_alpha) == len(plain.output_tokens)


def test_perturbation_by_replacement(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, "w1 w2", perturb="replace", perturb_with="w5"))
    assert [r.source_tokens for r in result.perturbations] == [("w5", "w2"), ("w1", "w5")]
    assert result.perturbations[0].output_tokens == ("w2", "w5", EOS)
    assert all(r.replacement == "w5" for r in result.perturbations)


# -- compare ---------------------------------------------------------------------------------
def test_alpha_difference_aligns_by_step_and_pads_with_nan() -> None:
    a = np.array([[0.5, 0.5], [1.0, 0.0]])
    b = np.array([[0.2, 0.3, 0.5]])
    diff = alpha_difference(a, b)
    assert diff.shape == (2, 3)
    np.testing.assert_allclose(diff[0, :2], [-0.3, -0.2])
    assert np.isnan(diff[0, 2]) and np.isnan(diff[1]).all()
    assert changed_positions(("a", "b", "c"), ("a", "x")) == (1, 2)
    assert step_labels(("a", "b"), ("a", "x", "y")) == ["a", "b → x", "– → y"]


# -- inspect CLI -----------------------------------------------------------------------------
def inspect_json(model: Path, out: Path, *flags: str) -> dict:
    argv = ["inspect", "--model", str(model), "--source", SOURCE, "--device", "cpu", "--out", str(out), *flags]
    assert main(argv) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_inspect_flags_edit_the_exported_alpha(tiny_model_path: Path, tmp_path: Path) -> None:
    data = inspect_json(
        tiny_model_path, tmp_path / "a.json", "--mask-source", "1", "--pin", "2:3", "--edit-row", "0:1,0,3,0"
    )
    alpha = np.array(data["alpha"])
    assert np.all(alpha[:, 1] == 0)
    np.testing.assert_array_equal(alpha[2], [0, 0, 0, 1])
    np.testing.assert_allclose(alpha[0], [0.25, 0, 0.75, 0])
    kinds = [x["kind"] for x in data["interventions"]]
    assert kinds == ["mask_source", "pin", "edit_row"] and data["score_temperature"] == 1.0


def test_inspect_score_temperature_and_perturb(tiny_model_path: Path, tmp_path: Path) -> None:
    data = inspect_json(tiny_model_path, tmp_path / "t.json", "--temperature-scores", "1e-4", "--perturb")
    alpha = np.array(data["alpha"])
    np.testing.assert_allclose(alpha.max(1), 1.0, atol=1e-6)
    assert [p["word"] for p in data["perturbations"]] == SOURCE.split()
    assert all(p["changed_positions"] for p in data["perturbations"])


def test_inspect_rejects_malformed_edits(tiny_model_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", "--model", str(tiny_model_path), "--source", SOURCE, "--pin", "2"]) == 2
    assert "STEP:J" in capsys.readouterr().err
