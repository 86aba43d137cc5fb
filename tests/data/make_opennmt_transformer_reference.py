"""Make the OpenNMT-py transformer fixtures under tests/data/opennmt/ with OpenNMT-py 3.5.1's own code.

Run with a throwaway environment that has the toolkit (never the app's venv), e.g. one that reuses the app's
torch through a .pth file (OpenNMT-py imports spacy and fasttext for transforms these models do not use: empty
stub modules on PYTHONPATH stand in for them):

    python3.11 -m venv /tmp/onmtvenv
    echo /path/to/attnscope/.venv/lib/python3.11/site-packages > /tmp/onmtvenv/lib/python3.11/site-packages/app.pth
    /tmp/onmtvenv/bin/pip install --no-deps opennmt-py==3.5.1
    /tmp/onmtvenv/bin/pip install configargparse tensorboard six pyahocorasick rapidfuzz pyonmttok
    mkdir /tmp/onmtstubs && touch /tmp/onmtstubs/spacy.py /tmp/onmtstubs/fasttext.py
    PYTHONPATH=/tmp/onmtstubs /tmp/onmtvenv/bin/python tests/data/make_opennmt_transformer_reference.py

For two small transformers it writes the toy corpus, runs `onmt_build_vocab` and `onmt_train`, translates the
three probe sentences with the toolkit's translator (`-beam_size 1`: GreedySearch) and records, with forward
hooks on each decoder layer's context_attn.softmax, every layer's and head's cross-attention at each step;
model.pt + reference.json go to tests/data/opennmt/<name>/.  As make_opennmt_reference.py, it lets the
toolkit's own translator load the checkpoint it has just trained with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

torch.set_num_threads(1)

HERE = Path(__file__).resolve().parent / "opennmt"
BIN = Path(sys.executable).parent
WORDS = [f"w{i}" for i in range(10)]
PROBES = ["w1 w2 w3", "w4 w0 w7 w7 w9", "w5 w8"]

TRANSFORMER = {
    "encoder_type": "transformer",
    "decoder_type": "transformer",
    "layers": 2,
    "hidden_size": 16,
    "enc_hid_size": 16,
    "dec_hid_size": 16,
    "word_vec_size": 16,
    "transformer_ff": 32,
    "heads": 2,
    "position_encoding": True,
    "attention_dropout": [0.0],
    "learning_rate": 0.005,
    "train_steps": 600,
    "save_checkpoint_steps": 600,
    "valid_steps": 600,
}
MODELS = {
    "transformer": TRANSFORMER,  # OpenNMT-py's defaults: no q/k/v/output bias in attention, ReLU
    "transformer_qkvbias_gelu": {**TRANSFORMER, "add_qkvbias": True, "pos_ffn_activation_fn": "gelu"},
}


def write_corpus(root: Path, name: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    src, tgt = [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
        src.append(" ".join(words))
        tgt.append(" ".join(w.upper() for w in reversed(words)))
    (root / f"{name}.src").write_text("\n".join(src) + "\n")
    (root / f"{name}.tgt").write_text("\n".join(tgt) + "\n")


def config(root: Path, model: dict) -> dict:
    return {
        "save_data": str(root / "run"),
        "src_vocab": str(root / "vocab.src"),
        "tgt_vocab": str(root / "vocab.tgt"),
        "overwrite": True,
        "data": {
            "corpus_1": {"path_src": str(root / "train.src"), "path_tgt": str(root / "train.tgt")},
            "valid": {"path_src": str(root / "dev.src"), "path_tgt": str(root / "dev.tgt")},
        },
        "save_model": str(root / "model"),
        "save_checkpoint_steps": 400,
        "train_steps": 400,
        "valid_steps": 400,
        "decoder_type": "rnn",
        "enc_hid_size": 24,
        "dec_hid_size": 24,
        "word_vec_size": 16,
        "batch_size": 32,
        "batch_type": "sents",
        "optim": "adam",
        "learning_rate": 0.01,
        "seed": 7,
        "dropout": 0.0,
        "report_every": 100,
        **model,
    }


def run(cmd: list[str]) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run(cmd, check=True, env=env)


def reference(model_path: Path, root: Path) -> dict:
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"  # the toolkit's own loader; our fresh file
    from onmt.inference_engine import InferenceEnginePY
    from onmt.opts import translate_opts
    from onmt.utils.parse import ArgumentParser

    parser = ArgumentParser()
    translate_opts(parser)
    probes = root / "probe.src"
    probes.write_text("\n".join(PROBES) + "\n")
    args = ["-model", str(model_path), "-src", str(probes), "-output", str(root / "pred.txt")]
    opt = parser.parse_args([*args, "-beam_size", "1", "-batch_size", "1", "-max_length", "20", "-gpu", "-1"])
    ArgumentParser.validate_translate_opts(opt)
    ArgumentParser._get_all_transform_translate(opt)
    ArgumentParser._validate_transforms_opts(opt)
    ArgumentParser.validate_translate_opts_dynamic(opt)
    engine = InferenceEnginePY(opt)
    steps: list[tuple[int, torch.Tensor]] = []
    layers = engine.translator.model.decoder.transformer_layers
    for index, layer in enumerate(layers):
        layer.context_attn.softmax.register_forward_hook(lambda m, i, o, n=index: steps.append((n, o[0, :, -1])))
    out = []
    for text in PROBES:  # one sentence at a time: one decoder call per greedy step
        steps.clear()
        _, predictions = engine.infer_list([text])
        tokens = predictions[0][0].split(" ") + ["</s>"]
        per_step = [[w.tolist() for n, w in steps[k : k + len(layers)]] for k in range(0, len(steps), len(layers))]
        assert len(per_step) == len(tokens) or len(tokens) > 20, (len(per_step), tokens)
        cross = per_step[: len(tokens)]  # (U, L, H, T)
        out.append(
            {"source": text, "source_tokens": text.split(" "), "output_tokens": tokens, "cross_attention": cross}
        )
    engine.terminate()
    return {
        "toolkit": "opennmt-py",
        "version": "3.5.1",
        "torch": torch.__version__,
        "decoder": "onmt Translator, -beam_size 1 (GreedySearch), -max_length 20; cross-attention of every layer and "
        "head from context_attn.softmax hooks",
        "probes": out,
    }


def build(name: str, model: dict) -> None:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root, "train", 1500, 1)
        write_corpus(root, "dev", 50, 2)
        cfg = root / "config.yaml"
        cfg.write_text(yaml.safe_dump(config(root, model), sort_keys=False))
        run([str(BIN / "onmt_build_vocab"), "-config", str(cfg), "-n_sample", "-1"])
        run([str(BIN / "onmt_train"), "-config", str(cfg)])
        trained = root / f"model_step_{model['train_steps']}.pt"
        out = HERE / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        shutil.copy(trained, out / "model.pt")
        ref = reference(out / "model.pt", root)
        (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
        print(name, [p["output_tokens"] for p in ref["probes"]])


if __name__ == "__main__":
    names = sys.argv[1:] or list(MODELS)
    for model_name in names:
        build(model_name, dict(MODELS[model_name]))
