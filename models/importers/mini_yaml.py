"""A small, safe reader for the YAML subset toolkit configs use (JoeyNMT's config.yaml).

attnscope does not depend on PyYAML, so this covers what such files hold: nested block mappings,
block lists ("- item"), flow lists ("[a, b]"), plain and quoted scalars, comments. Anything else
(anchors, tags, multi-line strings, flow mappings with content) raises YamlError rather than
being guessed at. Scalars resolve as PyYAML's YAML 1.1 rules do for these files: null/~, booleans
(true/false/yes/no/on/off), integers, floats with a dot, else strings.
"""

from __future__ import annotations

import re
from typing import Any

_INT = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_FLOAT = re.compile(r"[-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?$")
_BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class YamlError(ValueError):
    """The text is not in the YAML subset this reader understands."""


def loads(text: str) -> Any:
    lines = [(n, _strip_comment(raw)) for n, raw in enumerate(text.splitlines(), 1)]
    if any("\t" in s[: len(s) - len(s.lstrip())] for _, s in lines):
        raise YamlError("tabs in indentation")
    rows = [(n, len(s) - len(s.lstrip(" ")), s.strip()) for n, s in lines if s.strip() and s.strip() != "---"]
    if not rows:
        return None
    value, end = _block(rows, 0, rows[0][1])
    if end != len(rows):
        raise YamlError(f"line {rows[end][0]}: unexpected indentation")
    return value


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _block(rows: list[tuple[int, int, str]], i: int, indent: int) -> tuple[Any, int]:
    if rows[i][2].startswith("- ") or rows[i][2] == "-":
        return _list(rows, i, indent)
    return _mapping(rows, i, indent)


def _list(rows: list[tuple[int, int, str]], i: int, indent: int) -> tuple[list[Any], int]:
    items: list[Any] = []
    while i < len(rows) and rows[i][1] == indent and (rows[i][2].startswith("- ") or rows[i][2] == "-"):
        item = rows[i][2][1:].strip()
        if not item:
            raise YamlError(f"line {rows[i][0]}: nested blocks inside lists are not supported")
        if re.match(r"[^'\"\[{]*:( |$)", item):
            raise YamlError(f"line {rows[i][0]}: mappings inside lists are not supported")
        items.append(_scalar(item, rows[i][0]))
        i += 1
    return items, i


def _mapping(rows: list[tuple[int, int, str]], i: int, indent: int) -> tuple[dict[str, Any], int]:
    out: dict[str, Any] = {}
    while i < len(rows) and rows[i][1] == indent:
        n, _, s = rows[i]
        match = re.match(r"""("[^"]*"|'[^']*'|[^'"\s][^:]*?)\s*:(?:\s+(.*))?$""", s)
        if not match:
            raise YamlError(f"line {n}: expected 'key: value'")
        key, rest = match.group(1).strip("'\""), match.group(2)
        i += 1
        if rest:
            out[key] = _scalar(rest, n)
        elif i < len(rows) and (rows[i][1] > indent or (rows[i][1] == indent and rows[i][2].startswith("-"))):
            out[key], i = _block(rows, i, rows[i][1])
        else:
            out[key] = None
    if i < len(rows) and rows[i][1] > indent:
        raise YamlError(f"line {rows[i][0]}: unexpected indentation")
    return out, i


def _scalar(text: str, line: int) -> Any:
    text = text.strip()
    if text[:1] in "&*!|>{" and text != "{}":
        raise YamlError(f"line {line}: {text[:1]!r} (anchors, tags, block strings, flow mappings) is not supported")
    if text == "{}":
        return {}
    if text.startswith("["):
        if not text.endswith("]"):
            raise YamlError(f"line {line}: flow lists must close on the same line")
        inner = text[1:-1].strip()
        return [_scalar(part, line) for part in _split_flow(inner)] if inner else []
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace("''", "'") if text[0] == "'" else _unescape(text[1:-1])
    return _plain(text)


def _split_flow(inner: str) -> list[str]:
    parts, quote, start = [], "", 0
    for i, ch in enumerate(inner):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[]{}":
            raise YamlError("nested flow collections are not supported")
        elif ch == ",":
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return [p.strip() for p in parts]


def _unescape(s: str) -> str:
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")


def _plain(text: str) -> Any:
    low = text.lower()
    if low in ("null", "~"):
        return None
    if low in _BOOLS:
        return _BOOLS[low]
    if _INT.match(text):
        return int(text.replace("_", ""))
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        return float(text.replace("_", ""))
    if low in (".inf", "+.inf", "-.inf", ".nan"):
        return float(low.replace(".", ""))
    return text
