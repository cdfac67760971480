"""The run's CSV artifacts for the output prefix: the summary, per-column counts and the sample.

Rendered from the same rows written to metrics.*, so S3 and the store always agree.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

SUMMARY_FILE = "recon_summary.csv"
BY_COLUMN_FILE = "mismatch_by_column.csv"
SAMPLE_FILE = "mismatch_detail_sample.csv"


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def render(
    summary: Mapping[str, Any],
    by_column: Sequence[tuple[str, int]],
    samples: Sequence[tuple[str, str, Mapping[str, Any]]],
) -> dict[str, str]:
    """File name -> CSV text. ``samples`` are (key_text, mismatch_type, payload) as stored."""
    summary_cols = list(summary)
    return {
        SUMMARY_FILE: to_csv(summary_cols, [[_cell(summary[c]) for c in summary_cols]]),
        BY_COLUMN_FILE: to_csv(["column_name", "mismatch_count"], by_column),
        SAMPLE_FILE: to_csv(
            ["key_text", "mismatch_type", "payload"],
            [(key, kind, json.dumps(payload, sort_keys=True)) for key, kind, payload in samples],
        ),
    }


def _cell(value: Any) -> Any:
    return "|".join(value) if isinstance(value, (list, tuple)) else value
