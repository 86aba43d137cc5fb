"""Importers: foreign models reproduce their toolkit's own greedy output and attention, convert losslessly,
and never execute anything from a file.

The fixtures under tests/data/ were made with each toolkit's own code (tests/data/make_*_reference.py):
JoeyNMT 2.3.0 and OpenNMT-py 3.5.1 trained the models and decoded the probes themselves; the
tutorial's classes are a faithful copy of the PyTorch tutorial's.
"""

from __future__ import annotations

import argparse
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine import DecodeRequest, InferenceSession, inspect_cli
from engine.evaluation import evaluate_cli
from models import BOS_ID, Checkpoint, CheckpointError, detect, import_foreign, load_any, load_checkpoint
from models.foreign import ForeignSeq2Seq, ForeignTokenizer
from models.importers import convert_cli, joeynmt, opennmt, pytorch_tutorial, yaml_config
from tests.fakes import alpha_of

DATA = Path(__file__).parent / "data"
# (fixture, kind, what to open, max steps the toolkit decoded, its special-token names → ours)
JOEY = {"</s>": "<eos>", "<s>": "<bos>"}
ONMT = {"</s>": "<eos>", "<s>": "<bos>", "<blank>": "<pad>"}
TUTORIAL = {"EOS": "<eos>", "SOS": "<bos>"}
FIXTURES = [
    ("joeynmt/gru_bahdanau", "joeynmt", "joeynmt/gru_bahdanau", 20, JOEY),
    ("joeynmt/lstm_luong", "joeynmt", "joeynmt/lstm_luong/best.ckpt", 20, JOEY),
    ("opennmt/brnn_gru_mlp", "opennmt-py", "opennmt/brnn_gru_mlp/model.pt", 20, ONMT),
    ("opennmt/rnn_lstm_general", "opennmt-py", "opennmt/rnn_lstm_general/model.pt", 20, ONMT),
    ("opennmt/brnn_lstm_dot", "opennmt-py", "opennmt/brnn_lstm_dot/model.pt", 20, ONMT),
    ("pytorch_tutorial", "pytorch-tutorial", "pytorch_tutorial/tutorial.json", 10, TUTORIAL),
]
IDS = [f[0] for f in FIXTURES]
ATOL = 1e-5


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def reference(fixture: str) -> list[dict[str, Any]]:
    return json.loads((DATA / fixture / "reference.json").read_text())["probes"]


def greedy(ckpt: Checkpoint, source: str, max_len: int) -> Any:
    return InferenceSession(ckpt, "cpu").run(DecodeRequest(1, source, max_len=max_len))


@pytest.mark.parametrize(("fixture", "kind", "target", "max_len", "names"), FIXTURES, ids=IDS)
def test_matches_toolkit_reference(fixture: str, kind: str, target: str, max_len: int, names: dict[str, str]) -> None:
    assert detect(DATA / target) == kind
    ckpt = load_any(DATA / target)
    assert isinstance(ckpt.model, ForeignSeq2Seq)
    for probe in reference(fixture):
        result = greedy(ckpt, probe["source"], max_len)
        assert list(result.source_tokens) == [names.get(t, t) for t in probe["source_tokens"]]
        assert list(result.output_tokens) == [names.get(t, t) for t in probe["output_tokens"]]
        np.testing.assert_allclose(result.alpha, np.array(probe["alpha"]), atol=ATOL, rtol=0)
        if probe.get("context"):
            np.testing.assert_allclose(result.context, np.array(probe["context"]), atol=ATOL, rtol=0)
        if probe.get("scores"):
            np.testing.assert_allclose(result.scores, np.array(probe["scores"]), atol=ATOL, rtol=0)


