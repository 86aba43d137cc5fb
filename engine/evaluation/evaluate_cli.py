"""`python main.py evaluate`: quality against source length for one or more models, as JSON (and a plot).

    python main.py evaluate --model build/models/en_hi_bahdanau.safetensors \\
        --model build/models/en_hi_none.safetensors \\
        --data resources/data/en_hi_test_buckets.tsv --out report.json --plot report.png

Exit status 0 on success; 2 with one line on stderr for a bad model, data file or option.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from tqdm import tqdm

from engine.decoding.device import prepare_thread, resolve_device
from engine.evaluation.quality import EvalPair, ModelReport, evaluate_model, format_table, read_eval_pairs, report_dict
from models.atomic import atomic_write_text
from models.checkpoint import Checkpoint, CheckpointError
from models.data.dataset import DataError
from models.hygiene import printable_message
from models.importers import load_any

PLOT_SUFFIXES = (".png", ".svg")


class UsageError(Exception):
    """A bad command line; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print the whole usage block and exit
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py evaluate", description="Score models per source-length bucket: BLEU, chrF, AER, …")
    p.add_argument("--model", type=Path, action="append", required=True, help="model file or folder; repeatable")
    p.add_argument("--data", type=Path, required=True, help="test TSV: source<TAB>target[<TAB>s-t alignments]")
    p.add_argument("--out", type=Path, required=True, help="report JSON to write")
    p.add_argument("--plot", type=Path, help="also draw BLEU and exact match against length (.png or .svg)")
    p.add_argument("--batch-size", type=int, default=64, help="sentences decoded together (default 64)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    return p


def main(argv: list[str]) -> int:
    try:
        return _run(parser().parse_args(argv))
    except (UsageError, CheckpointError, DataError, OSError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("evaluate: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    _check_args(args)
    pairs = read_eval_pairs(args.data)  # bad data fails before any model is loaded
    choice = resolve_device(args.device)
    if choice.message:
        print(f"note: {choice.message}", file=sys.stderr)
    prepare_thread(choice.device)
    checkpoints = [load_any(path, choice.device) for path in args.model]  # every model checked up front
    reports = [
        _evaluate(ckpt, path.stem, pairs, args.batch_size) for ckpt, path in zip(checkpoints, args.model, strict=True)
    ]
    report = report_dict(reports, data=str(args.data))
    atomic_write_text(args.out, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(format_table(reports))
    print(f"wrote {args.out}")
    if args.plot is not None:
        _plot(report, args.plot)
        print(f"wrote {args.plot}")
    return 0


def _check_args(args: argparse.Namespace) -> None:
    if args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.plot is not None and args.plot.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot: use a .png or .svg file name, not {args.plot.name!r}")
    for path in args.model:
        if not path.exists():
            raise UsageError(f"--model: no such file or folder: {path}")
    if not args.data.is_file():
        raise UsageError(f"--data: no such file: {args.data}")


def _evaluate(ckpt: Checkpoint, name: str, pairs: list[EvalPair], batch_size: int) -> ModelReport:
    """`name` is what the user passed (a JoeyNMT folder's name, not its 500.ckpt)."""
    with tqdm(total=len(pairs), desc=name, unit="sent", file=sys.stderr, leave=True) as bar:
        return evaluate_model(ckpt, pairs, batch_size, progress=_advance(bar), name=name)


def _advance(bar: tqdm) -> Callable[[int, int], bool]:
    def progress(done: int, total: int) -> bool:
        bar.update(done - bar.n)
        return True

    return progress


def _plot(report: dict[str, object], path: Path) -> None:
    try:
        from gui.tools.quality_plot import export_report_plot  # Qt only when a plot is wanted
    except ImportError as exc:
        raise UsageError(f"--plot needs Qt and pyqtgraph, which cannot be loaded ({exc})") from exc
    export_report_plot(report, path)


def _fail(message: str) -> int:
    print(f"evaluate: {printable_message(message)}", file=sys.stderr)
    return 2
