"""Our transformer and the engine's per-head records: stepping equals teacher forcing, views, edits, exports."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import DecodeRequest, InferenceSession, InputError, MaskSource, PinStep, StepRecord
from engine.inspect_cli import main as inspect_main
from engine.requests import EditHead
from models import SPECIALS, Checkpoint, Tokenizer, Vocab, load_checkpoint, save_checkpoint
from models.transformer.config import TransformerConfig
from models.transformer.model import MultiHeadAttention, TransformerSeq2Seq, value_norms
from tests.fakes import alpha_of, scores_of

WORDS = tuple(f"w{i}" for i in range(12))
SOURCE = "w1 w2 w3 w4 w5"


def _model(norm: str = "post", seed: int = 0) -> TransformerSeq2Seq:
    torch.manual_seed(seed)
    config = TransformerConfig(
        len(SPECIALS) + len(WORDS), len(SPECIALS) + len(WORDS), d_model=16, heads=4, enc_layers=2, dec_layers=3,
        ffn_dim=32, dropout=0.0, norm=norm, final_norm=norm == "pre",
    )  # fmt: skip
    return TransformerSeq2Seq(config).eval()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> InferenceSession:
    vocab = Vocab(SPECIALS + WORDS)
    path = tmp_path_factory.mktemp("transformer") / "t.safetensors"
    save_checkpoint(Checkpoint(_model(), vocab, vocab, Tokenizer(), Tokenizer()), path)
    return InferenceSession.open(path, "cpu")


def _batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    torch.manual_seed(1)
    src = torch.randint(4, 16, (3, 7))
    lengths = torch.tensor([7, 4, 1])
    src[1, 4:] = 0
    src[2, 1:] = 0
    tgt = torch.randint(4, 16, (3, 6))
    tgt[:, 0] = 1
    return src, lengths, tgt


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_stepping_with_the_cache_equals_teacher_forcing(norm: str) -> None:
    model = _model(norm)
    src, lengths, tgt = _batch()
    with torch.no_grad():
        reference = model.teacher_forced(src, lengths, tgt)
        memory = model.encode(src, lengths)
        state = model.init_state(memory)
        for i in range(tgt.shape[1]):
            out = model.decode_step(tgt[:, i], state, memory)
            state = out.state
            assert out.heads is not None
            torch.testing.assert_close(out.heads.weights, reference.weights[:, i], atol=1e-5, rtol=0)
            torch.testing.assert_close(out.heads.scores, reference.scores[:, i], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(out.logits, reference.logits[:, i], atol=1e-5, rtol=1e-5)
            for layer, weights in enumerate(out.heads.self_weights):
                torch.testing.assert_close(weights, reference.self_weights[:, i, layer, :, : i + 1], atol=1e-5, rtol=0)


def test_heads_are_what_their_definitions_say() -> None:
    model = _model()
    src, lengths, tgt = _batch()
    with torch.no_grad():
        memory = model.encode(src, lengths)
        out = model.decode_step(tgt[:, 0], model.init_state(memory), memory)
    heads = out.heads
    assert heads is not None
    assert heads.weights.shape == (3, 3, 4, 7) and heads.contexts.shape == (3, 3, 4, 4)
    torch.testing.assert_close(heads.weights.sum(-1), torch.ones(3, 3, 4))
    assert float(heads.weights[1, :, :, 4:].abs().max()) == 0.0  # padding gets exactly 0
    for layer, block in enumerate(model.decoder_layers):
        attention = block.cross_attn
        assert isinstance(attention, MultiHeadAttention) and isinstance(attention.out_proj, torch.nn.Linear)
        values = attention.split(attention.v_proj(memory.states))
        # per head: c = Σ_j α_j v_j; the block output is W_O [c_1; …; c_H] + b_O
        torch.testing.assert_close(
            heads.contexts[:, layer], torch.einsum("bht,bhtk->bhk", heads.weights[:, layer], values)
        )
        torch.testing.assert_close(heads.outputs[:, layer], attention.out_proj(heads.contexts[:, layer].flatten(1)))
        # ‖α_j W_O^h v_j‖ straight from the definition
        per_head = attention.out_proj.weight.view(16, 4, 4)
        transformed = torch.einsum("bhtk,dhk->bhtd", heads.weights[:, layer].unsqueeze(-1) * values, per_head)
        torch.testing.assert_close(heads.norms[:, layer], transformed.norm(dim=-1), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(out.alpha, heads.weights[:, -1].mean(1))
    assert isinstance(attention, MultiHeadAttention) and isinstance(attention.out_proj, torch.nn.Linear)
    assert value_norms(values, attention.out_proj.weight).shape == (3, 4, 7)


def test_records_carry_every_layer_and_head_with_the_default_view(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, SOURCE, max_len=6))
    heads = result.heads
    assert heads is not None and "mean over the 4 heads of decoder layer 2 (the last)" in heads.view
    steps, width = len(result.output_tokens), len(result.source_tokens)
    assert heads.weights.shape == (steps, 3, 4, width) and heads.contexts.shape == (steps, 3, 4, 4)
    np.testing.assert_allclose(alpha_of(result), heads.weights[:, -1].mean(1), atol=1e-6)
    np.testing.assert_allclose(scores_of(result), heads.scores[:, -1].mean(1), atol=1e-6)
    streamed = [r for r in session.decode(DecodeRequest(2, SOURCE, max_len=6)) if not hasattr(r, "strategy")]
    assert len(streamed) == steps
    for i, record in enumerate(streamed):
        assert record.heads is not None and record.heads.self_weights is None
        np.testing.assert_array_equal(record.heads.weights, heads.weights[i])
        np.testing.assert_array_equal(record.heads.norms, heads.norms[i])


def test_a_chosen_layer_and_head_is_what_alpha_shows(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, SOURCE, max_len=5, layer=0, head=2, self_attention=True))
    assert result.heads is not None and result.heads.view.startswith("head 2 of decoder layer 0")
    np.testing.assert_allclose(alpha_of(result), result.heads.weights[:, 0, 2], atol=1e-7)
    selfs = result.heads.self_weights
    assert [w.shape for w in selfs] == [(3, 4, i + 1) for i in range(len(result.output_tokens))]
    np.testing.assert_allclose(selfs[-1].sum(-1), 1.0, atol=1e-5)
    layer_mean = session.run(DecodeRequest(1, SOURCE, max_len=5, layer=1))
    assert layer_mean.heads is not None
    np.testing.assert_allclose(alpha_of(layer_mean), layer_mean.heads.weights[:, 1].mean(1), atol=1e-6)


@pytest.mark.parametrize("strategy", ["greedy", "beam", "sample", "forced"])
def test_every_strategy_runs_with_heads(session: InferenceSession, strategy: str) -> None:
    result = session.run(DecodeRequest(1, SOURCE, strategy=strategy, target="w3 w2", max_len=6, self_attention=True))
    assert result.heads is not None and len(result.heads.weights) == len(result.output_tokens)
    assert len(result.heads.self_weights) == len(result.output_tokens)
    np.testing.assert_allclose(result.heads.weights.sum(-1), 1.0, atol=1e-5)


def test_beam_width_one_equals_greedy(session: InferenceSession) -> None:
    greedy = session.run(DecodeRequest(1, SOURCE, max_len=8))
    beam = session.run(DecodeRequest(1, SOURCE, strategy="beam", beam_width=1, max_len=8))
    assert beam.output_tokens == greedy.output_tokens
    assert greedy.heads is not None and beam.heads is not None
    np.testing.assert_allclose(beam.heads.weights, greedy.heads.weights, atol=1e-6)


def test_zeroing_or_pinning_a_head_from_a_step_on(session: InferenceSession) -> None:
    plain = session.run(DecodeRequest(1, SOURCE, max_len=6))
    edits = (EditHead(1, 3, "zero", 0, 2), EditHead(0, None, "pin", 4, 1))
    edited = session.run(DecodeRequest(1, SOURCE, max_len=6, interventions=edits))
    assert plain.heads is not None and edited.heads is not None
    assert float(np.abs(edited.heads.weights[2:, 1, 3]).max()) == 0.0
    np.testing.assert_array_equal(edited.heads.weights[1:, 0, :, 4], 1.0)
    np.testing.assert_array_equal(edited.heads.weights[0], plain.heads.weights[0])  # step 0: nothing edited


def test_each_beam_hypothesis_carries_its_heads(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, SOURCE, strategy="beam", beam_width=3, max_len=6, layer=0, head=2))
    assert result.heads is not None and len(result.hypotheses) >= 2
    best = result.hypotheses[0].heads
    assert best is not None
    for name in ("weights", "scores", "contexts", "norms"):
        np.testing.assert_array_equal(getattr(best, name), getattr(result.heads, name))
    for h in result.hypotheses:
        assert h.heads is not None and h.heads.weights.shape[:3] == (len(h.tokens), 3, 4) and h.alpha is not None
        np.testing.assert_allclose(h.alpha, h.heads.weights[:, 0, 2], atol=1e-6)  # the request's view
        assert not h.heads.weights.flags.writeable and h.heads.view == result.heads.view


def test_alpha_edits_act_on_the_viewed_heads(session: InferenceSession) -> None:
    masked = session.run(DecodeRequest(1, SOURCE, max_len=5, interventions=(MaskSource(1),)))
    assert masked.heads is not None
    assert float(masked.heads.weights[:, -1, :, 1].max()) == 0.0 and float(alpha_of(masked)[:, 1].max()) == 0.0
    assert float(masked.heads.weights[:, 0, :, 1].max()) > 0.0  # other layers attend as they like
    pinned = session.run(DecodeRequest(1, SOURCE, max_len=5, layer=0, head=1, interventions=(PinStep(0, 3),)))
    assert pinned.heads is not None
    np.testing.assert_array_equal(alpha_of(pinned)[0], np.eye(len(pinned.source_tokens))[3])
    assert float(pinned.heads.weights[0, 0, 0, 3]) < 1.0  # the other heads of that layer are untouched


def test_head_options_are_checked(session: InferenceSession, tiny_model_path: Path) -> None:
    with pytest.raises(InputError, match="Layer must be from 0 to 2"):
        session.run(DecodeRequest(1, SOURCE, layer=3))
    with pytest.raises(InputError, match="head must be from 0 to 3"):
        session.run(DecodeRequest(1, SOURCE, interventions=(EditHead(0, 4, "zero"),)))
    rnn = InferenceSession.open(tiny_model_path, "cpu")
    with pytest.raises(InputError, match="transformer"):
        rnn.run(DecodeRequest(1, "w1 w2", head=0))
    assert rnn.run(DecodeRequest(1, "w1 w2")).heads is None


def test_checkpoint_round_trip_and_description(session: InferenceSession, tmp_path: Path) -> None:
    again = tmp_path / "again.safetensors"
    save_checkpoint(session.checkpoint, again)
    loaded = load_checkpoint(again)
    assert isinstance(loaded.model, TransformerSeq2Seq) and loaded.config == session.checkpoint.config
    for name, tensor in session.checkpoint.model.state_dict().items():
        torch.testing.assert_close(loaded.model.state_dict()[name], tensor, atol=0, rtol=0)
    assert session.info().description["architecture"].startswith("transformer (post-LN")


def test_inspect_exports_every_head_and_picks_the_view(session: InferenceSession, tmp_path: Path) -> None:
    assert session.checkpoint.path is not None
    out = tmp_path / "heads.json"
    args = ["--model", str(session.checkpoint.path), "--source", SOURCE, "--max-len", "4", "--out", str(out)]
    assert inspect_main([*args, "--layer", "1", "--head", "2", "--zero-head", "0:all:1"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    cross = np.array(data["cross_attention"])
    assert cross.shape == (len(data["output_tokens"]), 3, 4, len(data["source_tokens"]))
    np.testing.assert_allclose(np.array(data["alpha"]), cross[:, 1, 2], atol=1e-6)
    assert float(np.abs(cross[1:, 0]).max()) == 0.0
    assert "head 2 of decoder layer 1" in data["attention_view"]
    assert np.array(data["value_weighted_norms"]).shape == cross.shape
    assert inspect_main([*args, "--head", "mean"]) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    np.testing.assert_allclose(np.array(data["alpha"]), np.array(data["cross_attention"])[:, -1].mean(1), atol=1e-6)
    assert inspect_main([*args, "--layer", "7"]) == 2


def test_each_record_field_has_its_own_width(session: InferenceSession) -> None:
    result = session.run(DecodeRequest(1, SOURCE, max_len=3))
    record = next(r for r in session.decode(DecodeRequest(1, SOURCE, max_len=3)) if isinstance(r, StepRecord))
    assert (
        record.state.shape == (16,)
        and record.context.shape == (16,)
        and result.states.shape == (len(result.output_tokens), 16)
    )
    assert alpha_of(record).shape == scores_of(record).shape == (5,)


def test_word_level_view_sums_source_pieces_and_averages_target_pieces() -> None:
    from engine.word_view import word_groups, word_level

    assert word_groups(["▁turn", "▁off", "▁the", "▁li", "ghts", "</s>"]) == [[0], [1], [2], [3, 4], [5]]
    assert word_groups(["<s>", "Ġturn", "Ġli", "ghts", "</s>"]) == [[0], [1], [2, 3], [4]]
    assert word_groups(["turn", "li", "##ghts", "<eos>"]) == [[0], [1, 2], [3]]
    assert word_groups(["a", "b", "▁", "c"]) == [[0, 1], [3]]
    assert word_groups(["turn", "off", "<eos>"]) == [[0], [1], [2]]
    alpha = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.25, 0.25, 0.25, 0.25]])
    view = word_level(["▁a", "▁b", "c", "</s>"], ["▁x", "y", "</s>"], alpha)
    assert view.source_words == ("a", "bc", "</s>") and view.output_words == ("xy", "</s>")
    np.testing.assert_allclose(view.alpha, [[0.25, 0.5, 0.25], [0.25, 0.5, 0.25]])
    np.testing.assert_allclose(view.alpha.sum(1), 1.0)
