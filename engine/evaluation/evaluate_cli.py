"""`python main.py evaluate`: quality against source length for one or more models, as JSON (and a plot).

    python main.py evaluate --model build/models/en_hi_bahdanau.safetensors \\
        --model build/models/en_hi_none.safetensors \\
        --data resources/data/en_hi_test_buckets.tsv --out report.json --plot report.png

With --heads, one transformer's cross-attention heads ranked by word-level alignment error rate
(engine/evaluation/head_ranking.py; the data needs gold alignments):

    python main.py evaluate --heads --model resources/models/en_hi_transformer.safetensors \\
        --data resources/data/en_hi_test.tsv --out heads.json --plot heads.png

Exit status 0 on success; 2 with one line on stderr for a bad model, data file or option.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from tqdm import tqdm

from engine.decoding.device import prepare_thread, resolve_device
from engine.decoding.session import InferenceSession
from engine.evaluation.head_ranking import heads_of, rank_heads
from engine.evaluation.head_report import HeadRankingReport, format_head_table
from engine.evaluation.quality import (
    EvalPair,
    ModelReport,
    evaluate_model,
    format_table,
    model_names,
    read_eval_pairs,
    report_dict,
)
from engine.evaluation.report import EvaluationReport
from models import Checkpoint, CheckpointError, DataError, atomic_write_text, load_any, printable_message

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
# (report, path, (width, height, dpi)): the window's quality plot, drawn to a file
PlotWriter = Callable[[EvaluationReport, Path, tuple[int, int, float]], None]
# (report, path, (width, height, dpi)): the head ranking figure, drawn to a file
HeadsPlotWriter = Callable[[HeadRankingReport, Path, tuple[int, int, float]], None]
BATCH_SIZE = 64


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
    p.add_argument(
        "--heads",
        action="store_true",
        help="rank one transformer's cross-attention heads by word-level AER on the gold alignments instead",
    )
    p.add_argument(
        "--plot",
        type=Path,
        help="also draw BLEU and exact match against length, or with --heads the AER of every head (.png, .svg, .pdf)",
    )
    p.add_argument("--width", type=int, default=1000, help="plot width in pixels at 96 dpi (default 1000)")
    p.add_argument("--height", type=int, default=760, help="plot height in pixels at 96 dpi (default 760)")
    p.add_argument("--dpi", type=float, default=96.0, help="PNG resolution: width × dpi / 96 pixels (default 96)")
    p.add_argument("--batch-size", type=int, help=f"sentences decoded together (default {BATCH_SIZE}; not --heads)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    return p


def main(argv: list[str], plot: PlotWriter | None = None, heads_plot: HeadsPlotWriter | None = None) -> int:
    """`plot` draws a report as an image (main.py passes the window's quality plot), `heads_plot` a head ranking
    (main.py passes the ranking figure); None: --plot is refused."""
    try:
        args = parser().parse_args(argv)
        return _run_heads(args, heads_plot) if args.heads else _run(args, plot)
    except (UsageError, CheckpointError, DataError, OSError, ValueError) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        print("evaluate: interrupted", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace, plot: PlotWriter | None) -> int:
    _check_args(args, plot)
    pairs = read_eval_pairs(args.data)  # bad data fails before any model is loaded
    choice = resolve_device(args.device)
    if choice.message:
        print(f"note: {choice.message}", file=sys.stderr)
    prepare_thread(choice.device)
    checkpoints = [load_any(path, choice.device) for path in args.model]  # every model checked up front
    size = args.batch_size or BATCH_SIZE
    reports = [_evaluate(ckpt, path.stem, pairs, size) for ckpt, path in zip(checkpoints, args.model, strict=True)]
    report = report_dict(reports, data=str(args.data))
    return _write(args, report, format_table(reports), plot)


def _run_heads(args: argparse.Namespace, plot: HeadsPlotWriter | None) -> int:
    _check_args(args, plot)
    if len(args.model) != 1:
        raise UsageError("--heads ranks the heads of one model: give one --model")
    if args.batch_size is not None:
        raise UsageError("--batch-size does not apply to --heads (each reference is forced-decoded on its own)")
    pairs = read_eval_pairs(args.data)  # bad data fails before the model is loaded
    session = InferenceSession.open(args.model[0], args.device)
    for message in session.messages:  # a device fallback
        print(f"note: {message}", file=sys.stderr)
    name = model_names(args.model)[0]
    heads_of(session, name)  # an RNN is refused before the progress bar starts
    scored = sum(p.alignment is not None for p in pairs)  # the sentences with gold links
    with tqdm(total=scored, desc=name, unit="sent", file=sys.stderr, leave=True) as bar:
        report = rank_heads(session, pairs, _advance(bar), model=name, data=str(args.data))
    return _write(args, report, format_head_table(report), plot)


def _write(args: argparse.Namespace, report: Any, table: str, plot: Callable[..., None] | None) -> int:
    """The JSON report, the table on stdout, and the plot when asked for."""
    atomic_write_text(args.out, json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(table)
    print(f"wrote {args.out}")
    if args.plot is not None:
        assert plot is not None  # _check_args refused --plot without a plotter
        _plot(plot, report, args.plot, (args.width, args.height, args.dpi))
        print(f"wrote {args.plot}")
    return 0


def _check_args(args: argparse.Namespace, plot: PlotWriter | HeadsPlotWriter | None) -> None:
    if args.batch_size is not None and args.batch_size < 1:
        raise UsageError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.plot is not None and args.plot.suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot: use a .png, .svg or .pdf file name, not {args.plot.name!r}")
    if args.plot is None and (args.width, args.height, args.dpi) != (1000, 760, 96.0):
        raise UsageError("--width, --height and --dpi size the --plot: give --plot too")
    if not (100 <= args.width <= 20000 and 100 <= args.height <= 20000 and 10 <= args.dpi <= 1200):
        raise UsageError("--width and --height must be from 100 to 20000, --dpi from 10 to 1200")
    if args.plot is not None and plot is None:
        raise UsageError("--plot needs the app's plotter (run `python main.py evaluate`)")
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


def _plot(plot: Callable[..., None], report: Any, path: Path, size: tuple[int, int, float]) -> None:
    try:
        plot(report, path, size)
    except ImportError as exc:  # Qt missing or broken: the JSON report is written already
        raise UsageError(f"--plot needs Qt and pyqtgraph, which cannot be loaded ({exc})") from exc


def _fail(message: str) -> int:
    print(f"evaluate: {printable_message(message)}", file=sys.stderr)
    return 2
