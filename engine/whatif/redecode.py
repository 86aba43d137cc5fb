"""Re-decoding a finished decode under what-if edits: the request options that keep its unedited steps."""

from __future__ import annotations

from collections.abc import Sequence

from engine.records import DecodeResult
from engine.requests import DecodeOptions, Intervention, first_edited_step


def whatif_options(
    original: DecodeResult, interventions: Sequence[Intervention], score_temperature: float = 1.0
) -> DecodeOptions:
    """DecodeRequest options re-decoding `original` under the edits: its tokens forced before the first
    edited step (so those steps are unchanged), greedy after."""
    first = first_edited_step(interventions, score_temperature)
    prefix = original.output_tokens[: first or 0]
    default_len = 2 * len(original.source_tokens) + 10  # engine.decoding.inputs' default: keep the same cap
    return {
        "strategy": "greedy",
        "prefix": tuple(prefix),
        "interventions": tuple(interventions),
        "score_temperature": float(score_temperature),
        "max_len": 0 if len(prefix) < default_len else len(prefix) + 10,
        "top_k": max(1, len(original.topk[0])) if original.topk else 5,
    }
