"""The attention family: α rows sum to 1, padding gets exactly 0, c = Σ α h, shapes and configs."""

from __future__ import annotations

import pytest
import torch

from models import BOS_ID, ModelConfig, Seq2Seq
from models.rnn.attention import weighted_sum
from models.rnn.config import ATTENTION_TYPES, ConfigError


def _config(attention: str, rnn: str = "gru", layers: int = 1) -> ModelConfig:
    return ModelConfig(
        src_vocab_size=30,
        tgt_vocab_size=25,
        embed_dim=16,
        hidden_dim=24,
        attn_dim=20,
        rnn=rnn,
        enc_layers=layers,
        dec_layers=layers,
        bidirectional=attention != "luong-dot",
        attention=attention,
    )


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    src = torch.randint(4, 30, (3, 7))
    lengths = torch.tensor([7, 4, 1])
    src[1, 4:] = 0
    src[2, 1:] = 0
    return src, lengths


@pytest.mark.parametrize("attention", [a for a in ATTENTION_TYPES if a != "none"])  # "none": tested below
@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_step_outputs_are_consistent(attention: str, rnn: str) -> None:
    model = Seq2Seq(_config(attention, rnn, layers=2)).eval()
    src, lengths = _batch()
    memory = model.encode(src, lengths)
    state = model.init_state(memory)
    prev = torch.full((3,), BOS_ID)
    for _ in range(4):
        out = model.decode_step(prev, state, memory)
        assert torch.allclose(out.alpha.sum(-1), torch.ones(3), atol=1e-6)
        assert (out.alpha[~memory.mask] == 0).all(), "padding must get exactly zero weight"
        expected = torch.einsum("bt,bth->bh", out.alpha, memory.states)
        assert torch.allclose(out.context, expected, atol=1e-6)
        assert out.scores.shape == (3, 7) and out.logits.shape == (3, 25)
        assert torch.equal(out.top, out.state.hidden[-1])  # the engine records s_i from `top`
        prev, state = out.logits.argmax(-1), out.state


def test_padding_does_not_change_a_sentence() -> None:
    """The same sentence alone and padded in a batch gives the same step outputs."""
    model = Seq2Seq(_config("bahdanau")).eval()
    src, lengths = _batch()
    alone = model.encode(src[1:2, :4], lengths[1:2])
    batch = model.encode(src, lengths)
    a = model.decode_step(torch.tensor([BOS_ID]), model.init_state(alone), alone)
    b = model.decode_step(torch.full((3,), BOS_ID), model.init_state(batch), batch)
    assert torch.allclose(a.alpha[0], b.alpha[1, :4], atol=1e-6)
    assert torch.allclose(a.logits[0], b.logits[1], atol=1e-5)


def test_attention_changes_context_per_step_but_none_does_not() -> None:
    src, lengths = _batch()
    for attention, should_vary in (("bahdanau", True), ("none", False)):
        torch.manual_seed(1)
        model = Seq2Seq(_config(attention)).eval()
        memory = model.encode(src[:1], lengths[:1])
        state, contexts = model.init_state(memory), []
        prev = torch.tensor([BOS_ID])
        for _ in range(3):
            out = model.decode_step(prev, state, memory)
            contexts.append(out.context)
            prev, state = out.logits.argmax(-1), out.state
        varies = not torch.allclose(contexts[0], contexts[2])
        assert varies == should_vary, attention


@pytest.mark.parametrize("rnn", ["gru", "lstm"])
def test_none_attention_feeds_the_whole_sentence_summary_to_every_step(rnn: str) -> None:
    """RNNencdec: c is Memory.final (forward last ⊕ backward first) at every step; α and e are zeros."""
    model = Seq2Seq(_config("none", rnn, layers=2)).eval()
    src, lengths = _batch()
    memory = model.encode(src, lengths)
    state, prev = model.init_state(memory), torch.full((3,), BOS_ID)
    h = model.config.hidden_dim
    for row, length in enumerate(lengths.tolist()):  # the summary reads the whole sentence from both ends
        torch.testing.assert_close(memory.final[row, :h], memory.states[row, length - 1, :h])
        torch.testing.assert_close(memory.final[row, h:], memory.states[row, 0, h:])
    for _ in range(3):
        out = model.decode_step(prev, state, memory)
        torch.testing.assert_close(out.context, memory.final)
        assert out.alpha.shape == out.scores.shape == src.shape
        assert not out.alpha.any() and not out.scores.any()
        prev, state = out.logits.argmax(-1), out.state


