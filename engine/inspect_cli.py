"""`python main.py inspect`: decode one sentence headless, print what the model attended to, export it.

    python main.py inspect --source "turn off the lights"
    python main.py inspect --source "turn off the lights" --beam 4 --out lights.json
    python main.py inspect --source "turn off the lights" --target "लाइट बंद करो" --out lights.csv
    python main.py inspect --source "turn off the lights" --mask-source 1 --pin 2:3 --out what_if.json
    python main.py inspect --source "turn off the lights" --perturb --out perturbed.json
    python main.py inspect --source-file sentences.txt --out-dir heatmaps --format svg
    python main.py inspect --model en_hi_transformer.safetensors --source "turn off the lights" --layer 0 --head 2

Exit status 0 on success; 2 with one line on stderr for a bad model, input or option, and no file written;
with --source-file, 1 when some lines failed (each is reported; the others are written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NamedTuple, NoReturn, Protocol

from tqdm import tqdm

from engine.decoding.inputs import MAX_SOURCE_TOKENS, InputError
from engine.decoding.session import InferenceSession
from engine.export import FORMATS, export_result
from engine.records import DecodeResult
from engine.requests import (
    DecodeRequest,
    EditHead,
    EditRow,
    Intervention,
    MaskSource,
    PinStep,
    describe_intervention,
)
from engine.text import log_probability_text, probability_text
from engine.word_view import word_level
from models import CheckpointError, atomic_write_text, describe, printable_message

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "en_hi_bahdanau.safetensors"
IMAGE_FORMATS = (".png", ".svg", ".pdf", ".gif", ".mp4")
ANIMATIONS = (".gif", ".mp4")  # the decode step by step
DEFAULT_SIZE = (1200, 900)
MIN_SIDE, MAX_SIDE = 100, 20000
MIN_DPI, MAX_DPI = 10.0, 1200.0
INDEX_HEADER = ("line", "source", "output", "file")


class ImageSize(NamedTuple):
    """An image's layout size in pixels at 96 dpi, and the resolution a PNG is drawn at."""

    width: int
    height: int
    dpi: float = 96.0


class ImageWriter(Protocol):
    """The window's heatmap renderer (main.py passes it in): draws `result` to `path` (.png, .svg, .pdf; .gif or
    .mp4 step by step, with the anatomy of each step beside it if asked, for which it reads the model's query)."""

    def __call__(
        self, result: DecodeResult, path: Path, size: ImageSize, model: dict[str, Any], with_anatomy: bool
    ) -> None: ...


