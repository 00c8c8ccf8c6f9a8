"""README.md is a front page: small, narrow, and every result in it written by the generator
that measured it (a hand edit, or a generator changed without rewriting the README, fails)."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(text, start, end):
    return text.split(start, 1)[1].split(end, 1)[0].strip()


def test_the_front_page_is_at_most_12_kb():
    assert len(README.encode("utf-8")) <= 12 * 1024


def test_no_table_is_wider_than_six_columns():
    for line in README.splitlines():
        if line.startswith("|"):
            assert line.strip().strip("|").count("|") + 1 <= 6, line


def test_the_parity_summary_is_the_generators():
    from parity_tests import update_readme
    report = (ROOT / "parity_tests" / "report.md").read_text(encoding="utf-8")
    assert block(README, update_readme.START, update_readme.END) == \
        update_readme.summary_block(report).strip()


def test_the_benchmark_summaries_are_the_generators():
    from benchmarks import report
    results = json.loads((ROOT / "benchmarks" / "results" / "benchmarks.json").read_text())
    assert block(README, report.FRONT_START, report.FRONT_END) == \
        block(report.front_page_section(results), report.FRONT_START, report.FRONT_END)
    summary = (ROOT / "benchmarks" / "results" / "summary.md").read_text(encoding="utf-8")
    assert block(summary, report.START, report.END) == \
        block(report.readme_section(results), report.START, report.END)


def test_the_reproduction_summary_is_the_generators(tmp_path, monkeypatch):
    """The full table rebuilt from the committed records gives the same rows, sentences and
    README summary (the date and load average of the writing aside)."""
    from examples import reproduce
    monkeypatch.setattr(reproduce, "available_frameworks", lambda wanted: list(wanted))
    tables = tmp_path / "tables.md"
    tables.write_text("<!-- reproduce:start -->\n<!-- reproduce:end -->\n", encoding="utf-8")
    front = tmp_path / "README.md"
    front.write_text("<!-- reproduce-summary:start -->\n<!-- reproduce-summary:end -->\n",
                     encoding="utf-8")
    reproduce.main(["--table-only", "--seeds", "5", "--kernels", "numba", "--out",
                    str(tmp_path / "out"), "--report", str(tables), "--front-page", str(front)])

    def stable(text):
        return re.sub(r"table written \d{4}-\d{2}-\d{2}", "table written DATE", text)
    start, end = "<!-- reproduce-summary:start -->", "<!-- reproduce-summary:end -->"
    assert stable(block(README, start, end)) == stable(block(front.read_text(), start, end))
    committed = (ROOT / "examples" / "records" / "reproduction_tables.md").read_text()
    ours = block(committed, "<!-- reproduce:start -->", "<!-- reproduce:end -->")
    again = block(tables.read_text(), "<!-- reproduce:start -->", "<!-- reproduce:end -->")
    assert ours.splitlines()[1:] == again.splitlines()[1:]     # all but the "Run:" line


def test_the_paired_diagnostic_is_the_generators(tmp_path, monkeypatch):
    """The same-batches, same-start table and its README line, rebuilt from the committed
    records, are the committed ones (the writing's date, task-time and load-average line
    aside): every paired interval on the reproduction page and in the README comes from
    records."""
    from examples import reproduce
    monkeypatch.setattr(reproduce, "available_frameworks", lambda wanted: list(wanted))
    start, end = "<!-- reproduce-paired:start -->", "<!-- reproduce-paired:end -->"
    tables = tmp_path / "paired.md"
    tables.write_text(f"{start}\n{end}\n", encoding="utf-8")
    summary_start = "<!-- reproduce-paired-summary:start -->"
    summary_end = "<!-- reproduce-paired-summary:end -->"
    front = tmp_path / "README.md"
    front.write_text(f"{summary_start}\n{summary_end}\n", encoding="utf-8")
    reproduce.main(["--table-only", "--seeds", "3", "--kernels", "numba", "--batch-order",
                    "same", "--init-from", "keras", "--out", str(tmp_path / "out"),
                    "--report", str(tables), "--front-page", str(front)])

    def stable(text):
        text = re.sub(r"written \d{4}-\d{2}-\d{2}", "written DATE", text)
        return [line for line in text.splitlines() if not line.startswith("Run: ")]
    assert stable(block(README, summary_start, summary_end)) == \
        stable(block(front.read_text(), summary_start, summary_end))
    committed = (ROOT / "examples" / "records" / "reproduction_paired.md").read_text()
    assert stable(block(committed, start, end)) == stable(block(tables.read_text(), start, end))
    assert "intervals contain 0" in block(committed, start, end)


@pytest.mark.parametrize("target", re.findall(r"\]\(((?:docs|examples)/[^)#]+)", README))
def test_the_front_pages_links_resolve(target):
    assert (ROOT / target).exists(), target


def test_the_committed_parity_report_covers_the_suite_as_it_is():
    """``make parity`` writes how many parity tests it collected; a report older than the
    suite (tests added or removed since) fails here until it is regenerated."""
    import subprocess
    import sys
    report = (ROOT / "parity_tests" / "report.md").read_text(encoding="utf-8")
    found = re.search(r"Parity tests collected: (\d+)", report)
    assert found, "parity_tests/report.md predates the collected count: run make parity"
    listed = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                             "-p", "no:cacheprovider", "parity_tests"], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    collected = [line for line in listed.stdout.splitlines() if "::" in line]
    assert int(found.group(1)) == len(collected), \
        f"the report counts {found.group(1)} parity tests, the suite has {len(collected)}"