def test_none_attention_ignores_an_alpha_edit_and_padding() -> None:
    model = Seq2Seq(_config("none")).eval()
    src, lengths = _batch()
    batch, alone = model.encode(src, lengths), model.encode(src[1:2, :4], lengths[1:2])
    a = model.decode_step(torch.tensor([BOS_ID]), model.init_state(alone), alone, edit=lambda e, al, m: m.float())
    b = model.decode_step(torch.full((3,), BOS_ID), model.init_state(batch), batch)
    torch.testing.assert_close(a.logits[0], b.logits[1], atol=1e-5, rtol=1e-5)


def test_teacher_forced_forward_equals_stepping() -> None:
    model = Seq2Seq(_config("luong-general", "lstm")).eval()
    src, lengths = _batch()
    tgt_in = torch.randint(4, 25, (3, 5))
    tgt_in[:, 0] = BOS_ID
    logits, alphas = model(src, lengths, tgt_in)
    memory = model.encode(src, lengths)
    state = model.init_state(memory)
    for i in range(5):
        out = model.decode_step(tgt_in[:, i], state, memory)
        assert torch.allclose(out.logits, logits[:, i], atol=1e-5)
        assert torch.allclose(out.alpha, alphas[:, i], atol=1e-6)
        state = out.state


def test_weighted_sum_matches_definition() -> None:
    alpha = torch.softmax(torch.randn(2, 5), -1)
    memory = torch.randn(2, 5, 3)
    manual = torch.stack([alpha[:, j : j + 1] * memory[:, j] for j in range(5)]).sum(0)
    assert torch.allclose(weighted_sum(alpha, memory), manual, atol=1e-6)


def test_model_is_built_from_its_config_alone() -> None:
    config = _config("luong-concat", "lstm", layers=2)
    a, b = Seq2Seq(config), Seq2Seq(ModelConfig.from_dict(config.to_dict()))
    assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    assert a.parameter_count() <= config.approx_parameters()


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_dim": 10**9},
        {"enc_layers": 10**6},
        {"rnn": "transformer"},
        {"attention": "magic"},
        {"dropout": 1.5},
        {"embed_dim": "64"},
        {"attention": "luong-dot", "bidirectional": True},
    ],
)
def test_absurd_configs_are_refused(change: dict[str, object]) -> None:
    data = {**_config("bahdanau").to_dict(), **change}
    with pytest.raises(ConfigError):
        ModelConfig.from_dict(data)


def test_unknown_config_keys_are_refused() -> None:
    with pytest.raises(ConfigError, match="unknown config keys"):
        ModelConfig.from_dict({**_config("bahdanau").to_dict(), "heads": 8})


def test_alpha_edit_replaces_weights_and_context() -> None:
    """An intervention (here: zero source word 1, renormalise) is what c_i is built from."""

    def drop_word_1(scores: torch.Tensor, alpha: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        edited = alpha.clone()
        edited[:, 1] = 0
        return edited / edited.sum(-1, keepdim=True)

    model = Seq2Seq(_config("bahdanau")).eval()
    src, lengths = _batch()
    memory = model.encode(src[:1], lengths[:1])
    out = model.decode_step(torch.tensor([BOS_ID]), model.init_state(memory), memory, edit=drop_word_1)
    assert out.alpha[0, 1] == 0 and torch.allclose(out.alpha.sum(-1), torch.ones(1), atol=1e-6)
    assert torch.allclose(out.context, weighted_sum(out.alpha, memory.states), atol=1e-6)
    plain = model.decode_step(torch.tensor([BOS_ID]), model.init_state(memory), memory)
    assert torch.equal(plain.scores, out.scores) and not torch.allclose(plain.context, out.context)
