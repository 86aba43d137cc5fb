"""The evaluation report: its JSON shape (what `main.py evaluate` writes and the window shows), table rows, CSV.

No torch here, so the GUI can import it without loading the engine.
"""

from __future__ import annotations

import csv
import io
from typing import TypedDict

CSV_COLUMNS = ("model", "range", "count", "bleu", "chrf", "exact_match", "aer", "entropy")


class BucketScores(TypedDict):
    """One source-length bucket (or "all"); a score is None where the bucket is empty or the data has no gold."""

    range: str
    count: int
    bleu: float | None
    chrf: float | None
    exact_match: float | None
    aer: float | None
    entropy: float | None


class ModelScores(TypedDict):
    model: str
    buckets: list[BucketScores]
    overall: BucketScores


class EvaluationReport(TypedDict, total=False):
    models: list[ModelScores]
    data: str  # the test file
    notes: dict[str, str]  # how each number was made


def report_rows(report: EvaluationReport) -> list[dict[str, object]]:
    """One row per model and bucket, then the model's overall ("all") row, keyed by CSV_COLUMNS."""
    return [
        {"model": model["model"], **scores}
        for model in report.get("models", [])
        for scores in [*model["buckets"], model["overall"]]
    ]


def report_csv(report: EvaluationReport) -> str:
    """report_rows() as CSV with a header; null scores (empty buckets, no gold alignments) are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report_rows(report):
        writer.writerow(["" if row[key] is None else row[key] for key in CSV_COLUMNS])
    return out.getvalue()
