"""Checkpoints round-trip exactly, and every class of malformed file raises CheckpointError."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as st_save

from models import Checkpoint, CheckpointError, ModelConfig, Seq2Seq, Tokenizer, Vocab, load_checkpoint, save_checkpoint


@pytest.fixture()
def ckpt() -> Checkpoint:
    torch.manual_seed(0)
    src = Vocab.build([["turn", "off", "the", "lights"]])
    tgt = Vocab.build([["लाइट", "बंद", "करो"]])
    model = Seq2Seq(ModelConfig(len(src), len(tgt), embed_dim=8, hidden_dim=12, attn_dim=10))
    return Checkpoint(model, src, tgt, Tokenizer(), Tokenizer(), {"seed": 3}, "# card")


def _parts(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open is not a dict)
        return tensors, dict(handle.metadata())


def test_round_trip_is_exact(ckpt: Checkpoint, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(ckpt, path)
    loaded = load_checkpoint(path)
    assert loaded.config == ckpt.config
    assert loaded.src_vocab == ckpt.src_vocab and loaded.tgt_vocab == ckpt.tgt_vocab
    assert loaded.training == {"seed": 3} and loaded.card == "# card"
    for (name, a), (_, b) in zip(ckpt.model.state_dict().items(), loaded.model.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    assert not loaded.model.training


def test_save_is_atomic_and_leaves_no_temp_files(
    ckpt: Checkpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(ckpt, path)
    before = path.read_bytes()

    def fail(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("models.atomic.os.replace", fail)
    next(ckpt.model.parameters()).data += 1
    with pytest.raises(OSError):
        save_checkpoint(ckpt, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]


def _rewrite(path: Path, tensors: dict[str, torch.Tensor], meta: dict[str, str]) -> None:
    path.write_bytes(st_save(tensors, meta))


Mutation = Callable[[dict[str, torch.Tensor], dict[str, str]], object]  # what it returns is ignored


def _set(key: str, value: str) -> Mutation:
    return lambda t, m: m.__setitem__(key, value)


CASES: dict[str, tuple[Mutation, str]] = {
    "missing tensor": (lambda t, m: t.pop("decoder.output.bias"), "missing"),
    "extra tensor": (lambda t, m: t.__setitem__("rogue", torch.zeros(2)), "unexpected"),
    "wrong shape": (lambda t, m: t.__setitem__("decoder.output.bias", torch.zeros(3)), "shape"),
    "wrong dtype": (lambda t, m: t.__setitem__("decoder.output.bias", t["decoder.output.bias"].double()), "dtype"),
    "nan weight": (lambda t, m: t["encoder.embed.weight"].__setitem__((4, 0), float("nan")), "NaN"),
    "inf weight": (lambda t, m: t["decoder.bridge.weight"].__setitem__((0, 0), float("inf")), "infinite"),
    "vocab mismatch": (
        lambda t, m: m.__setitem__("src_vocab", json.dumps(json.loads(m["src_vocab"])[:-1])),
        "vocabulary",
    ),
    "vocab without specials": (_set("tgt_vocab", json.dumps(["a", "b", "c", "d", "e"])), "tgt_vocab"),
    "no format": (lambda t, m: m.pop("format"), "missing"),
    "foreign format": (_set("format", "other"), "format"),
    "future version": (_set("format_version", "99"), "not supported"),
    "config not json": (_set("config", "{broken"), "not valid JSON"),
    "config wrong type": (_set("config", "[1, 2]"), "JSON dict"),
    "absurd hidden size": (lambda t, m: _patch_config(m, hidden_dim=10**9), "hidden_dim"),
    "absurd layers": (lambda t, m: _patch_config(m, enc_layers=10**6), "enc_layers"),
    "unknown attention": (lambda t, m: _patch_config(m, attention="magic"), "attention"),
    "bad tokenizer": (_set("src_tokenizer", json.dumps({"kind": "bpe"})), "tokenizer"),
}


def _patch_config(meta: dict[str, str], **change: object) -> None:
    meta["config"] = json.dumps({**json.loads(meta["config"]), **change})


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_checkpoints_raise_checkpoint_error(case: str, ckpt: Checkpoint, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(ckpt, path)
    tensors, meta = _parts(path)
    mutate, message = CASES[case]
    mutate(tensors, meta)
    _rewrite(path, tensors, meta)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(path)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"abc",
        struct.pack("<Q", 2**63) + b"{}",
        struct.pack("<Q", 10) + b"not json!!",
        struct.pack("<Q", 2) + b"[]",
        b"\x80\x04\x95pickle-looking bytes" * 3,
    ],
    ids=["empty", "short", "huge header", "bad json", "not object", "pickle"],
)
def test_garbage_files_raise_checkpoint_error(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "g.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError):
        load_checkpoint(path)


def test_truncated_file_raises_checkpoint_error(ckpt: Checkpoint, tmp_path: Path) -> None:
    path = tmp_path / "m.safetensors"
    save_checkpoint(ckpt, path)
    data = path.read_bytes()
    for cut in (len(data) // 3, len(data) - 5):
        path.write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            load_checkpoint(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "nope.safetensors")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path)
