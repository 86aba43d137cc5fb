"""Model cards: held-out exact match measured on test files, rendered as Markdown and embedded in the checkpoint."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from models.atomic import atomic_write_text
from models.checkpoint import Checkpoint, CheckpointError, load_checkpoint, save_checkpoint
from models.data.dataset import DataError, batches, make_batch, read_pairs, tokenize_pairs
from models.hygiene import printable_message
from models.tokens import Tokenizer
from models.training import deviations, train_cli
from models.training.batch_decode import greedy_batch
from models.training.loop import TrainOptions
from models.transformer.config import TransformerConfig
from models.untrusted import load_json


def exact_match(ckpt: Checkpoint, test_path: Path, batch_size: int = 64) -> dict[str, Any]:
    """Greedy-decode every source in a TSV file and count outputs equal to the reference."""
    examples = tokenize_pairs(read_pairs(test_path), ckpt.src_tokenizer, ckpt.tgt_tokenizer)
    correct = 0
    for chunk in batches(examples, batch_size):
        batch = make_batch(chunk, ckpt.src_vocab, ckpt.tgt_vocab)
        hyps, _ = greedy_batch(ckpt.model, batch.src, batch.lengths, max_len=2 * batch.src.shape[1] + 10)
        correct += sum(ckpt.tgt_vocab.decode(h) == ex.target for h, ex in zip(hyps, chunk, strict=True))
    lengths = [len(e.source) for e in examples]
    return {
        "file": test_path.name,
        "pairs": len(examples),
        "exact_match": round(correct / len(examples), 4),
        "source_tokens": f"{min(lengths)}-{max(lengths)}",
    }


COLUMNS = (("bleu", ".1f"), ("chrf", ".1f"), ("exact_match", ".1%"), ("aer", ".3f"))


def length_table(report: dict[str, Any], model: str) -> list[str]:
    """This model's rows of an `evaluate` report (quality per source-length bucket), as Markdown."""
    found = [m for m in report.get("models", []) if m.get("model") == model]
    if not found:
        raise ValueError(f"the report has no model named {model!r}")
    lines = [
        "## Quality against source length (greedy decoding)",
        "",
        f"Measured on `{report.get('data', '?')}` by `python main.py evaluate`.",
        "",
        "| words | count | BLEU | chrF | exact match | AER |",
        "|---|---|---|---|---|---|",
    ]
    for b in [*found[0]["buckets"], found[0]["overall"]]:
        cells = [_cell(b.get(k), fmt) for k, fmt in COLUMNS]
        lines.append(f"| {b['range']} | {b['count']} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def _tokenisation(tok: Tokenizer) -> str:
    case = "input lower-cased first" if tok.lowercase else "case kept"
    if tok.kind == "char":
        return f"one token per character; {case}"
    return f'words, with punctuation split off as tokens of its own; {case} ("Turn" and "turn" are one token)'


def with_command_options(training: dict[str, Any]) -> dict[str, Any]:
    """The training summary plus what older checkpoints did not record, read back from their own train command."""
    words = shlex.split(training.get("command", ""))
    if words[:3] != ["python", "main.py", "train"]:
        return training
    try:
        opts = train_cli.parser().parse_args(words[3:])
    except SystemExit:  # not a command this version parses: leave the gaps
        return training
    known = {"epoch_cap": opts.epochs, "patience": opts.patience, "lr": opts.lr, "lr_decay": opts.lr_decay}
    known |= {"batch_size": opts.batch_size, "clip": TrainOptions.clip, "min_delta": opts.min_delta}
    known["warmup"] = opts.warmup
    if "epochs_run" in training and not opts.max_steps:
        early = training["epochs_run"] < opts.epochs
        patience = f"early stopping (no better validation loss for {opts.patience} epochs)"
        known["stopped_by"] = patience if early else f"the {opts.epochs}-epoch cap"
    return {**known, **training}


def render(
    ckpt: Checkpoint,
    title: str,
    results: Sequence[dict[str, Any]],
    data_commands: Sequence[str],
    extra: Sequence[str] = (),
    scope: str = "",
) -> str:
    t, c = with_command_options(ckpt.training), ckpt.config
    vocab = f"{len(ckpt.src_vocab)} source / {len(ckpt.tgt_vocab)} target ({ckpt.src_tokenizer.kind}-level)"
    data = f"{t.get('train_pairs', '?')} pairs, validation {t.get('valid_pairs', '?')} pairs, seed {t.get('seed')}"
    run = f"{t.get('epochs_run')} epochs of at most {t.get('epoch_cap', '?')} (best {t.get('best_epoch')}), "
    run += f"stopped by {t.get('stopped_by', '?')}; {t.get('seconds')} s on CPU, torch {t.get('torch')}"
    lines = [
        f"# {title}",
        "",
        f"- Architecture: {_architecture(c)}",
        f"- Parameters: {ckpt.model.parameter_count():,}",
        f"- Vocabulary: {vocab}",
        f"- Tokenisation: {_tokenisation(ckpt.src_tokenizer)}",
        f"- Training: {data}, {run}",
        f"- Validation: loss {t.get('valid_loss')}, exact match {t.get('valid_exact_match')}",
        "",
        "## Held-out results (greedy decoding)",
        "",
        "| test file | pairs | source tokens | exact match |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['file']} | {r['pairs']} | {r['source_tokens']} | {r['exact_match']:.2%} |" for r in results]
    lines += ["", *extra, *(["## Scope", "", scope, ""] if scope else []), *deviations.section(c, t)]
    lines += ["## Reproduce", "", "```sh", *data_commands, t.get("command", ""), "```", ""]
    return "\n".join(lines)


def _architecture(c: Any) -> str:
    if isinstance(c, TransformerConfig):
        order = "post-LN (Vaswani et al. 2017)" if c.norm == "post" else "pre-LN, final LayerNorms"
        return (
            f"transformer, {c.enc_layers} encoder + {c.dec_layers} decoder layers, {c.heads} heads, "
            f"d_model {c.d_model}, feed-forward {c.ffn_dim}, {order}, sinusoidal positions, "
            "embeddings × √d_model, untied output layer"
        )
    encoder = f"{c.rnn.upper()} {'bidirectional ' if c.bidirectional else ''}encoder ({c.enc_layers} layer)"
    sizes = f"embedding {c.embed_dim}, hidden {c.hidden_dim}, attention {c.attn_dim}"
    return f"{c.attention} attention, {encoder}, decoder {c.dec_layers} layer, {sizes}"


def main(argv: list[str]) -> int:
    """Exit status 0; 2 with one line on stderr for a bad model, test file or report, or a failed write."""
    p = argparse.ArgumentParser(
        prog="main.py card", description="Measure a model on held-out files and write its card."
    )
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--title", required=True)
    p.add_argument("--test", type=Path, nargs="+", required=True)
    p.add_argument("--data-command", action="append", default=[], help="a command that made the training data")
    p.add_argument("--report", type=Path, help="an `evaluate` report JSON: adds this model's quality-by-length table")
    p.add_argument("--scope", default="", help="a paragraph for the card's Scope section: what the model is for")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    try:
        card = _write_card(args)
    except (CheckpointError, DataError, OSError, ValueError) as exc:  # JSON and report errors are ValueErrors
        print(f"error: {printable_message(str(exc))}", file=sys.stderr)
        return 2
    print(card)
    return 0


def _write_card(args: argparse.Namespace) -> str:
    ckpt = load_checkpoint(args.model)
    results = [exact_match(ckpt, path) for path in args.test]
    extra = length_table(_read_report(args.report), args.model.stem) if args.report else []
    ckpt.card = render(ckpt, args.title, results, args.data_command, extra, args.scope)
    ckpt.training = {**ckpt.training, "held_out": results}
    save_checkpoint(ckpt, args.model)
    atomic_write_text(args.model.with_suffix(".md"), ckpt.card)
    return ckpt.card


def _read_report(path: Path) -> dict[str, Any]:
    report = load_json(path.read_text(encoding="utf-8"), path.name)
    if not isinstance(report, dict):
        raise ValueError(f"{path}: not an `evaluate` report")
    return report
