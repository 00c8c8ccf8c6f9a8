"""examples.reproduce on the experiment runner: seeds as tasks, records in a results folder,
the README table and its sentences generated from the records."""
import statistics

import numpy as np
import pytest

import numpy_nn
from examples import reproduce
from numpy_nn.experiments import ResultsStore, Task, deterministic_part, execute
from numpy_nn.experiments.stats import welch_test

README = ("# Title\n\nbefore\n<!-- reproduce-quick:start -->\nold table\n"
          "<!-- reproduce-quick:end -->\nafter\n<!-- reproduce:start -->\nfull\n"
          "<!-- reproduce:end -->\n")
FRONT_PAGE = "# numpy_nn\n<!-- reproduce-summary:start -->\nold\n<!-- reproduce-summary:end -->\n"


def test_a_quick_multi_seed_run_writes_records_and_the_readme_block(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    argv = ["--quick", "--only", "leaky_relu", "--frameworks", "numpy_nn", "--seeds", "2",
            "--kernels", "numba",
            "--workers", "2", "--results", str(tmp_path / "records"),
            "--out", str(tmp_path / "out"), "--report", str(readme)]
    table = reproduce.main(argv)
    records = table["leaky_relu"]["numpy_nn"]
    assert sorted(r["seed"] for r in records) == [42, 43]
    assert all(r["status"] == "ok" and r["metrics"]["epochs_run"] == 3 for r in records)
    assert all(len(r["history"]["val_accuracy"]) == 3 for r in records)
    assert all(r["config"]["kernels"] == "numba" for r in records)   # the record says which
    values = [r["metrics"]["value"] for r in records]
    assert values[0] != values[1]                      # two seeds, two runs
    # the same task run here, in the test's process, gives the worker's record bit for bit
    again_here = execute(Task(reproduce.ENTRY, records[0]["config"], records[0]["name"]).to_dict())
    assert deterministic_part(again_here) == deterministic_part(records[0])
    assert numpy_nn.backend.kernel_path() == "numpy"   # the in-process task restored it
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n\nbefore\n<!-- reproduce-quick:start -->\n")
    assert text.endswith("<!-- reproduce-quick:end -->\nafter\n<!-- reproduce:start -->\nfull\n"
                         "<!-- reproduce:end -->\n")
    assert "old table" not in text and "**Quick run**" in text
    mean, std = statistics.mean(values), statistics.stdev(values)
    assert f"| LeakyReLU 300-100, SGD 1e-3 | 3 | val accuracy | {mean:.4f} ± {std:.4f} (2) |" \
        in text
    assert (tmp_path / "out" / "reproduce-quick.md").read_text(encoding="utf-8") in text + "\n"

    capsys.readouterr()
    again = reproduce.main(argv)                       # resumes: nothing left to run
    assert "2 task(s): 2 already done, 0 ok" in capsys.readouterr().err
    assert [r["id"] for r in again["leaky_relu"]["numpy_nn"]] == [r["id"] for r in records]


def fake_record(experiment, framework, seed, value, status="ok"):
    config = {"experiment": experiment, "framework": framework, "seed": seed, "quick": False}
    return {"id": f"{experiment}-{framework}-{seed}", "entry": reproduce.ENTRY,
            "name": f"{experiment}/{framework}/seed={seed}", "config": config, "seed": seed,
            "status": status, "error": None if status == "ok" else "Traceback\nValueError: x",
            "metrics": {"value": value, "epochs_run": 10}, "seconds_per_epoch": [1.0, 2.0, 1.5],
            "seconds": 10.0, "host": "vm-a", "started": "2026-12-01T10:00:00+0000"}


def test_the_sentences_under_the_table_come_from_the_numbers(tmp_path):
    store = ResultsStore(tmp_path / "records")
    # leaky_relu: numpy_nn clearly lower; prelu: the same distribution on both sides
    for seed, (a, b) in enumerate([(0.80, 0.85), (0.81, 0.86), (0.79, 0.84)]):
        store.write(fake_record("leaky_relu", "numpy_nn", 42 + seed, a))
        store.write(fake_record("leaky_relu", "keras", 42 + seed, b))
    for seed, (a, b) in enumerate([(0.80, 0.81), (0.82, 0.80), (0.81, 0.82)]):
        store.write(fake_record("prelu", "numpy_nn", 42 + seed, a))
        store.write(fake_record("prelu", "keras", 42 + seed, b))
    store.write(fake_record("prelu", "keras", 45, 0.5, status="failed"))
    later = store.load("prelu-keras-44")
    store.write({**later, "started": "2026-12-02T09:00:00+0000"})     # a part run a day later
    readme = tmp_path / "reproduction.md"
    readme.write_text(README, encoding="utf-8")
    front_page = tmp_path / "README.md"
    front_page.write_text(FRONT_PAGE, encoding="utf-8")
    reproduce.available_frameworks = lambda wanted: list(wanted)     # no TensorFlow needed
    try:
        reproduce.main(["--only", "leaky_relu,prelu", "--table-only", "--kernels", "numpy",
                        "--seeds", "3", "--results",
                        str(tmp_path / "records"), "--out", str(tmp_path / "out"),
                        "--report", str(readme), "--front-page", str(front_page)])
    finally:
        import importlib
        importlib.reload(reproduce)
    block = readme.read_text(encoding="utf-8").split("<!-- reproduce:start -->")[1]
    assert "| LeakyReLU 300-100, SGD 1e-3 | 10 | val accuracy | 0.8000 ± 0.0100 (3) |" in block
    assert "| -0.0500 | " in block
    leaky = welch_test([0.80, 0.81, 0.79], [0.85, 0.86, 0.84])
    prelu = welch_test([0.80, 0.82, 0.81], [0.81, 0.80, 0.82])
    holm_leaky = min(1.0, 2 * leaky.p_value)         # the smaller of 2 p-values, times 2
    holm_prelu = max(holm_leaky, prelu.p_value)      # then times 1, kept monotone
    assert f"| -0.0500 | {leaky.p_value:.3g} | {holm_leaky:.3g} |" in block
    assert f"| {prelu.p_value:.3g} | {holm_prelu:.3g} |" in block
    assert ("1 of 2 compared rows differs at p < 0.05 before correction: LeakyReLU 300-100, SGD "
            f"1e-3 (numpy_nn lower by 0.0500, p = {leaky.p_value:.3g})") in block
    assert ("After Holm's correction, 1 still differs: LeakyReLU 300-100, SGD 1e-3 (numpy_nn "
            f"lower by 0.0500, Holm p = {holm_leaky:.3g})") in block
    assert "PReLU" not in block.split("before correction")[1].split(".")[0]
    assert "Rows not yet at" not in block
    assert "1 task(s) failed and are left out: prelu/keras/seed=45 (ValueError: x)" in block
    summary = front_page.read_text(encoding="utf-8")
    assert ("Of 2 compared rows, 1 differ at p < 0.05 (Welch's t-test) and 1 after Holm's "
            "correction; numpy_nn's mean is the higher in 0 of 2.") in summary
    assert "old" not in summary and "3 seeds per framework" in summary
    assert "Full size" in block and "Quick run" not in block
    assert ("run on 2 day(s) (2026-12-01, 2026-12-02) on 1 host name(s) (vm-a): seconds per "
            "epoch from different days or machines are not comparable.") in block


@pytest.mark.parametrize("argv, message", [(["--only", "nope"], "unknown experiment"),
                                           (["--seeds", "0"], "--seeds must be >= 1")])
def test_bad_arguments_are_named(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit):
        reproduce.main([*argv, "--results", str(tmp_path), "--out", str(tmp_path)])
    assert message in capsys.readouterr().err


def test_rows_short_of_the_seeds_asked_for_are_named(tmp_path):
    store = ResultsStore(tmp_path / "records")
    for seed in (42, 43):
        store.write(fake_record("l2", "numpy_nn", seed, 0.83 + seed / 1000))
    store.write(fake_record("l2", "keras", 42, 0.84))
    # a record of the other numpy_nn kernel path is not counted as a third seed
    other_path = fake_record("l2", "numpy_nn", 44, 0.9)
    other_path["config"]["kernels"] = "numba"
    other_path["id"] += "-numba"
    store.write(other_path)
    reproduce.available_frameworks = lambda wanted: list(wanted)
    try:
        reproduce.main(["--only", "l2,prelu", "--table-only", "--kernels", "numpy", "--results",
                        str(tmp_path / "records"), "--out", str(tmp_path / "out")])
    finally:
        import importlib
        importlib.reload(reproduce)
    text = (tmp_path / "out" / "reproduce.md").read_text(encoding="utf-8")
    assert "(2) |" in text and "0.8400 (1) | — | — | — | — |" in text
    assert ("Rows not yet at 5 seeds per framework — not run yet: prelu; partly run (seeds so "
            "far): l2 (numpy_nn 2, Keras 1).") in text
    assert "No row has enough seeds on both sides for a test yet." in text
    assert "The records were run on 1 day(s) (2026-12-01) on 1 host name(s) (vm-a)." in text


@pytest.mark.parametrize("key", ["leaky_relu", "bn_after", "cifar_alpha_dropout"])
def test_init_from_keras_starts_numpy_nn_from_the_weights_keras_draws(key, monkeypatch):
    pytest.importorskip("tensorflow")
    experiment = {e.key: e for e in reproduce.EXPERIMENTS}[key]
    data = reproduce.load_data(experiment.data, True)
    read = reproduce.keras_initial_weights(experiment, data, 1, seed=43)
    assert len(read) == 1                          # one model, read whole
    keras_weights = read[0]
    again = reproduce.keras_initial_weights(experiment, data, 1, seed=43)[0]
    assert [w.shape for w in keras_weights] == [w.shape for w in again]
    assert all(np.array_equal(a, b) for a, b in zip(keras_weights, again))

    started = []                                   # the weights each run starts training from

    def record_start(kx, model, data, n_epochs, **kwargs):
        started.append(model.get_weights())
        return reproduce.Result(0.0, 0, 0.0), None
    monkeypatch.setattr(reproduce, "train", record_start)
    reproduce._seed = 43
    numpy_nn.utils.set_random_seed(43)
    reproduce.run_with_initial_weights(experiment, numpy_nn, data, 1, read)
    numpy_nn.utils.set_random_seed(43)
    experiment.run(numpy_nn, data, 1)              # numpy_nn's own draws for the same seed
    from_keras, own = started
    assert all(np.array_equal(a, b) for a, b in zip(from_keras, keras_weights))
    kernels = [i for i, w in enumerate(own) if w.ndim == 2]
    assert not any(np.array_equal(own[i], keras_weights[i]) for i in kernels)   # not ours
    assert reproduce._initial_weights_hook is None


def test_init_from_keras_alone_stays_out_of_the_reports(tmp_path, capsys):
    with pytest.raises(SystemExit):
        reproduce.main(["--init-from", "keras", "--report", str(tmp_path / "README.md"),
                        "--results", str(tmp_path), "--out", str(tmp_path)])
    assert "a --init-from table is a diagnostic" in capsys.readouterr().err


@pytest.mark.parametrize("shuffle", [False, True])
def test_keras_fit_draws_nothing_from_its_seed_generator_without_dropout(shuffle):
    """What reading transfer learning's initial weights rests on: a layer built after two
    models were trained (and one rebuilt from the seed) gets the same initial weights as when
    neither was trained, so a reading run may skip the training."""
    keras = pytest.importorskip("keras")
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 28, 28)).astype("float32"), rng.integers(0, 2, 64)

    def head_weights(train):
        keras.backend.clear_session()
        keras.utils.set_random_seed(7)
        first = reproduce.mlp(keras, hidden=(8, 8), outputs=2)
        first.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        if train:
            first.fit(X, y, epochs=2, batch_size=16, verbose=0, shuffle=shuffle)
        reproduce._seed = 7
        second = reproduce.mlp(keras, hidden=(8,), outputs=2)     # reseeds, as in the task
        second.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        if train:
            second.fit(X, y, epochs=2, batch_size=16, verbose=0, shuffle=shuffle)
        reused = keras.models.Sequential(first.layers[:-1])
        reused.add(keras.layers.Dense(1, activation="sigmoid"))
        reused.build((None, 28, 28))
        return reused.layers[-1].get_weights()
    trained, untrained = head_weights(True), head_weights(False)
    assert all(np.array_equal(a, b) for a, b in zip(trained, untrained))
    assert np.any(trained[0] != 0)


