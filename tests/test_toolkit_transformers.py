"""JoeyNMT 2.3 and OpenNMT-py 3.5 transformers: greedy output and every layer's and head's cross-attention equal
what each toolkit's own code gave for small models it trained (tests/data/make_*_transformer_reference.py made
the fixtures)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import DecodeRequest, InferenceSession
from models import CheckpointError, detect, load_any, load_checkpoint
from models.importers import convert_cli
from models.transformer.model import TransformerSeq2Seq

DATA = Path(__file__).parent / "data" / "joeynmt"
ONMT = Path(__file__).parent / "data" / "opennmt"
# (what to open, kind, layer-norm order)
FIXTURES = [
    (DATA / "transformer_post", "joeynmt", "post"),
    (DATA / "transformer_pre", "joeynmt", "pre"),
    (ONMT / "transformer" / "model.pt", "opennmt-py", "pre"),
    (ONMT / "transformer_qkvbias_gelu" / "model.pt", "opennmt-py", "pre"),
]
NAMES = {"</s>": "<eos>", "<s>": "<bos>", "<blank>": "<pad>"}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize(
    ("path", "kind", "norm"),
    FIXTURES,
    ids=[f"{f[1]}-{f[0].parent.name if f[0].is_file() else f[0].name}" for f in FIXTURES],
)
def test_matches_the_toolkits_greedy_and_every_head(path: Path, kind: str, norm: str) -> None:
    assert detect(path) == kind
    ckpt = load_any(path)
    assert isinstance(ckpt.model, TransformerSeq2Seq) and ckpt.config.norm == norm
    session = InferenceSession(ckpt, "cpu")
    folder = path.parent if path.is_file() else path
    probes = json.loads((folder / "reference.json").read_text(encoding="utf-8"))["probes"]
    for probe in probes:
        result = session.run(DecodeRequest(1, probe["source"], max_len=20))
        source_tokens = probe["source_tokens"] + (
            ["</s>"] if kind == "joeynmt" and "</s>" not in probe["source_tokens"] else []
        )
        assert list(result.source_tokens) == [NAMES.get(t, t) for t in source_tokens]
        assert list(result.output_tokens) == [NAMES.get(t, t) for t in probe["output_tokens"]]
        assert result.heads is not None
        np.testing.assert_allclose(result.heads.weights, np.array(probe["cross_attention"]), atol=1e-5)


@pytest.mark.parametrize("path", [DATA / "transformer_pre", ONMT / "transformer" / "model.pt"], ids=["joeynmt", "onmt"])
def test_converted_file_decodes_the_same(path: Path, tmp_path: Path) -> None:
    out = tmp_path / "converted.safetensors"
    assert convert_cli.main([str(path), "--out", str(out)]) == 0
    converted = InferenceSession(load_checkpoint(out), "cpu").run(DecodeRequest(1, "w4 w0 w7 w7 w9", max_len=20))
    original = InferenceSession(load_any(path), "cpu").run(DecodeRequest(1, "w4 w0 w7 w7 w9", max_len=20))
    assert converted.output_tokens == original.output_tokens
    assert converted.heads is not None and original.heads is not None
    np.testing.assert_array_equal(converted.heads.weights, original.heads.weights)


def test_a_transformer_without_an_explicit_layer_norm_is_refused(tmp_path: Path) -> None:
    copy = Path(shutil.copytree(DATA / "transformer_post", tmp_path / "m", symlinks=True))
    config = (copy / "config.yaml").read_text(encoding="utf-8")
    (copy / "config.yaml").write_text(config.replace("layer_norm: post", "alpha: 1.0"), encoding="utf-8")
    with pytest.raises(CheckpointError, match="without one explicit layer_norm"):
        load_any(copy)


def test_opennmt_transformer_features_it_cannot_run_are_refused(tmp_path: Path) -> None:
    import argparse

    from models.importers.common import safe_torch_load

    ckpt = safe_torch_load(ONMT / "transformer" / "model.pt", (argparse.Namespace,))
    for key, value, message in (
        ("max_relative_positions", -1, "relative or rotary positions"),
        ("layer_norm", "rms", "RMS layer norms"),
        ("position_encoding", False, "learned positions"),
    ):
        opt = argparse.Namespace(**{**vars(ckpt["opt"]), key: value})
        torch.save({**ckpt, "opt": opt}, tmp_path / "m.pt")
        with pytest.raises(CheckpointError, match=f"not supported: .*{message}"):
            load_any(tmp_path / "m.pt")
