"""Make the JoeyNMT transformer fixtures under tests/data/joeynmt/ with JoeyNMT 2.3.0's own code.

Run with a throwaway environment that has the toolkit (never the app's venv), e.g. one that reuses the app's
torch through a .pth file:

    python3.11 -m venv /tmp/joeyvenv
    echo /path/to/attnscope/.venv/lib/python3.11/site-packages > /tmp/joeyvenv/lib/python3.11/site-packages/app.pth
    /tmp/joeyvenv/bin/pip install --no-deps joeynmt==2.3.0 subword-nmt sacremoses
    /tmp/joeyvenv/bin/pip install tensorboard importlib_metadata sentencepiece
    /tmp/joeyvenv/bin/python tests/data/make_joeynmt_transformer_reference.py

For a post-LN and a pre-LN transformer it
1. writes the toy corpus (reverse the words and upper-case them),
2. trains briefly with `python -m joeynmt train` (config.yaml, N.ckpt with best.ckpt a symlink, vocabularies),
3. greedy-decodes three probe sentences with `joeynmt.search.transformer_greedy`, then feeds each output back
   through the decoder once and records, with forward hooks on each layer's src_trg_att.softmax, the
   cross-attention of every layer and head (joeynmt returns only the last layer's head mean),
4. copies the model directory and reference.json into tests/data/joeynmt/<name>/.
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

HERE = Path(__file__).resolve().parent / "joeynmt"
WORDS = [f"w{i}" for i in range(10)]
PROBES = ["w1 w2 w3", "w4 w0 w7 w7 w9", "w5 w8"]

MODELS = {
    name: {
        "encoder": {
            "type": "transformer",
            "num_layers": 2,
            "num_heads": 2,
            "hidden_size": 16,
            "ff_size": 32,
            "dropout": 0.1,
            "embeddings": {"embedding_dim": 16, "scale": True},
            "layer_norm": norm,
        },
        "decoder": {
            "type": "transformer",
            "num_layers": 2,
            "num_heads": 2,
            "hidden_size": 16,
            "ff_size": 32,
            "dropout": 0.1,
            "embeddings": {"embedding_dim": 16, "scale": True},
            "layer_norm": norm,
        },
    }
    for name, norm in (("transformer_post", "post"), ("transformer_pre", "pre"))
}


def write_corpus(root: Path, name: str, n: int, seed: int) -> None:
    rng = random.Random(seed)
    src, trg = [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
        src.append(" ".join(words))
        trg.append(" ".join(w.upper() for w in reversed(words)))
    (root / f"{name}.src").write_text("\n".join(src) + "\n")
    (root / f"{name}.trg").write_text("\n".join(trg) + "\n")


def config(root: Path, name: str, model: dict) -> dict:
    side = {"level": "word", "lowercase": False, "normalize": False, "voc_min_freq": 1}
    return {
        "name": name,
        "joeynmt_version": "2.3.0",
        "data": {
            "train": str(root / "train"),
            "dev": str(root / "dev"),
            "dataset_type": "plain",
            "src": {"lang": "src", **side, "voc_file": None},
            "trg": {"lang": "trg", **side, "voc_file": None},
        },
        "testing": {"beam_size": 1, "eval_metrics": ["bleu"]},
        "training": {
            "model_dir": str(root / "model"),
            "random_seed": 7,
            "optimizer": "adam",
            "learning_rate": 0.005,
            "scheduling": "exponential",  # "plateau" passes a kwarg torch >= 2.7 removed
            "batch_size": 32,
            "epochs": 20,
            "decrease_factor": 0.9,
            "validation_freq": 100,
            "logging_freq": 100,
            "early_stopping_metric": "loss",
            "keep_best_ckpts": 1,
            "use_cuda": False,
            "overwrite": True,
            "print_valid_sents": [],
        },
        "model": {"initializer": "xavier_uniform", "tied_embeddings": False, **model},
    }


def reference(model_dir: Path) -> dict:
    from joeynmt.config import load_config, parse_global_args
    from joeynmt.model import build_model
    from joeynmt.search import transformer_greedy
    from joeynmt.tokenizers import build_tokenizer
    from joeynmt.vocabulary import build_vocab

    cfg = load_config(model_dir / "config.yaml")
    args = parse_global_args(cfg, rank=0, mode="translate")
    src_vocab, trg_vocab = build_vocab(args.data, model_dir=model_dir)
    tokenizer = build_tokenizer(args.data)
    model = build_model(cfg["model"], src_vocab=src_vocab, trg_vocab=trg_vocab)
    state = torch.load(model_dir / "best.ckpt", weights_only=True, map_location="cpu")
    model.load_state_dict(state["model_state"])
    model.eval()
    captured: list = []
    for layer in model.decoder.layers:
        layer.src_trg_att.softmax.register_forward_hook(lambda m, i, o: captured.append(o))
    probes = []
    for text in PROBES:
        tokens = tokenizer["src"](tokenizer["src"].pre_process(text))
        ids, lengths, _ = src_vocab.sentences_to_ids([tokens], bos=False, eos=True)
        src = torch.tensor(ids)
        length = torch.tensor(lengths)
        mask = (src != src_vocab.pad_index).unsqueeze(1)
        with torch.no_grad():
            enc_out, enc_hidden, _, _ = model(return_type="encode", src=src, src_length=length, src_mask=mask)
            out, _, _ = transformer_greedy(mask, 20, model, enc_out, enc_hidden)
            out_ids = [int(i) for i in out[0]]
            n = out_ids.index(trg_vocab.eos_index) + 1 if trg_vocab.eos_index in out_ids else len(out_ids)
            ys = torch.tensor([[trg_vocab.bos_index, *out_ids[: n - 1]]])
            captured.clear()
            model(
                return_type="decode",
                trg_input=ys,
                encoder_output=enc_out,
                encoder_hidden=None,
                src_mask=mask,
                unroll_steps=None,
                decoder_hidden=None,
                trg_mask=(ys != trg_vocab.pad_index).unsqueeze(1),
            )
        cross = torch.stack(captured, 1)[0].permute(2, 0, 1, 3)  # (H per layer) → (U, L, H, T)
        probes.append(
            {
                "source": text,
                "source_tokens": [src_vocab._itos[i] for i in ids[0]],
                "output_ids": out_ids[:n],
                "output_tokens": [trg_vocab._itos[i] for i in out_ids[:n]],
                "cross_attention": cross.tolist(),
            }
        )
    return {
        "toolkit": "joeynmt",
        "version": "2.3.0",
        "torch": torch.__version__,
        "decoder": "joeynmt.search.transformer_greedy (max_output_length 20, min_output_length 1); cross-attention "
        "of every layer and head from the decoder's forward over the output (softmax hooks)",
        "probes": probes,
    }


def build(name: str, model: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpus(root, "train", 1500, 1)
        write_corpus(root, "dev", 50, 2)
        cfg_path = root / "config.yaml"
        import yaml

        cfg_path.write_text(yaml.safe_dump(config(root, name, model), sort_keys=False))
        env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
        subprocess.run([sys.executable, "-m", "joeynmt", "train", str(cfg_path), "--skip-test"], check=True, env=env)
        src_dir = root / "model"
        best = (src_dir / "best.ckpt").resolve()
        out = HERE / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        for f in ("config.yaml", "src_vocab.txt", "trg_vocab.txt"):
            shutil.copy(src_dir / f, out / f)
        shutil.copy(best, out / best.name)
        (out / "best.ckpt").symlink_to(best.name)  # as JoeyNMT leaves it
        ref = reference(out)
        (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
        print(name, [p["output_tokens"] for p in ref["probes"]])


if __name__ == "__main__":
    for model_name, spec in MODELS.items():
        build(model_name, json.loads(json.dumps(spec)))