def test_init_from_keras_starts_each_of_transfer_learnings_new_models_from_kerass_draws(
        monkeypatch):
    """Transfer learning builds model A, model B and model_B_on_A (A's trained layers and a
    new head): Keras's draws for all three are read, and numpy_nn's run starts A and B from
    them and gives B_on_A's head Keras's head, keeping A's trained layers."""
    pytest.importorskip("tensorflow")
    experiment = {e.key: e for e in reproduce.EXPERIMENTS}["transfer"]
    data = reproduce.load_data(experiment.data, True)
    read = reproduce.keras_initial_weights(experiment, data, 1, seed=42)
    assert [len(weights) for weights in read] == [12, 12, 2]     # A, B, B_on_A's head
    assert read[2][0].shape == (50, 1)
    started = []

    def record_start(kx, model, data, n_epochs, **kwargs):
        started.append(model.get_weights())
        model.set_weights([w + 1.0 for w in model.get_weights()])   # "training"
        return reproduce.Result(0.0, 0, 0.0), None
    monkeypatch.setattr(reproduce, "train", record_start)
    reproduce._seed = 42
    numpy_nn.utils.set_random_seed(42)
    reproduce.run_with_initial_weights(experiment, numpy_nn, data, 1, read)
    model_a, model_b, frozen, unfrozen = started
    assert all(np.array_equal(a, b) for a, b in zip(model_a, read[0]))
    assert all(np.array_equal(a, b) for a, b in zip(model_b, read[1]))
    assert all(np.array_equal(a, b + 1.0) for a, b in zip(frozen[:-2], read[0][:-2]))
    assert all(np.array_equal(a, b) for a, b in zip(frozen[-2:], read[2]))
    assert reproduce._initial_weights_hook is None


