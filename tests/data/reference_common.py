"""What the toolkit fixture scripts (make_joeynmt_*.py, make_opennmt_*.py) share: the toy corpus, the probes, the
toolkits' training configurations, their model loaders and the copy of a trained model into tests/data/."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

DATA = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # the toolkit venv's console scripts (onmt_train, ...)
WORDS = [f"w{i}" for i in range(10)]
PROBES = ["w1 w2 w3", "w4 w0 w7 w7 w9", "w5 w8"]


def write_corpus(root: Path, name: str, n: int, seed: int, target: str) -> None:
    """The toy task (reverse the words and upper-case them: needs attention) as name.src and name.<target>."""
    rng = random.Random(seed)
    src, tgt = [], []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(2, 6))]
        src.append(" ".join(words))
        tgt.append(" ".join(w.upper() for w in reversed(words)))
    (root / f"{name}.src").write_text("\n".join(src) + "\n")
    (root / f"{name}.{target}").write_text("\n".join(tgt) + "\n")


def write_corpora(root: Path, target: str) -> None:
    write_corpus(root, "train", 1500, 1, target)
    write_corpus(root, "dev", 50, 2, target)


def run(cmd: list[str]) -> None:
    """A toolkit command on one CPU thread."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    subprocess.run(cmd, check=True, env=env)


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def reference_record(toolkit: str, version: str, decoder: str, probes: list[dict]) -> dict:
    return {"toolkit": toolkit, "version": version, "torch": torch.__version__, "decoder": decoder, "probes": probes}


def write_reference(out: Path, name: str, ref: dict) -> None:
    (out / "reference.json").write_text(json.dumps(ref, indent=1) + "\n")
    print(name, [p["output_tokens"] for p in ref["probes"]])


# -- JoeyNMT 2.3.0 ---------------------------------------------------------------------------------------------


def joeynmt_config(root: Path, name: str, model: dict, learning_rate: float, epochs: int) -> dict:
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
            "learning_rate": learning_rate,
            "scheduling": "exponential",  # "plateau" passes a kwarg torch >= 2.7 removed
            "batch_size": 32,
            "epochs": epochs,
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


def build_joeynmt(
    name: str, model: dict, config: Callable[[Path, str, dict], dict], reference: Callable[[Path], dict]
) -> None:
    """Train with `python -m joeynmt train`, copy the model directory into tests/data/joeynmt/<name>/ as JoeyNMT
    leaves it (best.ckpt a symlink to N.ckpt) and write reference(that directory) beside it."""
    import yaml

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpora(root, "trg")
        cfg_path = root / "config.yaml"
        cfg_path.write_text(yaml.safe_dump(config(root, name, model), sort_keys=False))
        run([sys.executable, "-m", "joeynmt", "train", str(cfg_path), "--skip-test"])
        src_dir = root / "model"
        best = (src_dir / "best.ckpt").resolve()
        out = fresh_dir(DATA / "joeynmt" / name)
        for f in ("config.yaml", "src_vocab.txt", "trg_vocab.txt"):
            shutil.copy(src_dir / f, out / f)
        shutil.copy(best, out / best.name)
        (out / "best.ckpt").symlink_to(best.name)  # as JoeyNMT leaves it
        write_reference(out, name, reference(out))


def load_joeynmt(model_dir: Path) -> tuple[Any, Any, Any, Any]:
    """JoeyNMT's own model (eval mode), source and target vocabularies and source tokenizer."""
    from joeynmt.config import load_config, parse_global_args
    from joeynmt.model import build_model
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
    return model, src_vocab, trg_vocab, tokenizer["src"]


def joeynmt_encode(model: Any, src_vocab: Any, tokenizer: Any, text: str) -> tuple[list[int], Any, Any, Any]:
    """The source ids (</s> appended, as JoeyNMT does), its mask and the encoder's outputs and hidden state."""
    tokens = tokenizer(tokenizer.pre_process(text))
    ids, lengths, _ = src_vocab.sentences_to_ids([tokens], bos=False, eos=True)
    src = torch.tensor(ids)
    length = torch.tensor(lengths)
    mask = (src != src_vocab.pad_index).unsqueeze(1)
    with torch.no_grad():
        enc_out, enc_hidden, _, _ = model(return_type="encode", src=src, src_length=length, src_mask=mask)
    return ids[0], mask, enc_out, enc_hidden


def joeynmt_probe(text: str, ids: list[int], out: Any, src_vocab: Any, trg_vocab: Any) -> dict:
    """One probe's tokens, its output cut after the first </s>."""
    out_ids = [int(i) for i in out[0]]
    n = out_ids.index(trg_vocab.eos_index) + 1 if trg_vocab.eos_index in out_ids else len(out_ids)
    return {
        "source": text,
        "source_tokens": [src_vocab._itos[i] for i in ids],
        "output_ids": out_ids[:n],
        "output_tokens": [trg_vocab._itos[i] for i in out_ids[:n]],
    }


# -- OpenNMT-py 3.5.1 ------------------------------------------------------------------------------------------


def opennmt_config(root: Path, model: dict) -> dict:
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


def build_opennmt(name: str, model: dict, reference: Callable[[Path, Path], dict]) -> None:
    """Run onmt_build_vocab and onmt_train, copy the last checkpoint to tests/data/opennmt/<name>/model.pt and write
    reference(that file, the work folder) beside it."""
    import yaml

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_corpora(root, "tgt")
        config = opennmt_config(root, model)
        cfg = root / "config.yaml"
        cfg.write_text(yaml.safe_dump(config, sort_keys=False))
        run([str(BIN / "onmt_build_vocab"), "-config", str(cfg), "-n_sample", "-1"])
        run([str(BIN / "onmt_train"), "-config", str(cfg)])
        out = fresh_dir(DATA / "opennmt" / name)
        shutil.copy(root / f"model_step_{config['train_steps']}.pt", out / "model.pt")
        write_reference(out, name, reference(out / "model.pt", root))


def opennmt_engine(model_path: Path, root: Path) -> Any:
    """OpenNMT-py's own InferenceEnginePY on the model: greedy (-beam_size 1), one sentence a batch, 20 steps."""
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
    return InferenceEnginePY(opt)
