"""The live case's sentences on the reproduction page are the generator's, from its record:
``examples/records/compare_live_case/seed-45.md`` must equal what
``examples.compare_live_case.summary_markdown`` writes from ``seed-45.json`` (rewrite it with
``python -m examples.compare_live_case --from-record`` after changing the generator)."""
import json
import os

from examples import compare_live_case


def committed_record():
    with open(os.path.join(compare_live_case.OUT, "seed-45.json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_the_committed_sentences_are_the_generators_on_the_record():
    record = committed_record()
    with open(os.path.join(compare_live_case.OUT, "seed-45.md"), encoding="utf-8") as handle:
        committed = handle.read()
    assert committed == compare_live_case.summary_markdown(record)


def test_a_divergence_in_the_record_is_what_the_sentences_say():
    record = committed_record()
    record["teacher_forced"]["divergence"] = "step 3, gradient, layer 'dense', tensor 'kernel'"
    text = compare_live_case.summary_markdown(record)
    assert "- Teacher-forced: step 3, gradient, layer 'dense', tensor 'kernel'." in text
    assert "no divergence" not in text and "At every step" not in text