def test_batch_order_fixed_trains_numpy_nn_on_one_order_every_epoch(monkeypatch):
    """--batch-order fixed: numpy_nn's fit gets the training set permuted once by the task's
    seed and shuffle=False, so every epoch visits the same order (as Keras 3's fit does after
    set_random_seed); without it, fit shuffles anew each epoch."""
    experiment = {e.key: e for e in reproduce.EXPERIMENTS}["exponential_batch"]
    data = reproduce.load_data(experiment.data, True)
    seen = []
    original_fit = numpy_nn.models.Sequential.fit

    def record_fit(model, x, y, **kwargs):
        seen.append((x, y, kwargs.get("shuffle", True)))
        return original_fit(model, x[:64], y[:64], **{**kwargs, "epochs": 2})
    monkeypatch.setattr(numpy_nn.models.Sequential, "fit", record_fit)
    for order in (None, "fixed", "fixed"):
        monkeypatch.setattr(reproduce, "_batch_order", order)
        monkeypatch.setattr(reproduce, "_seed", 44)
        numpy_nn.utils.set_random_seed(44)
        reproduce.train(numpy_nn, reproduce.compile_model(numpy_nn, reproduce.mlp(numpy_nn),
                                                          "sgd"), data, 1)
    (x_train, y_train) = data[0]
    (plain_x, _, plain_shuffle), (x1, y1, shuffle1), (x2, y2, shuffle2) = seen
    assert plain_x is x_train and plain_shuffle is True
    assert shuffle1 is False and shuffle2 is False
    assert np.array_equal(x1, x2) and np.array_equal(y1, y2)      # the same order both runs
    order = np.random.default_rng(44).permutation(len(x_train))
    assert np.array_equal(x1, x_train[order]) and np.array_equal(y1, y_train[order])
    assert not np.array_equal(y1, y_train)


