"""`python main.py inspect`: decode one sentence headless, print what the model attended to, export it.

    python main.py inspect --source "turn off the lights"
    python main.py inspect --source "turn off the lights" --beam 4 --out lights.json
    python main.py inspect --source "turn off the lights" --target "लाइट बंद करो" --out lights.csv
    python main.py inspect --source "turn off the lights" --mask-source 1 --pin 2:3 --out what_if.json
    python main.py inspect --source "turn off the lights" --perturb --out perturbed.json
    python main.py inspect --model en_hi_transformer.safetensors --source "turn off the lights" --layer 0 --head 2

Exit status 0 on success; 2 with one line on stderr for a bad model, input or option.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, NoReturn

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
from engine.word_view import word_level
from models.checkpoint import CheckpointError, describe

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "resources" / "models" / "en_hi_bahdanau.safetensors"
IMAGE_FORMATS = (".png", ".svg")


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
    _add_head_args(p)
    _add_whatif_args(p)
    p.add_argument(
        "--out", type=Path, help=f"write the result; the suffix picks the format: {', '.join(FORMATS + IMAGE_FORMATS)}"
    )
    return p


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


def main(argv: list[str]) -> int:
    try:
        args = parser().parse_args(argv)
        return _run(args)
    except UsageError as exc:
        return _fail(str(exc))
    except (CheckpointError, InputError, ValueError, OSError) as exc:
        return _fail(str(exc))


def _run(args: argparse.Namespace) -> int:
    _check_args(args)
    session = _open(args.model, args.device, args.max_source_tokens)
    result = session.run(_request(args))
    for note in session.messages + result.messages:
        print(f"note: {note}", file=sys.stderr)
    _print_result(result)
    extra = _print_words(result) if args.words else {}
    if args.out is not None:
        _export(result, args.out, {"path": str(args.model), **describe(session.checkpoint)}, extra)
        print(f"wrote {args.out}")
    return 0


def _check_args(args: argparse.Namespace) -> None:
    if args.beam is not None and args.beam < 1:
        raise UsageError(f"--beam must be at least 1, got {args.beam}")
    if args.max_source_tokens < 1:
        raise UsageError(f"--max-source-tokens must be at least 1, got {args.max_source_tokens}")
    if args.perturb_with is not None and not args.perturb:
        raise UsageError("--perturb-with needs --perturb")
    known = FORMATS + IMAGE_FORMATS
    if args.out is not None and args.out.suffix.lower() not in known:
        raise UsageError(f"--out: unknown format {args.out.suffix or '(no suffix)'!r}; use one of {', '.join(known)}")


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
        "layer": args.layer,
        "head": args.head,
        "self_attention": args.self_attention,
    }
    if args.target is not None:
        return DecodeRequest(strategy="forced", target=args.target, **common)
    if args.beam is not None:
        return DecodeRequest(strategy="beam", beam_width=args.beam, length_penalty=args.length_penalty, **common)
    if args.sample:
        return DecodeRequest(strategy="sample", temperature=args.temperature, seed=args.seed, **common)
    return DecodeRequest(strategy="greedy", **common)


def _print_words(result: DecodeResult) -> dict[str, Any]:
    view = word_level(result.source_tokens, result.output_tokens, result.alpha)
    print(f"{view.note}:")
    for word, row in zip(view.output_words, view.alpha, strict=True):
        j = int(row.argmax())
        print(f"     {word:<16} attends to {view.source_words[j]!r} ({row[j]:.2f})")
    words = {"note": view.note, "source_words": list(view.source_words), "output_words": list(view.output_words)}
    return {"word_level": {**words, "alpha": view.alpha.tolist()}}


def _export(result: DecodeResult, out: Path, model: dict[str, Any], extra: dict[str, Any]) -> None:
    if out.suffix.lower() in IMAGE_FORMATS:
        try:
            from gui.export.render import render_result  # Qt only for image output, and only here
        except ImportError as exc:
            raise UsageError(f"image export needs the GUI renderer, which cannot be loaded ({exc})") from exc
        render_result(result, out)
    else:
        export_result(result, out, model, extra)


def _print_result(result: DecodeResult) -> None:
    print(f"source: {' '.join(result.source_tokens)}")
    print(f"output: {result.text}")
    if result.heads is not None:
        print(f"attention shown: {result.heads.view}")
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
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    return 2
