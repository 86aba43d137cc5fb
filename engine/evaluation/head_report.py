"""The head ranking report: its JSON shape (what `main.py evaluate --heads` writes and the window shows), table rows.

No torch here, so the GUI can import it without loading the engine.
"""

from __future__ import annotations

from typing import TypedDict

HEAD_KINDS = ("head", "layer", "all")  # one head | the mean of a layer's heads | the mean of every head


class HeadScore(TypedDict):
    """One head (kind "head"), one layer's mean of heads ("layer", head None) or the mean of all ("all")."""

    kind: str
    layer: int | None  # decoder layer from 0 (as `inspect --layer`); None for "all"
    head: int | None  # head from 0 (as `inspect --head`); None for the means
    label: str  # e.g. "layer 1 head 2", "mean of layer 1", "mean of all"
    rank: int  # 1: the lowest AER; the means are ranked with the heads
    aer: float | None  # None: no sentence could be scored
    sink_share: float  # mean α on the end token and punctuation over every step
    sink: bool  # sink_share above the sink threshold


class HeadRankingReport(TypedDict):
    model: str
    data: str  # the test file
    layers: int
    heads: int  # per layer
    rule: str  # how a head's α becomes word links, and the AER
    sink_rule: str  # when a head is flagged as an attention sink
    sentences: int  # sentences scored
    skipped: int  # sentences without gold links, or whose tokens do not line up with their words
    ranking: list[HeadScore]  # every head and mean, best (lowest AER) first
    best: HeadScore | None  # the single head with the lowest AER
    sinks: list[str]  # the labels of the heads flagged as sinks


def head_label(kind: str, layer: int | None, head: int | None) -> str:
    if kind == "head":
        return f"layer {layer} head {head}"
    return f"mean of layer {layer}" if kind == "layer" else "mean of all"


def format_head_table(report: HeadRankingReport) -> str:
    """Plain-text ranking for the terminal, the rule under it."""
    lines = [f"{'rank':>4}  {'head':<18} {'AER':>6} {'sink α':>7}  sink"]
    for row in report["ranking"]:
        aer = "-" if row["aer"] is None else f"{row['aer']:.3f}"
        flag = "yes" if row["sink"] else ""
        lines.append(f"{row['rank']:>4}  {row['label']:<18} {aer:>6} {row['sink_share']:>7.3f}  {flag}")
    best = report["best"]
    lines.append(f"best head: {best['label']} (AER {best['aer']:.3f})" if best and best["aer"] is not None else "")
    lines.append(f"{report['sentences']} sentences scored, {report['skipped']} skipped; {report['rule']}")
    return "\n".join(line for line in lines if line)