def test_batch_order_records_are_kept_apart_from_the_main_table(tmp_path, capsys):
    experiment = [e for e in reproduce.EXPERIMENTS if e.key == "exponential_batch"]
    records = [{"entry": reproduce.ENTRY, "status": "ok",
                "config": reproduce.task_config("exponential_batch", "numpy_nn", 42, False,
                                                "numba", order=order)}
               for order in (None, "fixed")]
    main, _ = reproduce.collect(records, experiment, ["numpy_nn"], False, kernels="numba")
    fixed, _ = reproduce.collect(records, experiment, ["numpy_nn"], False, kernels="numba",
                                 order="fixed")
    assert [r["config"].get("order") for r in main["exponential_batch"]["numpy_nn"]] == [None]
    assert [r["config"]["order"] for r in fixed["exponential_batch"]["numpy_nn"]] == ["fixed"]
    with pytest.raises(SystemExit):
        reproduce.main(["--batch-order", "fixed", "--report", str(tmp_path / "README.md"),
                        "--results", str(tmp_path), "--out", str(tmp_path)])
    assert "a --batch-order table is a diagnostic" in capsys.readouterr().err


def test_the_direction_of_the_differences_is_counted_without_a_sign_test():
    """Under the rows' sentences: how many differences point each way, at p < 0.05 and over
    all rows, as counts with no p-value (the rows share confounders, so they are not the
    independent trials a sign test assumes)."""
    experiments = {e.key: e for e in reproduce.EXPERIMENTS}
    clear = [experiments[k] for k in ("leaky_relu", "prelu", "power")]
    compared = [(e, welch_test([0.90, 0.91, 0.92], [0.80, 0.81, 0.82]), 0.01) for e in clear]
    compared.append((experiments["dropout"], welch_test([0.80, 0.82, 0.81],
                                                          [0.81, 0.80, 0.83]), 1.0))
    text = reproduce.significance_text(compared)
    assert ("Of the rows at p < 0.05, numpy_nn's mean is higher in 3 and lower in 0; over all "
            "compared rows, numpy_nn's mean is higher in 3 and lower in 1. These counts carry "
            "no p-value") in text
    assert "sign test p" not in text
    one = reproduce.significance_text(compared[3:])
    assert "higher in" not in one


