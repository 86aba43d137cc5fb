"""Make the OpenNMT-py fixtures under tests/data/opennmt/ with OpenNMT-py 3.5.1's own code.

Run with a throwaway environment that has the toolkit (never the app's venv). OpenNMT-py 3.5.1
pins torch<2.3, so install it beside torch 2.13 without letting pip replace torch:

    python3.11 -m venv /tmp/onmtvenv
    /tmp/onmtvenv/bin/pip install torch==2.13.0
    /tmp/onmtvenv/bin/pip install opennmt-py==3.5.1      # pulls torch 2.2.2 ...
    /tmp/onmtvenv/bin/pip install torch==2.13.0          # ... so put 2.13.0 back
    /tmp/onmtvenv/bin/python tests/data/make_opennmt_reference.py

For each small RNN configuration it writes a toy corpus (reverse the words, upper-case them),
runs `onmt_build_vocab` and `onmt_train` (the toolkit's own trainer and checkpoint format), then
translates three probe sentences with the toolkit's translator (`-beam_size 1`: GreedySearch),
capturing each step's attention weights with a forward hook on `model.decoder.attn`, and writes
model.pt + reference.json to tests/data/opennmt/<name>/.

OpenNMT-py 3.5.1's own loader calls torch.load without weights_only, which torch >= 2.6 refuses
for its argparse.Namespace; the script sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 for the translator
only, on the checkpoint it has just trained itself. (attnscope never does that: it allowlists
argparse.Namespace alone.)
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

MODELS = {
    # bidirectional GRU, MLP (Bahdanau-style) attention, input feeding (InputFeedRNNDecoder)
    "brnn_gru_mlp": {"encoder_type": "brnn", "rnn_type": "GRU", "global_attention": "mlp", "input_feed": 1},
    # 2-layer LSTM, general attention, bridge, no input feeding (StdRNNDecoder)
    "rnn_lstm_general": {
        "encoder_type": "rnn",
        "rnn_type": "LSTM",
        "layers": 2,
        "global_attention": "general",
        "input_feed": 0,
        "bridge": True,
    },
    # bidirectional LSTM, dot attention, input feeding
    "brnn_lstm_dot": {"encoder_type": "brnn", "rnn_type": "LSTM", "global_attention": "dot", "input_feed": 1},
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
    steps: list[list[float]] = []
    engine.translator.model.decoder.attn.register_forward_hook(lambda m, i, o: steps.append(o[1].reshape(-1).tolist()))
    out = []
    for text in PROBES:  # one sentence at a time: one decoder call per greedy step
        steps.clear()
        _, predictions = engine.infer_list([text])
        tokens = predictions[0][0].split(" ") + ["</s>"]
        assert len(steps) == len(tokens) or len(tokens) > 20, (len(steps), tokens)
        rows = steps[: len(tokens)]
        out.append({"source": text, "source_tokens": text.split(" "), "output_tokens": tokens, "alpha": rows})
    engine.terminate()
    return {
        "toolkit": "opennmt-py",
        "version": "3.5.1",
        "torch": torch.__version__,
        "decoder": "onmt Translator, -beam_size 1 (GreedySearch), -max_length 20",
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
        trained = root / "model_step_400.pt"
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
