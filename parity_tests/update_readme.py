"""Copy the summary of ``parity_tests/report.md`` into README.md (``make parity`` runs this).

The README's "Parity with Keras 3" section holds the block between the markers
``<!-- parity-summary -->`` and ``<!-- /parity-summary -->``; this replaces it with the report's
header line, its "not run" notes (if any) and its summary table.
"""
import re
import sys
from pathlib import Path

from numpy_nn.io_utils import atomic_write

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- parity-summary -->", "<!-- /parity-summary -->"


def summary_block(report):
    paragraphs = report.split("\n\n")
    header = paragraphs[1].strip()
    notes = [p.strip() for p in paragraphs if p.startswith("**Not run")]
    summary = report.split("## Summary\n\n", 1)[1].split("\n\n## ", 1)[0].strip()
    return "\n\n".join([header] + notes + [summary])


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
