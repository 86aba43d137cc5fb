"""JoeyNMT 2.3 transformers: greedy output and every layer's and head's cross-attention equal what JoeyNMT's own
code gave for small models it trained (tests/data/make_joeynmt_transformer_reference.py made the fixtures)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.decoding.session import InferenceSession
from engine.requests import DecodeRequest
from models.checkpoint import CheckpointError, load_checkpoint
from models.importers import convert_cli, detect, load_any
from models.transformer.model import TransformerSeq2Seq

DATA = Path(__file__).parent / "data" / "joeynmt"
FIXTURES = ["transformer_post", "transformer_pre"]
NAMES = {"</s>": "<eos>", "<s>": "<bos>"}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.mark.parametrize("fixture", FIXTURES)
def test_matches_joeynmt_greedy_and_every_head(fixture: str) -> None:
    assert detect(DATA / fixture) == "joeynmt"
    ckpt = load_any(DATA / fixture)
    assert isinstance(ckpt.model, TransformerSeq2Seq) and ckpt.config.norm == fixture.split("_")[1]
    session = InferenceSession(ckpt, "cpu")
    probes = json.loads((DATA / fixture / "reference.json").read_text(encoding="utf-8"))["probes"]
    for probe in probes:
        result = session.run(DecodeRequest(1, probe["source"], max_len=20))
        assert list(result.source_tokens) == [NAMES.get(t, t) for t in probe["source_tokens"]]
        assert list(result.output_tokens) == [NAMES.get(t, t) for t in probe["output_tokens"]]
        assert result.heads is not None
        np.testing.assert_allclose(result.heads.weights, np.array(probe["cross_attention"]), atol=1e-5)


def test_converted_file_decodes_the_same(tmp_path: Path) -> None:
    out = tmp_path / "joey_transformer.safetensors"
    assert convert_cli.main([str(DATA / "transformer_pre"), "--out", str(out)]) == 0
    converted = InferenceSession(load_checkpoint(out), "cpu").run(DecodeRequest(1, "w4 w0 w7 w7 w9", max_len=20))
    original = InferenceSession(load_any(DATA / "transformer_pre"), "cpu").run(
        DecodeRequest(1, "w4 w0 w7 w7 w9", max_len=20)
    )
    assert converted.output_tokens == original.output_tokens
    assert converted.heads is not None and original.heads is not None
    np.testing.assert_array_equal(converted.heads.weights, original.heads.weights)


def test_a_transformer_without_an_explicit_layer_norm_is_refused(tmp_path: Path) -> None:
    copy = Path(shutil.copytree(DATA / "transformer_post", tmp_path / "m", symlinks=True))
    config = (copy / "config.yaml").read_text(encoding="utf-8")
    (copy / "config.yaml").write_text(config.replace("layer_norm: post", "alpha: 1.0"), encoding="utf-8")
    with pytest.raises(CheckpointError, match="without one explicit layer_norm"):
        load_any(copy)
