"""benchmarks.identical_work: two engines doing identical work, timed in fresh processes with
and without the BLAS primer, paired by round."""
import math

from benchmarks import identical_work


def _result(first_ms, second_ms):
    records = []
    for arm, (a, b) in (("none", first_ms), ("wide", second_ms)):
        for round_index, (x, y) in enumerate(zip(a, b)):
            for slot, engine, value in ((1, "fused_fastest", y), (0, "fused", x)):
                records.append({"round": round_index, "arm": arm, "slot": slot,
                                "engine": engine, "core": 0,
                                "step": [value / 1e3] * 2, "floor": [value / 2e3] * 2})
    return {"tree": "abc1234", "engines": ["fused", "fused_fastest"], "model": "m",
            "batch": 32, "threads": 1, "processes": 3, "repetitions": 2, "machine": "x",
            "records": records}


def test_the_ratio_pairs_the_engines_round_by_round_in_each_arm():
    result = _result(([5.0, 5.2, 5.1], [6.0, 6.3, 6.1]), ([5.0, 5.1, 5.2], [5.0, 5.1, 5.2]))
    found = {(f["arm"], f["quantity"]): f for f in identical_work.findings(result)}
    none = found[("none", "step")]["ratio"]
    expected = math.exp(sum(math.log(b / a) for a, b in
                            zip([5.0, 5.2, 5.1], [6.0, 6.3, 6.1])) / 3)
    assert math.isclose(none["ratio"], expected) and none["low"] > 1
    wide = found[("wide", "step")]["ratio"]
    assert wide["ratio"] == 1.0
    text = identical_work.markdown(result)
    assert "- Primer none, step: fused_fastest / fused = 1.20x" in text
    assert "(above 1)" in text
    assert "| wide | step | 5.00, 5.10, 5.20 | 5.00, 5.10, 5.20 |" in text
    assert "primer none: 1.05x" in text
    assert ("without the primer the two engines' step times differ with 95% confidence and "
            "with it they do not, so the BLAS state each process was left in accounts for "
            "that gap") in text


def test_the_verdict_does_not_credit_the_primer_with_a_gap_it_leaves():
    result = _result(([5.0, 5.2, 5.1], [6.0, 6.3, 6.1]), ([5.0, 5.2, 5.1], [6.0, 6.3, 6.1]))
    text = identical_work.markdown(result)
    assert "the step times differ with and without the primer, so the BLAS state does not " \
           "account for that gap" in text
    same = _result(([5.0, 5.2, 5.1], [5.0, 5.2, 5.1]), ([5.0, 5.2, 5.1], [5.0, 5.2, 5.1]))
    assert "without the primer the step times do not differ" in identical_work.markdown(same)


def test_the_workers_environment_drops_the_old_openblas_settings_and_sets_the_arm(
        monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("NUMPY_NN_BLAS", "mkl")
    env = identical_work.worker_env("/tree", 1, {"NUMPY_NN_BLAS": "fastest"}, "wide")
    assert "OPENBLAS_CORETYPE" not in env
    assert env["NUMPY_NN_BLAS"] == "fastest" and env["IDENTICAL_WORK_PRIMER"] == "wide"
    assert env["OPENBLAS_NUM_THREADS"] == "1" and env["PYTHONPATH"] == "/tree"


def test_an_a_a_pair_keeps_its_two_processes_apart():
    result = _result(([5.0, 5.2, 5.1], [6.0, 6.3, 6.1]), ([5.0, 5.1, 5.2], [5.0, 5.1, 5.2]))
    result["engines"] = ["jit", "jit"]
    for record in result["records"]:
        record["engine"] = "jit"
    text = identical_work.markdown(result)
    assert "| jit (slot 1): process means (ms) | jit (slot 2): process means (ms) |" in text
    assert "| none | step | 5.00, 5.20, 5.10 | 6.00, 6.30, 6.10 |" in text
