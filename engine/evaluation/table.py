"""The evaluation report (engine.evaluation.quality.report_dict) as table rows and CSV.

No torch here, so the GUI can import it without loading the engine.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

CSV_COLUMNS = ("model", "range", "count", "bleu", "chrf", "exact_match", "aer", "entropy")


def report_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per model and bucket, then the model's overall ("all") row, in CSV_COLUMNS order."""
    rows = []
    for model in report.get("models", []):
        for scores in [*model.get("buckets", []), model.get("overall", {})]:
            rows.append({"model": model.get("model"), **{key: scores.get(key) for key in CSV_COLUMNS[1:]}})
    return rows


def report_csv(report: Mapping[str, Any]) -> str:
    """report_rows() as CSV with a header; null scores (empty buckets, no gold alignments) are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report_rows(report):
        writer.writerow(["" if row[key] is None else row[key] for key in CSV_COLUMNS])
    return out.getvalue()
