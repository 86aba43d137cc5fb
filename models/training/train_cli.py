"""`python main.py train ...`: command-line options mapped onto TrainOptions."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from models.data.dataset import DataError
from models.hygiene import printable_message
from models.rnn.config import ATTENTION_TYPES, RNN_TYPES, ConfigError
from models.training.loop import TrainOptions, train


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="main.py train",
        description="Train an attention seq2seq model (RNN, or --arch transformer) on tab-separated pairs.",
    )
    p.add_argument("--data", type=Path, nargs="+", required=True, help="training pairs: source<TAB>target per line")
    p.add_argument("--valid", type=Path, required=True, help="validation pairs, same format")
    p.add_argument("--out", type=Path, required=True, help="checkpoint to write (.safetensors)")
    p.add_argument("--arch", choices=("rnn", "transformer"), default="rnn", help="recurrent or transformer model")
    p.add_argument("--attention", choices=ATTENTION_TYPES, default="bahdanau", help="RNN attention")
    p.add_argument("--rnn", choices=RNN_TYPES, default="gru")
    p.add_argument("--tokenizer", choices=("word", "char"), default="word")
    p.add_argument("--unidirectional", action="store_true", help="one-directional encoder (needed for luong-dot)")
    for name, default in (
        ("embed-dim", 64),
        ("hidden-dim", 128),
        ("attn-dim", 128),
        ("enc-layers", 1),
        ("dec-layers", 1),
        ("epochs", 20),
        ("batch-size", 64),
        ("patience", 3),
        ("seed", 1),
        ("threads", 0),
        ("max-steps", 0),
        ("d-model", 128),
        ("heads", 4),
        ("ffn-dim", 512),
        ("warmup", 0),
    ):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--norm", choices=("post", "pre"), default="post", help="transformer: LayerNorm after or before")
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument(
        "--min-delta",
        type=float,
        default=0.0,
        help="a validation loss counts as better (for --patience and --lr-decay) only when this much lower",
    )
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument(
        "--lr-decay",
        type=float,
        default=1.0,
        help="multiply the learning rate by this after each epoch without a better validation loss (1 = constant)",
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not 0.0 < args.lr_decay <= 1.0:
        p.error(f"--lr-decay must be in (0, 1], got {args.lr_decay}")
    if args.min_delta < 0.0:
        p.error(f"--min-delta must be >= 0, got {args.min_delta}")
    fields = {k: v for k, v in vars(args).items() if k != "unidirectional"}
    opts = TrainOptions(
        **fields, bidirectional=not args.unidirectional, command="python main.py train " + shlex.join(argv)
    )
    try:
        train(opts)
    except (DataError, ConfigError, OSError) as exc:  # bad data or sizes; --out cannot be written
        print(f"error: {printable_message(str(exc))}", file=sys.stderr)
        return 2
    return 0
