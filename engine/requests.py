"""What a user asks the engine to decode: the DecodeRequest and its what-if interventions on attention.

Torch-free, so the GUI can build them; engine/whatif/alpha_edits.py turns the interventions into the model's AlphaEdit
hook, which replaces α before c_i = Σ_j α_ij h_j is formed.  Per step the edits apply in this order:
score temperature (α = softmax(e / τ)), then masked source words (their weights 0, the rest
renormalised), then the step's explicit row (PinStep / EditRow: an explicit row wins; the last one
for a step counts).

On a transformer these edits act on the cross-attention heads the selected view shows (every head of
the view's layer, or its one head); EditHead zeroes or pins one head's row, or a whole layer's, from a
step on, after them.

A what-if re-decode (engine/whatif/redecode.py) forces the original output before the first edited step, so
those steps are unchanged, and continues greedily from there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from models import shown_token, shown_value


@dataclass(frozen=True)
class MaskSource:
    """Zero source word `position` at every step; the other weights are renormalised."""

    position: int


@dataclass(frozen=True)
class PinStep:
    """Put all of step `step`'s attention on source word `position` (a one-hot row)."""

    step: int
    position: int


@dataclass(frozen=True)
class EditRow:
    """Explicit weights for step `step`'s row, one per source word; scaled to sum to 1."""

    step: int
    weights: tuple[float, ...]


@dataclass(frozen=True)
class EditHead:
    """Transformers: from step `step` on, zero (`mode` "zero") or pin on source word `position` ("pin") the
    cross-attention row of decoder layer `layer`'s head `head` (None: every head of that layer)."""

    layer: int
    head: int | None
    mode: str
    position: int = 0
    step: int = 0


HEAD_EDIT_MODES = ("zero", "pin")

Intervention = MaskSource | PinStep | EditRow | EditHead


class InputError(ValueError):
    """A request that cannot be decoded; the message is written for the user."""


STRATEGIES = ("greedy", "beam", "forced", "sample")
NEEDS_ATTENTION = (
    "What-if edits change the attention weights α, and this model has no attention (one fixed vector for every "
    "step): there is nothing to edit."
)
PERTURB_MODES = ("", "drop", "replace")


@dataclass(frozen=True)
class DecodeRequest:
    """One decode the user asked for; `request_id` ties every record back to it."""

    request_id: int
    source: str
    strategy: str = "greedy"
    target: str = ""  # the reference for forced decoding
    beam_width: int = 4
    length_penalty: float = 1.0  # beam score = log p / len^penalty
    temperature: float = 1.0
    seed: int = 0
    max_len: int = 0  # 0: derived from the source length
    top_k: int = 5
    # What-if tools (above): edits applied to α before each c_i is formed.
    interventions: tuple[Intervention, ...] = ()
    score_temperature: float = 1.0  # α = softmax(e / τ); not the sampling temperature
    prefix: tuple[str, ...] = ()  # greedy only: output tokens forced before greedy takes over
    perturb: str = ""  # "drop" / "replace": also decode once per source word dropped / replaced
    perturb_with: str = ""  # the replacement word for perturb="replace"
    # Transformers: which cross-attention the records' alpha / scores show (None: the last layer; the mean
    # over its heads), and whether to record the decoder's self-attention too.
    layer: int | None = None
    head: int | None = None
    self_attention: bool = False


class DecodeOptions(TypedDict, total=False):
    """DecodeRequest's fields other than its id and source: what a caller passes to submit() (checked by mypy)."""

    strategy: str
    target: str
    beam_width: int
    length_penalty: float
    temperature: float
    seed: int
    max_len: int
    top_k: int
    interventions: tuple[Intervention, ...]
    score_temperature: float
    prefix: tuple[str, ...]
    perturb: str
    perturb_with: str
    layer: int | None
    head: int | None
    self_attention: bool


def first_edited_step(interventions: Iterable[Intervention], score_temperature: float = 1.0) -> int | None:
    """The earliest step an edit can change (None: nothing is edited)."""
    steps = [0 if isinstance(x, MaskSource) else x.step for x in interventions]  # EditHead: from its step
    if score_temperature != 1.0:
        steps.append(0)
    return min(steps, default=None)


def masked_positions(interventions: Iterable[Intervention]) -> tuple[int, ...]:
    return tuple(sorted({x.position for x in interventions if isinstance(x, MaskSource)}))


def step_rows(interventions: Iterable[Intervention], width: int) -> dict[int, tuple[float, ...]]:
    """Per step, the explicit α row it is given (normalised); later interventions win."""
    rows: dict[int, tuple[float, ...]] = {}
    for x in interventions:
        if isinstance(x, PinStep):
            rows[x.step] = tuple(1.0 if j == x.position else 0.0 for j in range(width))
        elif isinstance(x, EditRow):
            total = math.fsum(x.weights)
            rows[x.step] = tuple(w / total for w in x.weights)
    return rows