@pytest.mark.parametrize(("fixture", "kind", "target", "max_len", "names"), FIXTURES, ids=IDS)
def test_step_top_is_the_top_layer_state(fixture: str, kind: str, target: str, max_len: int, names: object) -> None:
    """The engine records s_i from StepOutput.top: it must be the decoder state's top layer, exactly."""
    ckpt = load_any(DATA / target)
    ids = ckpt.src_vocab.encode(ckpt.src_tokenizer.tokenize(reference(fixture)[0]["source"]))
    with torch.inference_mode():
        memory = ckpt.model.encode(torch.tensor([ids]), torch.tensor([len(ids)]))
        state, prev = ckpt.model.init_state(memory), torch.tensor([BOS_ID])
        for _ in range(3):
            out = ckpt.model.decode_step(prev, state, memory)
            assert torch.equal(out.top, out.state.hidden[-1])
            prev, state = out.logits.argmax(-1), out.state


@pytest.mark.parametrize(("fixture", "kind", "target", "max_len", "names"), FIXTURES, ids=IDS)
def test_convert_round_trip_is_identical(
    fixture: str, kind: str, target: str, max_len: int, names: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "model.safetensors"
    assert convert_cli.main([str(DATA / target), "--out", str(out)]) == 0
    direct, converted = import_foreign(DATA / target), load_checkpoint(out)
    assert isinstance(converted.model, ForeignSeq2Seq)
    assert converted.config == direct.config
    assert isinstance(converted.src_tokenizer, ForeignTokenizer)
    assert converted.src_tokenizer == direct.src_tokenizer and converted.tgt_tokenizer == direct.tgt_tokenizer
    assert converted.src_vocab == direct.src_vocab and converted.tgt_vocab == direct.tgt_vocab
    assert converted.training["imported_from"]["toolkit"] == kind
    for probe in reference(fixture):
        a, b = greedy(direct, probe["source"], max_len), greedy(converted, probe["source"], max_len)
        assert a.output_tokens == b.output_tokens
        for field in ("alpha", "scores", "context", "states", "token_probs"):
            assert np.array_equal(getattr(a, field), getattr(b, field)), field
    assert load_any(out).config == direct.config


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "m.safetensors"
    out.write_bytes(b"keep")
    assert convert_cli.main([str(DATA / "opennmt/brnn_gru_mlp/model.pt"), "--out", str(out)]) == 2
    assert out.read_bytes() == b"keep"


def test_beam_width_one_follows_greedy() -> None:
    session = InferenceSession(load_any(DATA / "joeynmt/gru_bahdanau"), "cpu")
    beam = session.run(DecodeRequest(1, "w4 w0 w7 w7 w9", strategy="beam", beam_width=1))
    plain = session.run(DecodeRequest(2, "w4 w0 w7 w7 w9"))
    assert beam.output_tokens == plain.output_tokens
    wide = session.run(DecodeRequest(3, "w4 w0 w7 w7 w9", strategy="beam", beam_width=3))
    assert wide.hypotheses and alpha_of(wide).shape[1] == len(wide.source_tokens)


def test_never_generated_tokens_get_no_probability() -> None:
    ckpt = load_any(DATA / "pytorch_tutorial/tutorial.json")  # the tutorial has no <pad> or <unk>
    result = greedy(ckpt, "ann bob", 10)
    shown = {c.token for step in result.topk for c in step if c.prob > 0}
    assert not shown & {"<pad>", "<unk>"}


def test_native_files_still_load(tiny_model_path: Path) -> None:
    assert detect(tiny_model_path) == "attnscope"
    ckpt = load_any(tiny_model_path)
    assert type(ckpt.model).__name__ == "Seq2Seq"
    with pytest.raises(CheckpointError, match="already an attnscope model"):
        import_foreign(tiny_model_path)


# -- refusing what we cannot run ----------------------------------------------------------------------


def copy_joey(tmp_path: Path, edit: dict[str, str]) -> Path:
    target = tmp_path / "joey"
    shutil.copytree(DATA / "joeynmt/gru_bahdanau", target, symlinks=True)
    text = (target / "config.yaml").read_text()
    for old, new in edit.items():
        assert old in text
        text = text.replace(old, new)
    (target / "config.yaml").write_text(text)
    return target


def onmt_checkpoint(**opt: Any) -> dict[str, Any]:
    base = {"model_task": "seq2seq", "encoder_type": "rnn", "decoder_type": "rnn", "rnn_type": "GRU"}
    return {
        "model": {"encoder.layer_norm.weight": torch.ones(4)},
        "generator": {"weight": torch.zeros(8, 4), "bias": torch.zeros(8)},
        "vocab": {"src": ["<unk>", "<blank>", "<s>", "</s>"], "tgt": ["<unk>", "<blank>", "<s>", "</s>"]},
        "opt": argparse.Namespace(**{**base, **opt}),
    }


def test_transformer_encoders_under_recurrent_decoders_are_not_supported(tmp_path: Path) -> None:
    # Transformers on both sides are supported: tests/test_toolkit_transformers.py
    joey = copy_joey(tmp_path, {"    type: recurrent\n    bidirectional": "    type: transformer\n    bidirectional"})
    with pytest.raises(CheckpointError, match="not supported: JoeyNMT transformer encoder"):
        load_any(joey)
    onmt = tmp_path / "transformer.pt"
    torch.save(onmt_checkpoint(encoder_type="transformer", decoder_type="rnn"), onmt)
    with pytest.raises(CheckpointError, match="not supported: OpenNMT-py encoder_type 'transformer'"):
        load_any(onmt)


@pytest.mark.parametrize(
    ("opt", "message"),
    [
        ({"copy_attn": True, "global_attention": "mlp"}, "copy attention"),
        ({"coverage_attn": True, "global_attention": "mlp"}, "coverage attention"),
        ({"encoder_type": "cnn", "decoder_type": "cnn"}, "encoder_type 'cnn'"),
        ({"global_attention_function": "sparsemax"}, "sparsemax"),
        ({"transforms": ["sentencepiece"]}, "transforms"),
    ],
)
def test_unsupported_opennmt_features(tmp_path: Path, opt: dict[str, Any], message: str) -> None:
    path = tmp_path / "m.pt"
    torch.save(onmt_checkpoint(**opt), path)
    with pytest.raises(CheckpointError, match=f"not supported: .*{message}"):
        opennmt.load(path)


def test_unsupported_joeynmt_and_tutorial_variants(tmp_path: Path) -> None:
    joey = copy_joey(tmp_path, {"  src:\n    lang: src\n    level: word": "  src:\n    lang: src\n    level: bpe"})
    with pytest.raises(CheckpointError, match="not supported: JoeyNMT src level 'bpe'"):
        joeynmt.load(joey)
    old = tmp_path / "old"
    shutil.copytree(DATA / "pytorch_tutorial", old)
    state = torch.load(old / "decoder.pt", weights_only=True)
    torch.save({**state, "attn.weight": torch.zeros(10, 64)}, old / "decoder.pt")
    with pytest.raises(CheckpointError, match="not supported: the old tutorial's location-based"):
        pytorch_tutorial.load(old / "tutorial.json")


def test_vocabulary_must_match_the_weights(tmp_path: Path) -> None:
    tut = tmp_path / "tut"
    shutil.copytree(DATA / "pytorch_tutorial", tut)
    spec = json.loads((tut / "tutorial.json").read_text())
    spec["source_words"] = spec["source_words"][:-1]
    (tut / "tutorial.json").write_text(json.dumps(spec))
    with pytest.raises(CheckpointError, match="vocabulary has .* tokens but the weights have"):
        load_any(tut / "tutorial.json")


# -- never executing a file ------------------------------------------------------------------------


class Evil:
    """Unpickling this calls open(marker, "w"): a file appears if the loader ever executes a pickle."""

    marker = ""

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return (open, (self.marker, "w"))


def evil(marker: Path) -> Evil:
    obj = Evil()
    obj.marker = str(marker)
    return obj


def malicious_inputs(tmp_path: Path, marker: Path) -> list[tuple[Path, str]]:
    """Each toolkit's file carrying the payload, with the loader meant for it."""
    bad = evil(marker)
    joey = copy_joey(tmp_path, {})
    (joey / "best.ckpt").unlink()
    torch.save({"model_state": {"x": bad}}, joey / "best.ckpt")
    onmt = tmp_path / "onmt.pt"  # the payload inside the allowlisted Namespace
    torch.save({"model": {}, "generator": {}, "vocab": {}, "opt": argparse.Namespace(rnn_type=bad)}, onmt)
    tutorial = tmp_path / "tutorial"
    shutil.copytree(DATA / "pytorch_tutorial", tutorial)
    torch.save({"embedding.weight": bad}, tutorial / "encoder.pt")
    raw = tmp_path / "raw.pt"  # a plain (non-zip) pickle
    raw.write_bytes(pickle.dumps({"model": bad}))
    return [
        (joey, "joeynmt.load"),
        (onmt, "opennmt.load"),
        (tutorial / "tutorial.json", "pytorch_tutorial.load"),
        (raw, ""),
    ]


def test_malicious_pickles_are_refused_everywhere(tmp_path: Path) -> None:
    marker = tmp_path / "PWNED"
    entry_points = {
        "load_any": load_any,
        "import_foreign": import_foreign,
        "joeynmt.load": joeynmt.load,
        "opennmt.load": opennmt.load,
        "pytorch_tutorial.load": pytorch_tutorial.load,
    }
    for path, own_loader in malicious_inputs(tmp_path, marker):
        for entry, fn in entry_points.items():
            with pytest.raises(CheckpointError) as info:
                fn(path)
            if entry in ("load_any", "import_foreign", own_loader):
                assert "refused" in str(info.value), (path, entry, info.value)
            assert not marker.exists(), (path, entry)
        if path.suffix == ".pt":  # detect() must look inside these
            with pytest.raises(CheckpointError, match="refused"):
                detect(path)
        out = tmp_path / "converted.safetensors"
        assert convert_cli.main([str(path), "--out", str(out)]) == 2
        assert not out.exists() and not marker.exists()
        report = tmp_path / "report.json"
        assert inspect_cli.main(["--model", str(path), "--source", "a b", "--out", str(report)]) == 2
        assert evaluate_cli.main(["--model", str(path), "--data", str(tmp_path / "x.tsv"), "--out", str(report)]) == 2
        assert not report.exists() and not marker.exists()


@pytest.mark.parametrize("fixture", ["joeynmt/gru_bahdanau", "opennmt/brnn_gru_mlp/model.pt"])
def test_inspect_and_evaluate_open_foreign_models(tmp_path: Path, fixture: str) -> None:
    probe = reference(fixture.split("/model.pt")[0])[0]
    out = tmp_path / "inspect.json"
    assert inspect_cli.main(["--model", str(DATA / fixture), "--source", probe["source"], "--out", str(out)]) == 0
    assert json.loads(out.read_text())["source_tokens"]
    data = tmp_path / "pairs.tsv"
    data.write_text(f"{probe['source']}\tx y\n")
    report = tmp_path / "report.json"
    args = ["--model", str(DATA / fixture), "--data", str(data), "--out", str(report), "--device", "cpu"]
    assert evaluate_cli.main(args) == 0
    assert json.loads(report.read_text())["models"][0]["buckets"]


# -- the YAML config reader ---------------------------------------------------------------------------


def test_yaml_config_reads_joeynmt_style_configs() -> None:
    text = """
name: "my model"   # a comment
data:
  src: {}
  eval_metrics: [bleu, 'chrf', 3, 0.5, null]
  special_symbols:
    unk_token: "<unk>"
training:
  lr: 0.0002
  tiny: 1e-3
  flags:
  - yes
  - Off
  note: |
    two
    lines
model:
  encoder:
    hidden_size: 64
    rnn_type: ~
"""
    assert yaml_config.load_config(text) == {
        "name": "my model",
        "data": {"src": {}, "eval_metrics": ["bleu", "chrf", 3, 0.5, None], "special_symbols": {"unk_token": "<unk>"}},
        "training": {"lr": 0.0002, "tiny": "1e-3", "flags": [True, False], "note": "two\nlines\n"},
        "model": {"encoder": {"hidden_size": 64, "rnn_type": None}},
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &anchor 1", "anchors and aliases"),
        ("a: [1]\nb: *a", "anchors and aliases"),
        ("a: !!python/object:os.system x", "tags"),
        ("a: !!str 3", "tags"),
        ("a:\n\t b: 1", "cannot start any token"),
        ("a: " + "9" * 5000, "5,000 characters"),
        ("a: " + "1:" * 3000 + "1", "characters"),
    ],
)
def test_yaml_config_refuses_what_configs_never_hold(text: str, message: str) -> None:
    with pytest.raises(yaml_config.YAMLError, match=message):
        yaml_config.load_config(text)