def test_batch_order_same_gives_both_frameworks_one_order_and_a_paired_table():
    """--batch-order same: Keras's tasks carry the order too (both frameworks train on one
    permutation), their records stay out of the main table, and the diagnostic compares the
    two seed by seed with a paired t-test, from the records' own numbers."""
    experiment = [e for e in reproduce.EXPERIMENTS if e.key == "exponential_batch"]
    assert reproduce.task_config("power", "keras", 42, False, "numba", order="fixed") == \
        {"experiment": "power", "framework": "keras", "seed": 42, "quick": False}
    records = []
    for seed, (ours, theirs) in zip((42, 43, 44), ((0.30, 0.32), (0.31, 0.34), (0.29, 0.30))):
        for framework, final in (("numpy_nn", ours), ("keras", theirs)):
            for order in (None, "same"):
                records.append({
                    "entry": reproduce.ENTRY, "status": "ok", "seed": seed,
                    "config": reproduce.task_config("exponential_batch", framework, seed,
                                                    False, "numba", order=order),
                    "metrics": {"value": 1 - final}, "history": {"loss": [0.9, 0.5, final]}})
    main, _ = reproduce.collect(records, experiment, ["numpy_nn", "keras"], False,
                                kernels="numba")
    same, _ = reproduce.collect(records, experiment, ["numpy_nn", "keras"], False,
                                kernels="numba", order="same")
    for framework in ("numpy_nn", "keras"):
        assert {r["config"].get("order") for r in main["exponential_batch"][framework]} == {None}
        assert {r["config"]["order"] for r in same["exponential_batch"][framework]} == {"same"}
    text = reproduce.paired_text(same, experiment)
    assert "| 42 | 0.9000 / 0.9000 | 0.5000 / 0.5000 | 0.3000 / 0.3200 | 0.7000 / 0.6800 |" \
        in text
    import scipy.stats
    p = scipy.stats.ttest_rel([0.30, 0.31, 0.29], [0.32, 0.34, 0.30]).pvalue
    assert (f"- final training loss (epoch 3): numpy_nn minus Keras -0.0200 on average over 3 "
            f"seeds (from -0.0300 to -0.0100; paired t-test p = {p:.3g}).") in text


