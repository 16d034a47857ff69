"""One line per `qa eval --json` summary on stdin: the suite, its figures and the gate's verdict.
Used by scripts/eval.sh so that CI logs show totals, never a set's individual failures."""

from __future__ import annotations

import json
import sys

FIGURES = (
    "answer_accuracy",
    "citation_precision",
    "citation_recall",
    "refusal_accuracy",
    "false_refusals",
    "false_refusal_rate",
)


def main() -> int:
    for line in sys.stdin:
        if not line.lstrip().startswith("{"):
            continue
        summary = json.loads(line)
        if "error" in summary:
            error = summary["error"]
            print(f"eval: error: {error['message']} {error.get('hint') or ''}".rstrip())
            continue
        figures = ", ".join(f"{name} {summary[name]}" for name in FIGURES)
        failures = summary["gate_failures"]
        verdict = "pass" if not failures else "FAIL: " + "; ".join(failures)
        print(f"eval {summary['suite']} ({summary['questions']} questions): {figures} -> {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