def billion_laughs() -> str:
    """Nine aliases per level, nine levels: 387 million strings once expanded (PyYAML's safe_load expands them)."""
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "\n".join(lines) + "\n"


def deep_block(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "x: 1\n"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (billion_laughs(), "anchors and aliases"),
        ("model: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 32 levels"),
        (deep_block(400), "nested deeper than 32 levels"),
        ("model: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested deeper than 32 levels"),
    ],
    ids=["billion laughs", "5,000-deep flow", "400-deep block", "3,000-deep mapping"],
)
def test_hostile_joeynmt_configs_are_checkpoint_errors(tmp_path: Path, config: str, message: str) -> None:
    joey = copy_joey(tmp_path, {})
    (joey / "config.yaml").write_text(config, encoding="utf-8")
    with pytest.raises(CheckpointError, match=f"config.yaml: cannot read it: {message}"):
        load_any(joey)


# -- the toolkits' tokenisation and batched use ---------------------------------------------------------


def test_foreign_tokenizers_follow_each_toolkit() -> None:
    joey = ForeignTokenizer(kind="word", lowercase=True, scheme="joeynmt", normalize=True, append_eos=True)
    assert joey.tokenize("Ｈｉ  “there” ,") == ["hi", '"there",', "<eos>"]  # NFKC, quotes, extra spaces
    assert joey.detokenize(["hi", "there", "."]) == "hi there."
    chars = ForeignTokenizer(kind="char", scheme="joeynmt")
    assert chars.tokenize("ab c") == ["a", "b", "▁", "c"] and chars.detokenize(["a", "▁", "b"]) == "a b"
    onmt = ForeignTokenizer(kind="word", scheme="opennmt-py")
    assert onmt.tokenize("  Nov 23, 2026 ") == ["Nov", "23,", "2026"]
    tutorial = ForeignTokenizer(kind="word", lowercase=True, scheme="pytorch-tutorial", normalize=True, append_eos=True)
    assert tutorial.tokenize("Je suis très fatigué !") == ["je", "suis", "tres", "fatigue", "!", "<eos>"]
    assert tutorial.tokenize("  ") == []


def test_batched_evaluation_of_an_imported_model() -> None:
    from engine.evaluation.quality import EvalPair, evaluate_model

    words = [f"w{i}" for i in range(10)]
    rng = np.random.default_rng(3)
    pairs = []
    for n in (2, 3, 4, 5, 6, 3, 2, 6):
        src = [words[i] for i in rng.integers(0, 10, n)]
        pairs.append(EvalPair(" ".join(src), " ".join(w.upper() for w in reversed(src))))
    report = evaluate_model(load_any(DATA / "joeynmt/gru_bahdanau"), pairs, batch_size=4)
    assert report.overall.exact_match == 1.0  # padded batches: masks keep every sentence as when alone