def test_the_paired_summary_gives_each_row_its_interval_and_what_it_rules_out():
    """The 24-row diagnostic's summary: per row the mean paired difference, its 95% t-interval
    and p-value (recomputed here with SciPy), and the effect size the interval rules out."""
    import scipy.stats
    experiments = [e for e in reproduce.EXPERIMENTS if e.key in ("leaky_relu", "prelu")]
    values = {"leaky_relu": ((0.84, 0.83), (0.85, 0.84), (0.86, 0.845)),     # differ
              "prelu": ((0.84, 0.841), (0.85, 0.848), (0.83, 0.831))}       # do not
    table = {key: {f: [{"seed": 42 + i, "metrics": {"value": pair[j]}}
                       for i, pair in enumerate(rows)]
                   for j, f in enumerate(("numpy_nn", "keras"))}
             for key, rows in values.items()}
    text = reproduce.paired_summary(table, experiments)
    p_values = {}
    for key, rows in values.items():
        d = [a - b for a, b in rows]
        half = scipy.stats.t.ppf(0.975, 2) * np.std(d, ddof=1) / np.sqrt(3)
        low, high = np.mean(d) - half, np.mean(d) + half
        p = scipy.stats.ttest_rel([a for a, _ in rows], [b for _, b in rows]).pvalue
        p_values[key] = p
        assert f"| 3 | {np.mean(d):+.4f} | [{low:+.4f}, {high:+.4f}] | {p:.3g} |" in text, key
    # Holm over the two rows: the smaller p doubled, the larger kept (never below the first)
    smaller, larger = sorted(p_values.values())
    assert f"| {min(1, 2 * smaller):.3g} |" in text
    assert f"| {max(min(1, 2 * smaller), larger):.3g} |" in text
    assert "| 0, at this row's 95% level (interval +0.0" in text
    assert "| any larger than 0.00" in text
    below = int(min(1, 2 * smaller) < 0.05) + int(max(2 * smaller, larger) < 0.05)
    assert ("1 of 2 intervals contain 0; their widths range from" in text
            and f"{below} of 2 rows have a Holm-adjusted paired p below 0.05" in text)
    assert reproduce.paired_summary({"leaky_relu": {}}, experiments[:1]) == ""


def test_the_paired_diagnostic_writes_its_own_blocks(tmp_path, monkeypatch):
    """--batch-order same --init-from keras: every experiment, its table written into the
    reproduce-paired block and its README line into reproduce-paired-summary, never into the
    main table's blocks."""
    monkeypatch.setattr(reproduce, "available_frameworks", lambda wanted: list(wanted))
    page = tmp_path / "paired.md"
    page.write_text("<!-- reproduce-paired:start -->\n<!-- reproduce-paired:end -->\n"
                    "<!-- reproduce:start -->\nuntouched\n<!-- reproduce:end -->\n")
    front = tmp_path / "README.md"
    front.write_text("<!-- reproduce-paired-summary:start -->\n"
                     "<!-- reproduce-paired-summary:end -->\n")
    reproduce.main(["--table-only", "--batch-order", "same", "--init-from", "keras",
                    "--seeds", "3", "--results", str(tmp_path / "none"),
                    "--out", str(tmp_path / "out"), "--report", str(page),
                    "--front-page", str(front)])
    written = page.read_text()
    assert "untouched" in written
    assert "Transfer learning" in written and "Max-norm(1) SELU" in written
    line = front.read_text()
    assert "0 of 24 experiments have paired seeds so far" in line
    assert "no interval yet" in line


def test_the_paired_front_page_line_counts_rows_and_intervals():
    experiments = [e for e in reproduce.EXPERIMENTS if e.key in ("leaky_relu", "prelu")]
    table = {"leaky_relu": {"numpy_nn": [{"seed": 42, "metrics": {"value": 0.84}},
                                         {"seed": 43, "metrics": {"value": 0.85}}],
                            "keras": [{"seed": 42, "metrics": {"value": 0.83}},
                                      {"seed": 43, "metrics": {"value": 0.86}}]},
             "prelu": {"numpy_nn": [], "keras": []}}
    line = reproduce.paired_front_page_text(table, experiments,
                                            {"command": "cmd", "date": "2026-01-01"})
    assert "1 of 2 experiments have paired seeds so far" in line
    assert "1 of 1 intervals contain 0; their widths range from" in line
    table["prelu"] = table["leaky_relu"]
    line = reproduce.paired_front_page_text(table, experiments,
                                            {"command": "cmd", "date": "2026-01-01"})
    assert "all 2 experiments" in line and "2 of 2 intervals contain 0" in line
