"""`python main.py convert SRC --out model.safetensors`: save a JoeyNMT, OpenNMT-py or tutorial model as an
attnscope file (weights, vocabularies, tokeniser settings and architecture switches), which then
opens without the toolkit and without any pickle.

Exit status 0 on success; 2 with one line on stderr for a bad model, an existing --out or a failed write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from models.checkpoint import CheckpointError, describe, load_checkpoint, save_checkpoint
from models.hygiene import printable_message
from models.importers import detect, import_foreign


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="attnscope convert",
        description="Convert a JoeyNMT model directory, an OpenNMT-py .pt or a PyTorch-tutorial vocabulary "
        ".json (naming its encoder/decoder state dicts) into an attnscope .safetensors file.",
    )
    parser.add_argument("source", type=Path, help="model directory, .pt/.ckpt file, or tutorial .json")
    parser.add_argument("--out", type=Path, required=True, help="the .safetensors file to write")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    return parser


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    args = build_parser().parse_args(argv)
    out: Path = args.out
    if out.suffix != ".safetensors":
        print("error: --out must end in .safetensors", file=sys.stderr)
        return 2
    if out.exists() and not args.force:
        print(f"error: {out} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    try:
        kind = detect(args.source)
        if kind == "huggingface":
            raise CheckpointError(
                f"{args.source}: a Hugging Face folder opens as it is (--model FOLDER); no conversion"
            )
        ckpt = import_foreign(args.source)
        save_checkpoint(ckpt, out)
        check = load_checkpoint(out)  # the written file must load through the ordinary, validating path
    except (CheckpointError, OSError) as exc:  # a bad model, or --out cannot be written
        print(f"error: {printable_message(str(exc))}", file=sys.stderr)
        return 2
    kind = ckpt.training["imported_from"]["toolkit"]
    summary = ", ".join(f"{k} {v}" for k, v in describe(check).items())
    print(f"converted {kind} model {args.source} -> {out}\n  {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
