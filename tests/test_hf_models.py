"""Hugging Face seq2seq folders: every step's cross-attention equals the toolkit's own teacher-forced forward,
greedy equals generate(), and every bad folder is one CheckpointError at the loader."""

from __future__ import annotations

import json
import pickle
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from engine import DecodeRequest, InferenceSession
from engine.evaluation.evaluate_cli import main as evaluate_main
from engine.inspect_cli import main as inspect_main
from engine.requests import EditHead
from models import CheckpointError, detect, load_any

pytest.importorskip("transformers", reason="the [hf] extra is not installed")  # .ci/run installs it

from hf_fixtures import tiny_bart, tiny_marian, tiny_t5  # noqa: E402  (needs transformers)

from tests.fakes import alpha_of

SOURCES = ("w1 w2 w3 w4", "w7 w0 w0 w11 w3 w5 w9", "w2")
MAKERS = {"marian": tiny_marian, "bart": tiny_bart}


@pytest.fixture(scope="module", params=sorted(MAKERS))
def folder(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    make: Callable[[Path], Path] = MAKERS[request.param]
    return make(tmp_path_factory.mktemp(request.param))


@pytest.fixture(scope="module")
def session(folder: Path) -> InferenceSession:
    return InferenceSession.open(folder, "cpu")


def _reference(folder: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    model = AutoModelForSeq2SeqLM.from_pretrained(folder, attn_implementation="eager", local_files_only=True)
    return model.eval(), AutoTokenizer.from_pretrained(folder, local_files_only=True)


@pytest.mark.parametrize("source", SOURCES)
def test_greedy_and_every_head_match_the_toolkit(folder: Path, session: InferenceSession, source: str) -> None:
    _check_against_the_toolkit(folder, session, source)


def test_t5_with_its_relative_position_bias_matches_too(tmp_path: Path) -> None:
    folder = tiny_t5(tmp_path / "t5")
    session = InferenceSession.open(folder, "cpu")
    for source in SOURCES:
        _check_against_the_toolkit(folder, session, source)


def _check_against_the_toolkit(folder: Path, session: InferenceSession, source: str) -> None:
    model, tokenizer = _reference(folder)
    encoded = tokenizer(source, return_tensors="pt")
    with torch.no_grad():
        generated = model.generate(**encoded, num_beams=1, do_sample=False, max_new_tokens=12)[0]
    result = session.run(DecodeRequest(1, source, max_len=12))
    renamed = session.checkpoint.tgt_tokenizer.renamed  # type: ignore[attr-defined]
    theirs = [renamed.get(p, p) for p in tokenizer.convert_ids_to_tokens(generated[1:])]
    assert list(result.output_tokens) == theirs[: len(result.output_tokens)]
    assert (
        len(theirs) == len(result.output_tokens) or theirs[len(result.output_tokens)] == "<pad>"
    )  # padding after </s>
    steps = len(result.output_tokens)
    with torch.no_grad():
        forward = model(**encoded, decoder_input_ids=generated[None, :steps], output_attentions=True)
    cross = torch.stack(forward.cross_attentions, 1)[0].permute(2, 0, 1, 3).numpy()  # (U, L, H, T)
    assert result.heads is not None and result.heads.weights.shape == cross.shape
    np.testing.assert_allclose(result.heads.weights, cross, atol=1e-5)
    np.testing.assert_allclose(alpha_of(result), cross[:, -1].mean(1), atol=1e-5)
    scores = torch.from_numpy(np.array(result.heads.scores))
    np.testing.assert_allclose(torch.softmax(scores, -1).numpy(), cross, atol=1e-5)  # no padding: α = softmax(e)
    logits = forward.logits[0].clone()
    for banned in model.generation_config.bad_words_ids or []:  # as generate's processor: never generated
        logits[:, banned] = float("-inf")
    log_probs = logits.log_softmax(-1)
    picked = [float(log_probs[i, generated[i + 1]].exp()) for i in range(steps)]
    if model.generation_config.forced_bos_token_id is not None:  # as generate's processor: the first token is sure
        picked[0] = 1.0
    np.testing.assert_allclose(result.token_probs, picked, atol=1e-5)


def test_value_weighted_norms_follow_the_definition(folder: Path, session: InferenceSession) -> None:
    model, tokenizer = _reference(folder)
    encoded = tokenizer(SOURCES[1], return_tensors="pt")
    result = session.run(DecodeRequest(1, SOURCES[1], max_len=4))
    assert result.heads is not None
    with torch.no_grad():
        states = model.get_encoder()(**encoded).last_hidden_state[0]
        for layer, block in enumerate(model.model.decoder.layers):
            attention = block.encoder_attn
            values = attention.v_proj(states).view(len(states), attention.num_heads, -1).transpose(0, 1)
            per_head = attention.out_proj.weight.view(-1, attention.num_heads, attention.head_dim)
            alpha = torch.from_numpy(np.array(result.heads.weights[:, layer]))  # (U, H, T)
            vectors = torch.einsum("uht,htk,dhk->uhtd", alpha, values, per_head)
            np.testing.assert_allclose(result.heads.norms[:, layer], vectors.norm(dim=-1).numpy(), atol=1e-5)


def test_beam_and_head_edits_run_on_the_models_own_cache(session: InferenceSession) -> None:
    greedy = session.run(DecodeRequest(1, SOURCES[1], max_len=10))
    width_one = session.run(DecodeRequest(1, SOURCES[1], strategy="beam", beam_width=1, max_len=10))
    assert width_one.output_tokens == greedy.output_tokens
    beam = session.run(DecodeRequest(1, SOURCES[1], strategy="beam", beam_width=3, max_len=10))
    assert beam.heads is not None and beam.hypotheses and len(beam.heads.weights) == len(beam.output_tokens)
    edited = session.run(DecodeRequest(1, SOURCES[1], max_len=10, interventions=(EditHead(0, 1, "zero", 0, 1),)))
    assert edited.heads is not None and greedy.heads is not None
    np.testing.assert_array_equal(edited.heads.weights[0], greedy.heads.weights[0])
    assert float(np.abs(edited.heads.weights[1:, 0, 1]).max()) == 0.0


def test_source_pieces_and_text(session: InferenceSession, folder: Path) -> None:
    result = session.run(DecodeRequest(1, "w1  w2", max_len=3))
    expected = ("<s>", "w1", "w2", "<eos>") if folder.name.startswith("bart") else ("w1", "w2", "<eos>")
    assert result.source_tokens == expected
    description = session.info().description
    assert description["architecture"].startswith("Hugging Face") and description["tokenizer"]
    forced = session.run(DecodeRequest(1, "w1 w2", strategy="forced", target="w3 w4"))
    assert forced.output_tokens[-3:] == ("w3", "w4", "<eos>")


def test_heads_are_ranked_past_the_start_and_end_tokens(folder: Path, tmp_path: Path) -> None:
    """`evaluate --heads` on a folder: <s> and <eos> are in α but are no word, so every sentence is scored."""
    data, out = tmp_path / "gold.tsv", tmp_path / "heads.json"
    data.write_text("w1 w2 w3\tw3 w2 w1\t0-2 1-1 2-0\nw4 w5\tw5 w4\t0-1 1-0\n", "utf-8")
    argv = ["--heads", "--model", str(folder), "--data", str(data), "--out", str(out), "--device", "cpu"]
    assert evaluate_main(argv) == 0
    report = json.loads(out.read_text("utf-8"))
    assert (report["sentences"], report["skipped"]) == (2, 0)
    assert len(report["ranking"]) == report["layers"] * report["heads"] + report["layers"] + 1
    assert all(0.0 <= row["aer"] <= 1.0 for row in report["ranking"])


# -- bad folders: one CheckpointError at the loader, exit 2 on the command line ---------------------------


def _copy(folder: Path, to: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, to))


def _expect_refusal(path: Path, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CheckpointError, match=message):
        load_any(path)
    assert inspect_main(["--model", str(path), "--source", "w1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_remote_code_is_refused(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _copy(folder, tmp_path / "remote")
    config = (bad / "config.json").read_text(encoding="utf-8")
    (bad / "config.json").write_text(config.replace("{", '{"auto_map": {"AutoModel": "x.Model"},', 1), encoding="utf-8")
    _expect_refusal(bad, "needs its own Python code", capsys)


def test_decoder_only_and_missing_tokenizer(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    gpt = tmp_path / "gpt"
    gpt.mkdir()
    (gpt / "config.json").write_text('{"model_type": "gpt2", "is_encoder_decoder": false}', encoding="utf-8")
    _expect_refusal(gpt, "decoder-only", capsys)
    bare = _copy(folder, tmp_path / "bare")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (bare / name).unlink()
    _expect_refusal(bare, "no tokenizer files", capsys)


class _Payload:
    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (exec, ("import pathlib; pathlib.Path('PWNED').write_text('x')",))


def test_a_pickled_bin_is_refused_before_it_runs(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = _copy(folder, tmp_path / "pickled")
    (bad / "model.safetensors").unlink()
    (bad / "pytorch_model.bin").write_bytes(pickle.dumps({"weight": _Payload()}))
    _expect_refusal(bad, "refused to load", capsys)
    assert not (tmp_path / "PWNED").exists()


def test_without_transformers_it_says_what_to_install(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # import transformers → ImportError
    assert detect(folder) == "huggingface"
    with pytest.raises(CheckpointError, match=r'pip install -e "\.\[hf\]"'):
        load_any(folder)