class UsageError(Exception):
    """A bad command line; reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would print the whole usage block
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="main.py inspect", description="Decode one sentence and show (or export) the attention.")
    p.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL, help="model file or folder; default: the shipped en→hi model"
    )
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--source", help="the sentence to translate; - reads it from standard input")
    given.add_argument(
        "--source-file", type=Path, metavar="FILE", help="one sentence per line, each to its own file in --out-dir"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--target", help="score this reference instead of decoding (forced decoding)")
    mode.add_argument("--beam", type=int, metavar="K", help="beam search with width K")
    mode.add_argument("--sample", action="store_true", help="sample instead of taking the most likely token")
    p.add_argument("--temperature", type=float, help="sampling temperature (with --sample; default 1)")
    p.add_argument("--seed", type=int, help="sampling seed (with --sample; default 0)")
    p.add_argument("--length-penalty", type=float, help="with --beam: score = log p / length^penalty (default 1)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    p.add_argument("--max-len", type=int, default=0, help="most output tokens (0: 2 × source length + 10)")
    p.add_argument("--top-k", type=int, default=5, help="candidates kept per step")
    p.add_argument(
        "--max-source-tokens",
        type=int,
        default=MAX_SOURCE_TOKENS,
        metavar="N",
        help=f"read at most N source tokens; the rest is dropped with a note (default {MAX_SOURCE_TOKENS})",
    )
    _add_head_args(p)
    _add_whatif_args(p)
    _add_output_args(p)
    return p


def _add_output_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("output")
    known = ", ".join(FORMATS + IMAGE_FORMATS)
    g.add_argument("--out", type=Path, help=f"write the result; the suffix picks the format: {known}")
    g.add_argument("--out-dir", type=Path, metavar="DIR", help="with --source-file: 0001.json, … and index.tsv")
    g.add_argument(
        "--format",
        choices=[f[1:] for f in IMAGE_FORMATS],
        help="with --out-dir: also draw each heatmap as an image of this format",
    )
    g.add_argument(
        "--width", type=int, default=DEFAULT_SIZE[0], help="image width in pixels at 96 dpi (default %(default)s)"
    )
    g.add_argument(
        "--height", type=int, default=DEFAULT_SIZE[1], help="image height in pixels at 96 dpi (default %(default)s)"
    )
    g.add_argument(
        "--dpi", type=float, default=96.0, help="PNG resolution: the image has width × dpi / 96 pixels (default 96)"
    )
    g.add_argument(
        "--anatomy", action="store_true", help="with a .gif or .mp4: the anatomy of each step beside the heatmap"
    )


def _add_head_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "transformers",
        "which cross-attention alpha and the image show (default: the mean over "
        "the last decoder layer's heads); the JSON always holds every layer and head",
    )
    g.add_argument("--layer", type=int, metavar="L", help="decoder layer (from 0; default: the last)")
    g.add_argument("--head", type=_head, metavar="H|mean", help="one head of that layer (from 0), or mean (default)")
    g.add_argument("--self-attention", action="store_true", help="also record the decoder's self-attention")
    g.add_argument(
        "--words",
        action="store_true",
        help="also show α by word (a source word's pieces summed, a target word's pieces averaged); JSON: word_level",
    )
    g.add_argument(
        "--zero-head",
        type=_zero_head,
        action="append",
        default=[],
        metavar="L:H[:STEP]",
        help="what-if: zero layer L's head H (or 'all' its heads) from step STEP (default 0) on; repeatable",
    )
    g.add_argument(
        "--pin-head",
        type=_pin_head,
        action="append",
        default=[],
        metavar="L:H:J[:STEP]",
        help="what-if: put all of layer L's head H (or 'all') on source token J from step STEP on; repeatable",
    )


def _head(text: str) -> int | None:
    if text == "mean":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a head number or 'mean', got {text!r}") from None


def _head_edit(text: str, mode: str, fields: int) -> EditHead:
    parts = text.split(":")
    if len(parts) not in (fields, fields + 1):
        raise ValueError
    numbers = [int(p) for p in parts[2:]]
    head = None if parts[1] == "all" else int(parts[1])
    position = numbers[0] if mode == "pin" else 0
    step = numbers[-1] if len(parts) == fields + 1 else 0
    return EditHead(int(parts[0]), head, mode, position, step)


def _zero_head(text: str) -> EditHead:
    try:
        return _head_edit(text, "zero", 2)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected L:H[:STEP] (H a number or 'all'), got {text!r}") from None


def _pin_head(text: str) -> EditHead:
    try:
        return _head_edit(text, "pin", 3)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected L:H:J[:STEP] (H a number or 'all'), got {text!r}") from None


def _add_whatif_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("what-if", "edit the attention weights α before each context vector is formed")
    g.add_argument(
        "--mask-source",
        type=int,
        action="append",
        default=[],
        metavar="J",
        help="zero source word J (from 0) at every step, renormalising the rest; repeatable",
    )
    g.add_argument(
        "--pin",
        type=_pin,
        action="append",
        default=[],
        metavar="STEP:J",
        help="put all of step STEP's attention on source word J; repeatable",
    )
    g.add_argument(
        "--edit-row",
        type=_edit_row,
        action="append",
        default=[],
        metavar="STEP:W0,W1,...",
        help="set step STEP's weights, one per source word (scaled to sum 1); repeatable",
    )
    g.add_argument(
        "--temperature-scores",
        type=float,
        default=1.0,
        metavar="T",
        help="α = softmax(e / T) at every step (not the sampling --temperature); T → 0: one-hot",
    )
    g.add_argument(
        "--perturb",
        action="store_true",
        help="also decode with each source word dropped; the JSON output gets the table",
    )
    g.add_argument("--perturb-with", metavar="WORD", help="with --perturb: replace each word by WORD instead")


def _pin(text: str) -> PinStep:
    step, _, j = text.partition(":")
    try:
        return PinStep(int(step), int(j))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STEP:J (two whole numbers), got {text!r}") from None


def _edit_row(text: str) -> EditRow:
    step, _, weights = text.partition(":")
    try:
        return EditRow(int(step), tuple(float(w) for w in weights.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected STEP:W0,W1,... (numbers), got {text!r}") from None


def _interventions(args: argparse.Namespace) -> tuple[Intervention, ...]:
    return (*(MaskSource(j) for j in args.mask_source), *args.pin, *args.edit_row, *args.zero_head, *args.pin_head)


def main(argv: list[str], render: ImageWriter | None = None) -> int:
    """`render` writes a result as an image (main.py passes the window's renderer); None: data outputs only.

    Exit status: 0 on success; 2 with one line on stderr for a bad model, input or option (no file written);
    with --source-file, 1 when some lines could not be decoded (each is reported, the others are written).
    """
    try:
        args = parser().parse_args(argv)
        return _run(args, render)
    except UsageError as exc:
        return _fail(str(exc))
    except (CheckpointError, InputError, ValueError, OSError) as exc:
        return _fail(str(exc))


def _run(args: argparse.Namespace, render: ImageWriter | None) -> int:
    _check_args(args, render)
    if args.source == "-":
        args.source = sys.stdin.read().strip("\n")
    session = _open(args.model, args.device, args.max_source_tokens)
    for note in session.messages:
        print(f"note: {note}", file=sys.stderr)
    model = {"path": str(args.model), **describe(session.checkpoint)}
    if args.anatomy and model["query"] == "none":
        raise UsageError("--anatomy: this model has no attention, so a step has no anatomy to show")
    if args.source_file is not None:
        return _run_batch(args, session, model, render)
    result = session.run(_request(args, args.source))
    _check_edits_reached(result)
    for note in result.messages:
        print(f"note: {note}", file=sys.stderr)
    _print_result(result)
    extra = _print_words(result) if args.words else {}
    if args.out is not None:
        _export(result, args.out, model, render, _size(args), args.anatomy, extra)
        _note_missing_alpha(result, args.out)
        print(f"wrote {args.out}")
    return 0


def _check_args(args: argparse.Namespace, render: ImageWriter | None) -> None:
    """Refuse every option that cannot apply, before a model is loaded or a file written."""
    for problem in _option_problems(args):
        raise UsageError(problem)
    known = FORMATS + IMAGE_FORMATS
    if args.out is not None and args.out.suffix.lower() not in known:
        raise UsageError(f"--out: unknown format {args.out.suffix or '(no suffix)'!r}; use one of {', '.join(known)}")
    wants_image = (args.out is not None and args.out.suffix.lower() in IMAGE_FORMATS) or args.format is not None
    if wants_image and render is None:
        raise UsageError("image output needs the app's renderer (run `python main.py inspect`)")


def _option_problems(args: argparse.Namespace) -> list[str]:
    """One line per option given where it cannot apply (argparse cannot say "only with")."""
    found = []
    without = [
        (args.temperature is not None and not args.sample, "--temperature needs --sample"),
        (args.seed is not None and not args.sample, "--seed needs --sample"),
        (args.length_penalty is not None and args.beam is None, "--length-penalty needs --beam"),
        (args.perturb_with is not None and not args.perturb, "--perturb-with needs --perturb"),
        (args.source_file is not None and args.out_dir is None, "--source-file needs --out-dir"),
        (args.out_dir is not None and args.source_file is None, "--out-dir needs --source-file"),
        (args.source_file is not None and args.out is not None, "--out writes one sentence: use --out-dir"),
        (args.format is not None and args.out_dir is None, "--format needs --out-dir (with --out the suffix says)"),
        (args.anatomy and not _animated(args), "--anatomy needs a .gif or .mp4 (--out, or --format with --out-dir)"),
    ]
    found += [message for wrong, message in without if wrong]
    numbers = [
        (args.beam is not None and args.beam < 1, f"--beam must be at least 1, got {args.beam}"),
        (args.max_source_tokens < 1, f"--max-source-tokens must be at least 1, got {args.max_source_tokens}"),
        (not MIN_SIDE <= args.width <= MAX_SIDE, f"--width must be from {MIN_SIDE} to {MAX_SIDE}, got {args.width}"),
        (not MIN_SIDE <= args.height <= MAX_SIDE, f"--height must be from {MIN_SIDE} to {MAX_SIDE}, got {args.height}"),
        (not MIN_DPI <= args.dpi <= MAX_DPI, f"--dpi must be from {MIN_DPI:g} to {MAX_DPI:g}, got {args.dpi:g}"),
    ]
    return found + [message for wrong, message in numbers if wrong]


def _check_edits_reached(result: DecodeResult) -> None:
    """A --pin or --edit-row for a step the decode never reached would silently do nothing: refuse it."""
    steps = len(result.output_tokens)
    for x in result.interventions:
        if isinstance(x, PinStep | EditRow) and x.step >= steps:
            flag = "--pin" if isinstance(x, PinStep) else "--edit-row"
            raise UsageError(
                f"{flag} {x.step}:…: the decode has {steps} steps (0 to {steps - 1}); step {x.step} never happens"
            )


def _open(model: Path, device: str, max_source_tokens: int) -> InferenceSession:
    if model == DEFAULT_MODEL and not model.exists():
        raise UsageError(f"the shipped model is missing ({model}); pass --model PATH")
    return InferenceSession.open(model, device, max_source_tokens=max_source_tokens)


def _request(args: argparse.Namespace, source: str, request_id: int = 1) -> DecodeRequest:
    common: dict[str, Any] = {
        "request_id": request_id,
        "source": source,
        "max_len": args.max_len,
        "top_k": args.top_k,
        "interventions": _interventions(args),
        "score_temperature": args.temperature_scores,
        "perturb": ("replace" if args.perturb_with is not None else "drop") if args.perturb else "",
        "perturb_with": args.perturb_with or "",
        "layer": args.layer,
        "head": args.head,
        "self_attention": args.self_attention,
    }
    if args.target is not None:
        return DecodeRequest(strategy="forced", target=args.target, **common)
    if args.beam is not None:
        penalty = 1.0 if args.length_penalty is None else args.length_penalty
        return DecodeRequest(strategy="beam", beam_width=args.beam, length_penalty=penalty, **common)
    if args.sample:
        temperature = 1.0 if args.temperature is None else args.temperature
        return DecodeRequest(strategy="sample", temperature=temperature, seed=args.seed or 0, **common)
    return DecodeRequest(strategy="greedy", **common)


def _print_words(result: DecodeResult) -> dict[str, Any]:
    if result.alpha is None:
        raise UsageError("--words: this model has no attention, so there is no α to show by word")
    view = word_level(result.source_tokens, result.output_tokens, result.alpha)
    print(f"{view.note}:")
    for word, row in zip(view.output_words, view.alpha, strict=True):
        j = int(row.argmax())
        print(f"     {word:<16} attends to {view.source_words[j]!r} ({row[j]:.2f})")
    words = {"note": view.note, "source_words": list(view.source_words), "output_words": list(view.output_words)}
    return {"word_level": {**words, "alpha": view.alpha.tolist()}}


def _animated(args: argparse.Namespace) -> bool:
    suffix = args.out.suffix.lower() if args.out is not None else f".{args.format}" if args.format else ""
    return suffix in ANIMATIONS


def _size(args: argparse.Namespace) -> ImageSize:
    return ImageSize(args.width, args.height, args.dpi)


def _export(
    result: DecodeResult,
    out: Path,
    model: dict[str, Any],
    render: ImageWriter | None,
    size: ImageSize,
    anatomy: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    if out.suffix.lower() not in IMAGE_FORMATS:
        export_result(result, out, model, extra or {})
        return
    assert render is not None  # _check_args refused an image without a renderer
    try:
        render(result, out, size, model, anatomy)
    except ImportError as exc:  # Qt missing or broken: the data formats still work
        raise UsageError(f"image export needs Qt, which cannot be loaded ({exc})") from exc


def _note_missing_alpha(result: DecodeResult, out: Path) -> None:
    if result.alpha is None and out.suffix.lower() in (".csv", ".npz"):
        what = "holds the output tokens only" if out.suffix.lower() == ".csv" else "has no alpha or scores arrays"
        print(f"note: this model has no attention, so {out.name} {what}", file=sys.stderr)


# -- batch ---------------------------------------------------------------------------------


def _run_batch(
    args: argparse.Namespace, session: InferenceSession, model: dict[str, Any], render: ImageWriter | None
) -> int:
    """One JSON (and image) per line of --source-file, and index.tsv; a bad line is reported and skipped."""
    lines = _read_lines(args.source_file)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    digits = max(4, len(str(len(lines))))
    index = [INDEX_HEADER]
    failed = 0
    for number, line in tqdm(list(enumerate(lines, 1)), desc="inspect", unit="sentence", file=sys.stderr):
        try:
            result = _decode_line(args, session, line, number)
            stem = f"{number:0{digits}d}"
            written = [args.out_dir / f"{stem}.json"]
            export_result(result, written[0], model)
            if args.format is not None:
                written.append(args.out_dir / f"{stem}.{args.format}")
                _export(result, written[-1], model, render, _size(args), args.anatomy)
            index.append((str(number), line, result.text, " ".join(p.name for p in written)))
        except (InputError, UsageError) as exc:
            failed += 1
            tqdm.write(f"line {number}: {' '.join(str(exc).split())}", file=sys.stderr)
            index.append((str(number), line, "", ""))
    atomic_write_text(args.out_dir / "index.tsv", "".join("\t".join(map(_tsv_cell, row)) + "\n" for row in index))
    print(f"wrote {len(lines) - failed} of {len(lines)} sentences and index.tsv to {args.out_dir}")
    return 1 if failed else 0


def _read_lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"--source-file: {path} is not UTF-8 text ({exc.reason})") from None
    lines = text.splitlines()
    if not lines:
        raise UsageError(f"--source-file: {path} has no lines")
    return lines


def _decode_line(args: argparse.Namespace, session: InferenceSession, line: str, number: int) -> DecodeResult:
    if not line.strip():
        raise InputError("empty line")
    result = session.run(_request(args, line, number))
    _check_edits_reached(result)
    return result


def _tsv_cell(text: str) -> str:
    return " ".join(text.split())  # a tab or newline inside a cell would break the table


# -- printing ------------------------------------------------------------------------------


def _print_result(result: DecodeResult) -> None:
    print(f"source: {' '.join(result.source_tokens)}")
    print(f"output: {result.text}")
    if result.heads is not None:
        print(f"attention shown: {result.heads.view}")
    if result.alpha is None:
        print("(this model has no attention: every step reads one fixed vector, so there is no α to show)")
    for i, (token, p) in enumerate(zip(result.output_tokens, result.token_probs.tolist(), strict=True)):
        line = f"{i:3d}  {token:<16} p={probability_text(p):<9} log p={log_probability_text(p):<8}"
        if result.alpha is not None:
            row = result.alpha[i]
            j = int(row.argmax())
            line += f"  attends to {result.source_tokens[j]!r} ({row[j]:.2f})"
        print(line.rstrip())
    _print_hypotheses(result)
    _print_whatif(result)


def _print_hypotheses(result: DecodeResult) -> None:
    if not result.hypotheses:
        return
    print(f"beam hypotheses (score = log p / length^{result.hypotheses[0].length_penalty:g}):")
    for rank, hyp in enumerate(result.hypotheses, 1):
        print(f"  #{rank}: log p {hyp.log_prob:.3f}  score {hyp.score:.3f}  {' '.join(hyp.tokens)}")


def _print_whatif(result: DecodeResult) -> None:
    edits = [describe_intervention(x, result.source_tokens) for x in result.interventions]
    if result.score_temperature != 1.0:
        edits.append(f"score temperature {result.score_temperature:g}")
    if edits:
        print(f"what-if: {'; '.join(edits)}")
    for row in result.perturbations:
        change = f"changes {', '.join(map(str, row.changed_positions))}" if row.changed_positions else ""
        lost = f"loses {', '.join(map(str, row.lost_positions))}" if row.lost_positions else ""
        action = f"→ {row.replacement!r}" if row.replacement else "dropped"
        print(f"  {row.word!r} {action}: {row.text}  ({'; '.join(filter(None, (change, lost))) or 'no change'})")


def _fail(message: str) -> int:
    print(f"error: {printable_message(message)}", file=sys.stderr)
    return 2
