"""Write the README's parity summary from ``parity_tests/report.md`` (``make parity`` runs this).

The README's "Parity with Keras 3" section holds the block between ``<!-- parity-summary -->``
and ``<!-- /parity-summary -->``; this replaces it with: what was compared (the report's first
sentence), its "not run" notes (if any), how many families of checks pass, and a few headline
rows of the report's summary table (:data:`HEADLINE`). Everything else stays on the report page.
"""
import re
import sys
from pathlib import Path

from numpy_nn.io_utils import atomic_write

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- parity-summary -->", "<!-- /parity-summary -->"

#: The summary rows the README shows (a component family missing from a report is skipped).
HEADLINE = ("forward", "gradient", "optimizer", "batchnorm", "trajectory float32 loss",
            "trajectory float64 loss (shallow, SGD)", "trajectory float64 loss (deep SELU)")


def summary_rows(report):
    """``[(component, tolerance, worst, checks, result)]`` of the report's summary table."""
    table = report.split("## Summary\n\n", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5:
            rows.append(tuple(cells))
    return rows


def summary_block(report):
    paragraphs = report.split("\n\n")
    header = paragraphs[1].strip().split(". ")[0] + "."
    notes = [p.strip() for p in paragraphs if p.startswith("**Not run")]
    rows = summary_rows(report)
    failing = [row[0] for row in rows if row[4] != "pass"]
    verdict = (f"All {len(rows)} families of checks pass." if not failing else
               f"{len(failing)} of {len(rows)} families of checks fail: {', '.join(failing)}.")
    lines = ["| component | tolerance | worst error seen | checks | result |",
             "|---|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows if row[0] in HEADLINE]
    extra = [row for row in rows if row[0].startswith(("Keras's own unit-test cases",
                                                       "Keras side built"))]
    sentences = [f"{row[0].split(' (')[0]}: {row[2]}." for row in extra]
    link = ("Every component, tolerance and note is in "
            "[the parity report](docs/reports/parity.md).")
    return "\n\n".join([header] + notes + [verdict + " " + " ".join(sentences),
                                           "\n".join(lines), link])


def main(report_path=ROOT / "parity_tests" / "report.md", readme_path=ROOT / "README.md"):
    report = Path(report_path).read_text(encoding="utf-8")
    readme = Path(readme_path).read_text(encoding="utf-8")
    if START not in readme or END not in readme:
        sys.exit(f"{readme_path}: no {START} ... {END} block to update")
    block = f"{START}\n{summary_block(report)}\n{END}"
    updated = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: block, readme,
                     flags=re.S)
    with atomic_write(readme_path, "w") as handle:
        handle.write(updated)
    print(f"updated the parity summary in {readme_path}")


if __name__ == "__main__":
    main()
