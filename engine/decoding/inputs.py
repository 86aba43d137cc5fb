"""Checking a DecodeRequest against a model and turning its text into ids, with notes for the user.

Policy for long sources: a source longer than MAX_SOURCE_CHARS characters is cut there before any other
work, and tokens beyond `max_source_tokens` are dropped; a message says so each time (the result's
`source_tokens` shows exactly what the model read), rather than refusing the request. A reference longer
than MAX_SOURCE_CHARS is refused. Text is read without terminal escape sequences, control characters as
spaces (models/hygiene.py); messages show user text cleaned, long tokens cut with their length.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import NamedTuple

from engine.requests import NEEDS_ATTENTION, PERTURB_MODES, STRATEGIES, DecodeRequest, EditHead, InputError, problems
from models import MAX_SOURCE_CHARS, UNK, Checkpoint, head_layout, shown_token, shown_value

__all__ = ["InputError", "PreparedRequest", "prepare_request"]

MAX_SOURCE_TOKENS = 1000  # a 500-word paragraph and more; the heatmap stays usable (labels thin, zoom)
MAX_OUTPUT_TOKENS = 1024  # hard cap on decoder steps, whatever max_len asks for
MAX_BEAM_WIDTH = 64
MAX_SHOWN_UNKNOWN = 10


class PreparedRequest(NamedTuple):  # made for every request: a named tuple costs a third of a frozen dataclass
    request: DecodeRequest
    source_tokens: tuple[str, ...]
    source_ids: tuple[int, ...]
    unknown_positions: tuple[int, ...]
    target_ids: tuple[int, ...]  # forced decoding's reference, without <eos>
    prefix_ids: tuple[int, ...]  # greedy: forced before greedy takes over
    max_len: int
    top_k: int
    messages: tuple[str, ...]


def prepare_request(
    request: DecodeRequest,
    ckpt: Checkpoint,
    max_source_tokens: int = MAX_SOURCE_TOKENS,
    max_output_tokens: int = MAX_OUTPUT_TOKENS,
    attention: bool = True,
) -> PreparedRequest:
    """Validate `request` and tokenise its text; raises InputError with a readable message.

    `attention` False: the model has none, so edits of α (and the score temperature) cannot apply.
    """
    if not attention and (request.interventions or request.score_temperature != 1.0):
        raise InputError(NEEDS_ATTENTION)
    messages: list[str] = []
    request = _cut_source(request, messages)
    _check_options(request)
    tokens = _source_tokens(request.source, ckpt, max_source_tokens, messages)
    unknown = tuple(ckpt.src_vocab.unknown(tokens))
    if unknown:
        messages.append(_unknown_note("source", [tokens[i] for i in unknown]))
    target_ids = _target_ids(request, ckpt, max_output_tokens, messages) if request.strategy == "forced" else ()
    _check_whatif(request, ckpt, len(tokens))
    _check_heads(request, head_layout(ckpt.config))
    return PreparedRequest(
        request=request,
        source_tokens=tuple(tokens),
        source_ids=tuple(ckpt.src_vocab.encode(tokens)),
        unknown_positions=unknown,
        target_ids=target_ids,
        prefix_ids=tuple(ckpt.tgt_vocab.encode(request.prefix)),
        max_len=_max_len(request, len(tokens), max_output_tokens, messages),
        top_k=min(request.top_k, len(ckpt.tgt_vocab)),
        messages=tuple(messages),
    )


def _cut_source(request: DecodeRequest, messages: list[str]) -> DecodeRequest:
    """A source over MAX_SOURCE_CHARS is cut there, before anything reads it; a reference that long is refused."""
    for name, text in (("reference", request.target), ("replacement word", request.perturb_with)):
        if isinstance(text, str) and len(text) > MAX_SOURCE_CHARS:
            raise InputError(f"The {name} has {len(text):,} characters, more than the limit of {MAX_SOURCE_CHARS:,}.")
    if not isinstance(request.source, str) or len(request.source) <= MAX_SOURCE_CHARS:
        return request
    messages.append(
        f"The source has {len(request.source):,} characters, more than the limit of {MAX_SOURCE_CHARS:,}: "
        f"only the first {MAX_SOURCE_CHARS:,} were read."
    )
    return replace(request, source=request.source[:MAX_SOURCE_CHARS])


def _check_options(request: DecodeRequest) -> None:
    if request.strategy not in STRATEGIES:
        raise InputError(
            f"Unknown decoding strategy {shown_value(request.strategy)}; choose one of {', '.join(STRATEGIES)}."
        )
    if not isinstance(request.source, str):
        raise InputError("The source must be text.")
    _check_encodable("source", request.source)
    _check_encodable("reference", request.target)
    if not _is_int(request.beam_width) or not 1 <= request.beam_width <= MAX_BEAM_WIDTH:
        raise InputError(
            f"Beam width must be a whole number from 1 to {MAX_BEAM_WIDTH}, got {shown_value(request.beam_width)}."
        )
    if not _is_number(request.length_penalty) or request.length_penalty < 0:
        raise InputError(f"Length penalty must be a number ≥ 0, got {shown_value(request.length_penalty)}.")
    if not _is_number(request.temperature) or request.temperature <= 0:
        raise InputError(f"Temperature must be a number > 0, got {shown_value(request.temperature)}.")
    if not _is_int(request.top_k) or request.top_k < 1:
        raise InputError(f"Top-k must be a whole number ≥ 1, got {shown_value(request.top_k)}.")
    if not _is_int(request.max_len) or request.max_len < 0:
        raise InputError(
            f"Maximum length must be a whole number ≥ 0 (0: automatic), got {shown_value(request.max_len)}."
        )
    if not _is_int(request.seed):
        raise InputError(f"Seed must be a whole number, got {shown_value(request.seed)}.")


def _check_encodable(name: str, text: object) -> None:
    """Lone surrogates (undecodable bytes on a command line) would break every export later: refuse them now."""
    if not isinstance(text, str):
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"The {name} holds a character that is not valid text (U+{ord(text[exc.start]):04X} at position "
            f"{exc.start}): was it written in another encoding than UTF-8?"
        ) from None


def _check_whatif(request: DecodeRequest, ckpt: Checkpoint, width: int) -> None:
    """Interventions, the output prefix and perturbation, once the source length is known."""
    found = problems(tuple(request.interventions), width, request.score_temperature)
    if request.prefix and request.strategy != "greedy":
        found.append("A forced output prefix works with greedy decoding only.")
    if request.perturb not in PERTURB_MODES:
        modes = ", ".join(repr(m) for m in PERTURB_MODES)
        found.append(f"Perturbation must be one of {modes}, got {shown_value(request.perturb)}.")
    elif request.perturb and (request.interventions or request.prefix):  # positions shift once a word goes
        found.append("Perturbation compares plain decodes: it cannot be combined with attention edits.")
    elif request.perturb == "replace" and len(ckpt.src_tokenizer.tokenize(request.perturb_with)) != 1:
        found.append(f"The replacement must be exactly one source token, got {shown_value(request.perturb_with)}.")
    if found:
        raise InputError(" ".join(found))


def _check_heads(request: DecodeRequest, layout: tuple[int, int, int] | None) -> None:
    """The attention view and head edits against the model's decoder layers and heads."""
    edits = [x for x in request.interventions if isinstance(x, EditHead)]
    wanted = request.layer is not None or request.head is not None or request.self_attention or edits
    if layout is None:
        if wanted:
            raise InputError("Layers, heads and self-attention are a transformer's: this model has one attention.")
        return
    layers, heads, _ = layout
    found = [_range_problem("Layer", request.layer, layers), _range_problem("Head", request.head, heads)]
    for x in edits:
        found += [
            _range_problem("A head edit's layer", -1 if x.layer is None else x.layer, layers),
            _range_problem("A head edit's head", x.head, heads),
        ]
    found = [f for f in found if f]
    if found:
        raise InputError(" ".join(found))


