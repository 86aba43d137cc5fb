"""`python main.py inspect`: decode one sentence headless, print what the model attended to, export it.

    python main.py inspect --source "turn off the lights"
    python main.py inspect --source "turn off the lights" --beam 4 --out lights.json
    python main.py inspect --source "turn off the lights" --target "लाइट बंद करो" --out lights.csv
    python main.py inspect --source "turn off the lights" --mask-source 1 --pin 2:3 --out what_if.json
    python main.py inspect --source "turn off the lights" --perturb --out perturbed.json

Exit status 0 on success; 2 with one line on stderr for a bad model, input or option.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from engine.decoding.inputs import MAX_SOURCE_TOKENS, InputError
from engine.decoding.session import InferenceSession
from engine.export import FORMATS, export_result
from engine.records import DecodeResult
from engine.requests import DecodeRequest, EditRow, Intervention, MaskSource, PinStep, describe_intervention
from models import CheckpointError, describe, printable_message

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "en_hi_bahdanau.safetensors"
IMAGE_FORMATS = (".png", ".svg", ".gif", ".mp4")
ANIMATIONS = (".gif", ".mp4")
# (result, path, model description, with the anatomy of each step): the window's heatmap renderer
ImageWriter = Callable[[DecodeResult, Path, Mapping[str, Any], bool], None]


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
    p.add_argument("--source", required=True, help="the sentence to translate")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--target", help="score this reference instead of decoding (forced decoding)")
    mode.add_argument("--beam", type=int, metavar="K", help="beam search with width K")
    mode.add_argument("--sample", action="store_true", help="sample instead of taking the most likely token")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (with --sample)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (with --sample)")
    p.add_argument("--length-penalty", type=float, default=1.0, help="beam score = log p / length^penalty")
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
    _add_whatif_args(p)
    p.add_argument(
        "--out", type=Path, help=f"write the result; the suffix picks the format: {', '.join(FORMATS + IMAGE_FORMATS)}"
    )
    p.add_argument(
        "--anatomy", action="store_true", help="with --out .gif/.mp4: show the anatomy of each step beside the heatmap"
    )
    return p


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
    return (*(MaskSource(j) for j in args.mask_source), *args.pin, *args.edit_row)


def main(argv: list[str], render: ImageWriter | None = None) -> int:
    """`render` writes a result as an image (main.py passes the window's renderer); None: data outputs only."""
    try:
        args = parser().parse_args(argv)
        return _run(args, render)
    except UsageError as exc:
        return _fail(str(exc))
    except (CheckpointError, InputError, ValueError, OSError) as exc:
        return _fail(str(exc))


def _run(args: argparse.Namespace, render: ImageWriter | None) -> int:
    _check_args(args, render)
    session = _open(args.model, args.device, args.max_source_tokens)
    model = {"path": str(args.model), **describe(session.checkpoint)}
    if args.anatomy and model["query"] == "none":
        raise UsageError("--anatomy: this model has no attention, so a step has no anatomy to show")
    result = session.run(_request(args))
    for note in session.messages + result.messages:
        print(f"note: {note}", file=sys.stderr)
    _print_result(result)
    if args.out is not None:
        _export(result, args.out, model, render, args.anatomy)
        print(f"wrote {args.out}")
    return 0


def _check_args(args: argparse.Namespace, render: ImageWriter | None) -> None:
    if args.beam is not None and args.beam < 1:
        raise UsageError(f"--beam must be at least 1, got {args.beam}")
    if args.max_source_tokens < 1:
        raise UsageError(f"--max-source-tokens must be at least 1, got {args.max_source_tokens}")
    if args.perturb_with is not None and not args.perturb:
        raise UsageError("--perturb-with needs --perturb")
    known = FORMATS + IMAGE_FORMATS
    if args.out is not None and args.out.suffix.lower() not in known:
        raise UsageError(f"--out: unknown format {args.out.suffix or '(no suffix)'!r}; use one of {', '.join(known)}")
    if args.anatomy and (args.out is None or args.out.suffix.lower() not in ANIMATIONS):
        raise UsageError("--anatomy needs --out with .gif or .mp4")
    if args.out is not None and args.out.suffix.lower() in IMAGE_FORMATS and render is None:
        raise UsageError(
            f"--out {args.out.suffix}: image output needs the app's renderer (run `python main.py inspect`)"
        )


def _open(model: Path, device: str, max_source_tokens: int) -> InferenceSession:
    if model == DEFAULT_MODEL and not model.exists():
        raise UsageError(f"the shipped model is missing ({model}); pass --model PATH")
    return InferenceSession.open(model, device, max_source_tokens=max_source_tokens)


def _request(args: argparse.Namespace) -> DecodeRequest:
    common: dict[str, Any] = {
        "request_id": 1,
        "source": args.source,
        "max_len": args.max_len,
        "top_k": args.top_k,
        "interventions": _interventions(args),
        "score_temperature": args.temperature_scores,
        "perturb": ("replace" if args.perturb_with is not None else "drop") if args.perturb else "",
        "perturb_with": args.perturb_with or "",
    }
    if args.target is not None:
        return DecodeRequest(strategy="forced", target=args.target, **common)
    if args.beam is not None:
        return DecodeRequest(strategy="beam", beam_width=args.beam, length_penalty=args.length_penalty, **common)
    if args.sample:
        return DecodeRequest(strategy="sample", temperature=args.temperature, seed=args.seed, **common)
    return DecodeRequest(strategy="greedy", **common)


def _export(
    result: DecodeResult, out: Path, model: dict[str, Any], render: ImageWriter | None, anatomy: bool = False
) -> None:
    if out.suffix.lower() not in IMAGE_FORMATS:
        export_result(result, out, model)
        return
    assert render is not None  # _check_args refused an image without a renderer
    try:
        render(result, out, model, anatomy)
    except ImportError as exc:  # Qt missing or broken: the data formats still work
        raise UsageError(f"image export needs Qt, which cannot be loaded ({exc})") from exc


def _print_result(result: DecodeResult) -> None:
    print(f"source: {' '.join(result.source_tokens)}")
    print(f"output: {result.text}")
    for i, (token, prob) in enumerate(zip(result.output_tokens, result.token_probs.tolist(), strict=True)):
        row = result.alpha[i]
        j = int(row.argmax())
        print(f"{i:3d}  {token:<16} p={prob:.3f}  attends to {result.source_tokens[j]!r} ({row[j]:.2f})")
    for rank, hyp in enumerate(result.hypotheses[1:], 2):
        print(f"beam #{rank}: score {hyp.score:.3f}  {' '.join(hyp.tokens)}")
    _print_whatif(result)


def _print_whatif(result: DecodeResult) -> None:
    edits = [describe_intervention(x, result.source_tokens) for x in result.interventions]
    if result.score_temperature != 1.0:
        edits.append(f"score temperature {result.score_temperature:g}")
    if edits:
        print(f"what-if: {'; '.join(edits)}")
    for row in result.perturbations:
        change = f"changes {', '.join(map(str, row.changed_positions))}" if row.changed_positions else "no change"
        action = f"→ {row.replacement!r}" if row.replacement else "dropped"
        print(f"  {row.word!r} {action}: {row.text}  ({change})")


def _fail(message: str) -> int:
    print(f"error: {printable_message(message)}", file=sys.stderr)
    return 2
