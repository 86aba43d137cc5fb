"""Where a model departs from the paper its attention is named after: the table a model card prints.

Each row names the paper's choice, ours (read from the checkpoint's config and training summary, so
a retrained model's card stays true) and what the difference changes.  The papers' figures are the
ones they report: Bahdanau et al. 2015 (RNNsearch, appendix A), Luong et al. 2015 (section 4.1),
for the model without attention the RNN Encoder–Decoder of Cho et al. 2014 as Bahdanau et al.
trained it for their RNNencdec baseline, and for the transformer Vaswani et al. 2017 (base model,
sections 3, 5 and 6).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from models.rnn.config import ModelConfig
from models.transformer.config import TransformerConfig

Ours = Callable[[Any, dict[str, Any]], str]  # (the checkpoint's config, its training summary) → our choice


@dataclass(frozen=True)
class Row:
    aspect: str
    paper: str
    ours: Ours
    effect: str


@dataclass(frozen=True)
class Paper:
    title: str
    rows: tuple[Row, ...]


def _encoder(c: ModelConfig, _: dict[str, Any]) -> str:
    way = "bidirectional" if c.bidirectional else "unidirectional"
    return f"{way} {c.rnn.upper()}, {c.enc_layers} layer(s), {c.hidden_dim} units per direction"


def _sizes(c: ModelConfig, _: dict[str, Any]) -> str:
    return f"embeddings {c.embed_dim}, decoder {c.hidden_dim} units, attention layer {c.attn_dim}"


def _readout(c: ModelConfig, _: dict[str, Any]) -> str:
    return f"one tanh layer of {c.hidden_dim} units on [s_i; c_i; y_(i-1)], then a softmax"


def _training(c: ModelConfig, t: dict[str, Any]) -> str:
    decay = t.get("lr_decay", 1.0)
    schedule = f", rate × {decay} after each epoch without a better validation loss" if decay < 1 else ""
    return (
        f"Adam (lr {t.get('lr', '?')}{schedule}), batches of {t.get('batch_size', '?')}, gradient norm ≤ "
        f"{t.get('clip', '?')}, dropout {c.dropout}; at most {t.get('epoch_cap', '?')} epochs, early stopping after "
        f"{t.get('patience', '?')} epochs without a better validation loss{_by(t.get('min_delta', 0.0))}; "
        "the best epoch's weights kept"
    )


def _by(min_delta: float) -> str:
    return f" (better by more than {min_delta})" if min_delta else ""


def _data(c: ModelConfig, t: dict[str, Any]) -> str:
    pairs = t.get("train_pairs", "?")
    return f"{pairs} synthetic pairs made by `python main.py corpus` (a closed domain with exact references)"


def _luong_score(c: ModelConfig, _: dict[str, Any]) -> str:
    score = {"luong-dot": "dot e = s_iᵀ h_j", "luong-general": "general e = s_iᵀ W_a h_j"}
    return f"global attention, {score.get(c.attention, 'concat e = v_aᵀ tanh(W_a s_i + U_a h_j)')}, over every word"


def _fixed(text: str) -> Ours:
    return lambda _c, _t: text


_GREEDY = Row(
    "decoding",
    "beam search",
    _fixed("greedy for every figure in this card (beam search is available in the app and `inspect --beam`)"),
    "greedy is the harder test: a beam can repair an early wrong word; the ranking of the models is what is shown",
)


def _vocabulary(paper: str) -> Row:
    return Row(
        "vocabulary",
        f"the {paper} most frequent words a side, rarer words as UNK",
        lambda c, _: f"every token of the training data ({c.src_vocab_size} / {c.tgt_vocab_size} entries)",
        "no unknown tokens inside the demo's domain; one outside it is UNK",
    )


_SIZES_EFFECT = (
    "a far smaller model, sized for a closed vocabulary of a few hundred tokens; it trains in hours on a CPU. "
    "The figures are this model's on this data, not the paper's"
)

BAHDANAU = Paper(
    "Bahdanau, Cho & Bengio 2015, Neural Machine Translation by Jointly Learning to Align and Translate (RNNsearch)",
    (
        Row(
            "encoder",
            "bidirectional RNN of gated units (the GRU of Cho et al. 2014), 1000 units per direction",
            _encoder,
            _SIZES_EFFECT,
        ),
        Row("sizes", "embeddings 620, decoder 1000 units, alignment model 1000", _sizes, _SIZES_EFFECT),
        Row(
            "attention and decoder",
            "e_ij = v_aᵀ tanh(W_a s_(i-1) + U_a h_j); c_i fed into the decoder GRU",
            lambda c, _: f"the same (query s_(i-1), c_i in the {c.rnn.upper()}'s input)",
            "none: the mechanism the app shows is the paper's",
        ),
        Row(
            "initial decoder state",
            "s_0 = tanh(W_s ←h_1), the backward encoder's first state",
            _fixed("s_0 = tanh(W [→h_T; ←h_1]), both directions' final states"),
            "the decoder starts with the whole sentence in view from both ends",
        ),
        Row(
            "output layer",
            "deep output with one maxout layer (500 units, pools of 2)",
            _readout,
            "less capacity between the state and the softmax (not measured here)",
        ),
        Row(
            "training",
            "minibatch SGD with Adadelta (ε 1e-6, ρ 0.95), batches of 80, gradient norm ≤ 1, about 5 days on a GPU",
            _training,
            "a budget of hours on a CPU, not days on a GPU; the figures depend on it (see Training above)",
        ),
        Row(
            "data",
            "WMT'14 English→French, 348M words; models trained on sentences up to 30 or 50 words",
            _data,
            "every reference is exact, so every error is the model's; the en→hi corpus also has gold alignments (AER)",
        ),
        _vocabulary("30,000"),
        _GREEDY,
    ),
)

LUONG = Paper(
    "Luong, Pham & Manning 2015, Effective Approaches to Attention-based Neural Machine Translation",
    (
        Row(
            "encoder",
            "stacked unidirectional LSTM, 4 layers of 1000 cells, source sentence reversed",
            _encoder,
            "one small layer that reads both directions instead of a deep one reading the source backwards; "
            "each h_j knows its left and right neighbours",
        ),
        Row("sizes", "embeddings 1000, decoder 4 × 1000 LSTM cells", _sizes, _SIZES_EFFECT),
        Row(
            "attention",
            "global or local-p attention (the best single model used local-p with the general score)",
            _luong_score,
            "no local window: α may spread over the whole sentence",
        ),
        Row(
            "attentional vector and input feeding",
            "h̃_i = tanh(W_c [c_i; s_i]) fed to the next step's input",
            _fixed("the same"),
            "none",
        ),
        Row(
            "initial decoder state",
            "the encoder's last states",
            _fixed("s_0 = tanh(W [→h_T; ←h_1]), both directions' final states"),
            "as the paper's, through a learned projection between the widths",
        ),
        Row(
            "training",
            "plain SGD (lr 1, halved every epoch after the 5th, 10–12 epochs), batches of 128, gradient norm ≤ 5, "
            "dropout 0.2, weights uniform in [-0.1, 0.1]",
            _training,
            "a budget of hours on a CPU, not days on a GPU; the figures depend on it (see Training above)",
        ),
        Row(
            "data",
            "WMT'14 English→German, 4.5M sentence pairs, sentences over 50 words left out",
            _data,
            "every reference is exact, so every error is the model's; the en→hi corpus also has gold alignments (AER)",
        ),
        _vocabulary("50,000"),
        Row("unknown words", "UNK replacement from the alignments; ensembles of 8", _fixed("neither"), "none here"),
        _GREEDY,
    ),
)

CHO = Paper(
    "Cho et al. 2014, Learning Phrase Representations using RNN Encoder–Decoder for Statistical Machine Translation "
    "(the RNN Encoder–Decoder), as trained for the RNNencdec baseline of Bahdanau et al. 2015",
    (
        Row(
            "encoder",
            "unidirectional RNN of gated units, 1000 units",
            _encoder,
            "the summary reads the sentence from both ends, so its first words are not the most faded: "
            "if anything this helps the baseline",
        ),
        Row(
            "context",
            "one summary c = tanh(V h_T) of the last encoder state, read by every decoder step and by s_0",
            _fixed(
                "one summary c = Memory.final = [→h_T; ←h_1] (forward after the last word, backward after the "
                "first), read by every decoder step (c_i = c) and by s_0 = tanh(W c); α and e are reported as zeros"
            ),
            "the same bottleneck: every step sees one fixed vector of 2 × hidden numbers, whatever the length",
        ),
        Row("sizes", "embeddings 620, decoder 1000 units", _sizes, _SIZES_EFFECT),
        Row(
            "output layer",
            "deep output with one maxout layer (500 units, pools of 2) on s_i, y_(i-1) and c",
            _readout,
            "less capacity between the state and the softmax (not measured here)",
        ),
        Row(
            "training",
            "Adadelta (ε 1e-6, ρ 0.95), batches of 80, about 5 days on a GPU (RNNencdec-30/-50)",
            _training,
            "the same budget and data as the attention models here, each trained until validation stops improving",
        ),
        Row(
            "data",
            "WMT'14 English→French, sentences up to 30 or 50 words",
            _data,
            "the demo's longest sentences (60 tokens) pass the paper's 50-word limit; the quality table shows how "
            "the fixed vector fares with length",
        ),
        _vocabulary("30,000"),
        _GREEDY,
    ),
)


def _transformer_sizes(c: TransformerConfig, _: dict[str, Any]) -> str:
    return (
        f"{c.enc_layers} encoder + {c.dec_layers} decoder layers, d_model {c.d_model}, {c.heads} heads of "
        f"{c.d_model // max(c.heads, 1)}, feed-forward {c.ffn_dim}"
    )


def _transformer_order(c: TransformerConfig, _: dict[str, Any]) -> str:
    order = "post-LN, as the paper" if c.norm == "post" else "pre-LN with final LayerNorms"
    return f"{order}; sinusoidal positions, embeddings × √d_model; untied embeddings and output layer"


def _transformer_training(c: TransformerConfig, t: dict[str, Any]) -> str:
    return (
        f"Adam (lr {t.get('lr', '?')}, linear warm-up over {t.get('warmup', 0)} updates, then constant), batches of "
        f"{t.get('batch_size', '?')} sentences, dropout {c.dropout}, no label smoothing; at most "
        f"{t.get('epoch_cap', '?')} epochs, early stopping after {t.get('patience', '?')} epochs without a better "
        "validation loss; the best epoch's weights kept"
    )


VASWANI = Paper(
    "Vaswani et al. 2017, Attention Is All You Need (the base model)",
    (
        Row(
            "sizes",
            "6 encoder + 6 decoder layers, d_model 512, 8 heads of 64, feed-forward 2048",
            _transformer_sizes,
            "a far smaller model, sized for a closed vocabulary of a few hundred words; it trains in minutes on a "
            "CPU. The figures are this model's on this data, not the paper's",
        ),
        Row(
            "layers",
            "post-LN residual blocks, sinusoidal positions, embeddings × √d_model, one matrix shared by the "
            "embeddings and the output layer",
            _transformer_order,
            "the same equations; untied output weights add parameters the small vocabulary does not need",
        ),
        Row(
            "cross-attention",
            "every decoder layer's heads attend over the last encoder layer's output",
            _fixed("the same; the app shows every layer's and head's weights, the last layer's mean by default"),
            "none: the mechanism the app shows is the paper's",
        ),
        Row(
            "training",
            "Adam (β₂ 0.98) with 4000 warm-up steps then an inverse-square-root rate, batches of ~25,000 tokens, "
            "dropout 0.1, label smoothing 0.1, 100,000 steps (12 hours on 8 GPUs)",
            _transformer_training,
            "a budget of minutes on one CPU core; the figures depend on it (see Training above)",
        ),
        Row(
            "data",
            "WMT'14 English→German, 4.5M sentence pairs, a shared BPE vocabulary of ~37,000 tokens",
            _data,
            "every reference is exact, so every error is the model's; the en→hi corpus also has gold alignments (AER)",
        ),
        Row(
            "vocabulary",
            "byte-pair pieces shared by both languages",
            lambda c, _: f"whole words, one vocabulary per side ({c.src_vocab_size} / {c.tgt_vocab_size} entries)",
            "each attention column is a word, so α reads word to word; no word outside the demo's domain is known",
        ),
        Row(
            "decoding",
            "beam search (beam 4, length penalty 0.6)",
            _fixed("greedy for every figure in this card (beam search is available in the app and `inspect --beam`)"),
            "greedy is the harder test: a beam can repair an early wrong word",
        ),
    ),
)

PAPERS = {
    "bahdanau": BAHDANAU,
    "luong-general": LUONG,
    "luong-dot": LUONG,
    "luong-concat": LUONG,
    "none": CHO,
    "multi-head": VASWANI,
}


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def section(config: ModelConfig | TransformerConfig, training: dict[str, Any]) -> list[str]:
    """The card's 'Differences from the paper' section as Markdown lines ([] for an attention no paper names)."""
    paper = PAPERS.get(config.attention)
    if paper is None:
        return []
    lines = [
        "## Differences from the paper",
        "",
        f"Reference: {paper.title}.",
        "",
        "| | paper | this model | what it changes |",
        "|---|---|---|---|",
    ]
    for row in paper.rows:
        cells = (row.aspect, row.paper, row.ours(config, training), row.effect)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return [*lines, ""]
