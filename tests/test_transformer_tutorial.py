"""The nn.Transformer tutorial's Seq2SeqTransformer: greedy output and every head's cross-attention equal what
the tutorial's own code and nn.MultiheadAttention (need_weights=True, average_attn_weights=False) give."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from engine import DecodeRequest, InferenceSession
from models import CheckpointError, detect, load_any

UNK_IDX, PAD_IDX, BOS_IDX, EOS_IDX = 0, 1, 2, 3
SPECIAL_SYMBOLS = ["<unk>", "<pad>", "<bos>", "<eos>"]


# -- the tutorial's model, as "Language Translation with nn.Transformer and torchtext" writes it ----------------


class PositionalEncoding(nn.Module):
    def __init__(self, emb_size: int, dropout: float, maxlen: int = 5000):
        super().__init__()
        den = torch.exp(-torch.arange(0, emb_size, 2) * math.log(10000) / emb_size)
        pos = torch.arange(0, maxlen).reshape(maxlen, 1)
        pos_embedding = torch.zeros((maxlen, emb_size))
        pos_embedding[:, 0::2] = torch.sin(pos * den)
        pos_embedding[:, 1::2] = torch.cos(pos * den)
        pos_embedding = pos_embedding.unsqueeze(-2)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("pos_embedding", pos_embedding)

    def forward(self, token_embedding: Tensor) -> Tensor:
        table = self.get_buffer("pos_embedding")
        return self.dropout(token_embedding + table[: token_embedding.size(0), :])


class TokenEmbedding(nn.Module):
    def __init__(self, vocab_size: int, emb_size: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb_size)
        self.emb_size = emb_size

    def forward(self, tokens: Tensor) -> Tensor:
        return self.embedding(tokens.long()) * math.sqrt(self.emb_size)


class Seq2SeqTransformer(nn.Module):
    def __init__(self, layers: int, emb_size: int, nhead: int, src_vocab: int, tgt_vocab: int, ffn: int):
        super().__init__()
        self.transformer = nn.Transformer(
            d_model=emb_size, nhead=nhead, num_encoder_layers=layers, num_decoder_layers=layers,
            dim_feedforward=ffn, dropout=0.1,
        )  # fmt: skip
        self.generator = nn.Linear(emb_size, tgt_vocab)
        self.src_tok_emb = TokenEmbedding(src_vocab, emb_size)
        self.tgt_tok_emb = TokenEmbedding(tgt_vocab, emb_size)
        self.positional_encoding = PositionalEncoding(emb_size, dropout=0.1)

    def encode(self, src: Tensor, src_mask: Tensor) -> Tensor:
        return self.transformer.encoder(self.positional_encoding(self.src_tok_emb(src)), src_mask)

    def decode(self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor) -> Tensor:
        return self.transformer.decoder(self.positional_encoding(self.tgt_tok_emb(tgt)), memory, tgt_mask)


def generate_square_subsequent_mask(sz: int) -> Tensor:
    mask = (torch.triu(torch.ones((sz, sz))) == 1).transpose(0, 1)
    return mask.float().masked_fill(mask == 0, float("-inf")).masked_fill(mask == 1, 0.0)


def greedy_decode(model: Seq2SeqTransformer, src: Tensor, max_len: int) -> Tensor:
    src_mask = torch.zeros(src.shape[0], src.shape[0]).type(torch.bool)
    memory = model.encode(src, src_mask)
    ys = torch.ones(1, 1).fill_(BOS_IDX).type(torch.long)
    for _ in range(max_len - 1):
        tgt_mask = generate_square_subsequent_mask(ys.size(0)).type(torch.bool)
        out = model.decode(ys, memory, tgt_mask).transpose(0, 1)
        prob = model.generator(out[:, -1])
        _, next_word = torch.max(prob, dim=1)
        ys = torch.cat([ys, torch.ones(1, 1).type_as(src.data).fill_(next_word.item())], dim=0)
        if next_word.item() == EOS_IDX:
            break
    return ys


# ------------------------------------------------------------------------------------------------------------

SRC_WORDS = [*SPECIAL_SYMBOLS, *(f"s{i}" for i in range(10))]
TGT_WORDS = [*SPECIAL_SYMBOLS, *(f"t{i}" for i in range(9))]


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Seq2SeqTransformer, Path]:
    torch.manual_seed(4)
    model = Seq2SeqTransformer(2, 16, 4, len(SRC_WORDS), len(TGT_WORDS), 32).eval()
    folder = tmp_path_factory.mktemp("tutorial")
    torch.save(model.state_dict(), folder / "transformer.pt")
    spec = {"format": "pytorch-transformer-tutorial", "model": "transformer.pt", "nhead": 4}
    spec |= {"source_words": SRC_WORDS, "target_words": TGT_WORDS}
    (folder / "transformer.json").write_text(json.dumps(spec), encoding="utf-8")
    return model, folder


@pytest.mark.parametrize("source", ["s1 s2 s3", "s9 s0 s4 s4 s7 s2", "s5"])
def test_greedy_and_heads_match_the_tutorial(tutorial: tuple[Seq2SeqTransformer, Path], source: str) -> None:
    model, folder = tutorial
    assert detect(folder) == "pytorch-transformer-tutorial"
    result = InferenceSession.open(folder, "cpu").run(DecodeRequest(1, source, max_len=12))
    assert result.source_tokens == ("<bos>", *source.split(), "<eos>")
    src = torch.tensor([BOS_IDX, *(SRC_WORDS.index(w) for w in source.split()), EOS_IDX]).view(-1, 1)
    with torch.no_grad():
        ys = greedy_decode(model, src, max_len=13)
    theirs = [TGT_WORDS[i] for i in ys[1:, 0].tolist()]
    assert list(result.output_tokens) == theirs
    weights = _tutorial_cross_attention(model, src, ys[:-1] if theirs[-1] == "<eos>" else ys[: len(theirs)])
    assert result.heads is not None
    np.testing.assert_allclose(result.heads.weights, weights, atol=1e-5)


def _tutorial_cross_attention(model: Seq2SeqTransformer, src: Tensor, ys: Tensor) -> np.ndarray:
    """Teacher-forced through the tutorial's decode, each layer's multihead_attn asked for per-head weights."""
    seen: list[Tensor] = []
    originals = []
    for layer in model.transformer.decoder.layers:
        attention = layer.multihead_attn
        originals.append(attention.forward)

        def forward(*args, _f=attention.forward, **kwargs):  # type: ignore[no-untyped-def]
            kwargs.update(need_weights=True, average_attn_weights=False)
            out, weights = _f(*args, **kwargs)
            seen.append(weights)
            return out, weights

        attention.forward = forward
    try:
        with torch.no_grad():
            memory = model.encode(src, torch.zeros(src.shape[0], src.shape[0]).type(torch.bool))
            model.decode(ys, memory, generate_square_subsequent_mask(ys.size(0)).type(torch.bool))
    finally:
        for layer, original in zip(model.transformer.decoder.layers, originals, strict=True):
            layer.multihead_attn.forward = original
    return torch.stack(seen, 1)[0].permute(2, 0, 1, 3).numpy()  # (1, L, H, U, T) → (U, L, H, T)


def test_a_wrong_head_count_or_a_foreign_tensor_is_refused(
    tutorial: tuple[Seq2SeqTransformer, Path], tmp_path: Path
) -> None:
    model, folder = tutorial
    spec = json.loads((folder / "transformer.json").read_text(encoding="utf-8"))
    (tmp_path / "bad.json").write_text(json.dumps({**spec, "nhead": 3}), encoding="utf-8")
    state = model.state_dict()
    torch.save(state, tmp_path / "transformer.pt")
    with pytest.raises(CheckpointError, match="multiple of heads"):
        load_any(tmp_path / "bad.json")
    torch.save({**state, "extra.weight": torch.zeros(2)}, tmp_path / "transformer.pt")
    (tmp_path / "bad.json").write_text(json.dumps(spec), encoding="utf-8")
    with pytest.raises(CheckpointError, match="not supported: tensor 'extra.weight'"):
        load_any(tmp_path / "bad.json")