def problems(interventions: Sequence[Intervention], width: int, score_temperature: float) -> list[str]:
    """What is wrong with these edits for a source of `width` tokens, in words (empty: fine)."""
    found: list[str] = []
    if not _is_number(score_temperature) or score_temperature <= 0:
        found.append(f"Score temperature must be a number > 0, got {shown_value(score_temperature)}.")
    for x in interventions:
        found.extend(_problems_of(x, width))
    if interventions and width and len(masked_positions(interventions)) >= width:
        found.append("Every source word is masked: nothing would be left to attend to.")
    return found


def _problems_of(x: object, width: int) -> list[str]:
    if not isinstance(x, MaskSource | PinStep | EditRow | EditHead):
        return [f"Unknown intervention {shown_value(x)}."]
    if isinstance(x, EditHead):
        return _head_edit_problems(x, width)
    found = []
    if isinstance(x, PinStep | EditRow) and (not _is_int(x.step) or x.step < 0):
        found.append(f"Intervention step must be a whole number ≥ 0, got {shown_value(x.step)}.")
    if isinstance(x, MaskSource | PinStep) and (not _is_int(x.position) or not 0 <= x.position < width):
        found.append(f"Source position must be from 0 to {width - 1}, got {shown_value(x.position)}.")
    if isinstance(x, EditRow):
        weights = x.weights
        if len(weights) != width:
            found.append(f"An edited row needs {width} weights (one per source token), got {len(weights)}.")
        elif not all(_is_number(w) and w >= 0 for w in weights) or math.fsum(weights) <= 0:
            found.append("An edited row's weights must be numbers ≥ 0, not all 0.")
    return found


def _head_edit_problems(x: EditHead, width: int) -> list[str]:
    """Layer and head ranges depend on the model: engine/decoding/inputs.py checks those."""
    found = []
    if x.mode not in HEAD_EDIT_MODES:
        found.append(f"A head edit's mode must be 'zero' or 'pin', got {shown_value(x.mode)}.")
    if not _is_int(x.step) or x.step < 0:
        found.append(f"Intervention step must be a whole number ≥ 0, got {shown_value(x.step)}.")
    if x.mode == "pin" and (not _is_int(x.position) or not 0 <= x.position < width):
        found.append(f"Source position must be from 0 to {width - 1}, got {shown_value(x.position)}.")
    return found


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def reweighted_row(row: Sequence[float], position: int, value: float) -> tuple[float, ...]:
    """Set one weight (dragging a cell) and scale the others to fill the rest, so the row sums to 1."""
    value = min(max(float(value), 0.0), 1.0)
    others = math.fsum(w for j, w in enumerate(row) if j != position)
    count = len(row) - 1
    out = []
    for j, w in enumerate(row):
        if j == position:
            out.append(value)
        elif others > 0:
            out.append(w / others * (1.0 - value))
        else:  # all the mass was on `position`: share the rest evenly
            out.append((1.0 - value) / count)
    return tuple(out)


def describe_intervention(x: Intervention, source_tokens: Sequence[str] = ()) -> str:
    """One line for the user, e.g. 'zero "w2" everywhere'."""

    def word(j: int) -> str:
        return f'"{shown_token(source_tokens[j])}"' if 0 <= j < len(source_tokens) else f"word {j}"

    if isinstance(x, MaskSource):
        return f"zero {word(x.position)} everywhere"
    if isinstance(x, PinStep):
        return f"step {x.step}: all on {word(x.position)}"
    if isinstance(x, EditHead):
        heads = f"layer {x.layer}, every head" if x.head is None else f"layer {x.layer}, head {x.head}"
        action = "zeroed" if x.mode == "zero" else f"all on {word(x.position)}"
        return f"from step {x.step}: {heads} {action}"
    shown = ", ".join(f"{w:.2f}" for w in step_rows([x], len(x.weights))[x.step])
    return f"step {x.step}: row set to ({shown})"


def to_dict(x: Intervention) -> dict[str, Any]:
    """JSON-ready form, for exports."""
    if isinstance(x, MaskSource):
        return {"kind": "mask_source", "position": x.position}
    if isinstance(x, PinStep):
        return {"kind": "pin", "step": x.step, "position": x.position}
    if isinstance(x, EditHead):
        return {
            "kind": "head",
            "layer": x.layer,
            "head": x.head,
            "mode": x.mode,
            "position": x.position,
            "step": x.step,
        }
    return {"kind": "edit_row", "step": x.step, "weights": list(x.weights)}