def _range_problem(name: str, value: object, count: int) -> str:
    if value is None or (_is_int(value) and 0 <= value < count):  # type: ignore[operator]
        return ""
    return f"{name} must be from 0 to {count - 1} (or left out), got {value!r}."


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _source_tokens(source: str, ckpt: Checkpoint, limit: int, messages: list[str]) -> list[str]:
    tokens = ckpt.src_tokenizer.tokenize(source)
    if not tokens:
        raise InputError("The source is empty: type a sentence to translate.")
    if len(tokens) > limit:
        messages.append(
            f"The source has {len(tokens):,} tokens, more than the limit of {limit:,} (--max-source-tokens): "
            f"only the first {limit:,} were used."
        )
        tokens = tokens[:limit]
    return tokens


def _target_ids(
    request: DecodeRequest, ckpt: Checkpoint, max_output_tokens: int, messages: list[str]
) -> tuple[int, ...]:
    tokens = ckpt.tgt_tokenizer.tokenize(request.target)
    if not tokens:
        raise InputError("Forced decoding needs a target sentence to score.")
    if len(tokens) + 1 > max_output_tokens:
        raise InputError(
            f"The target has {len(tokens)} tokens; forced decoding handles at most {max_output_tokens - 1}."
        )
    unknown = ckpt.tgt_vocab.unknown(tokens)
    if unknown:
        messages.append(_unknown_note("target", [tokens[i] for i in unknown]))
    return tuple(ckpt.tgt_vocab.encode(tokens))


def _max_len(request: DecodeRequest, src_len: int, cap: int, messages: list[str]) -> int:
    wanted = request.max_len or 2 * src_len + 10
    # Said only of a length the user asked for: "auto" for a long source, or forced decoding (the reference sets
    # its length), is no request to go past the cap.
    if wanted > cap and request.max_len and request.strategy != "forced":
        messages.append(f"Maximum length {wanted} is above the limit; decoding stops after {cap} tokens.")
    return min(wanted, cap)


def _unknown_note(side: str, words: list[str]) -> str:
    shown = ", ".join(shown_token(w) for w in dict.fromkeys(words[:MAX_SHOWN_UNKNOWN]))
    more = f" and {len(words) - MAX_SHOWN_UNKNOWN} more" if len(words) > MAX_SHOWN_UNKNOWN else ""
    return f"Not in the {side} vocabulary (read as {UNK}): {shown}{more}."
