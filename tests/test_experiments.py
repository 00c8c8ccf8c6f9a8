"""The experiment runner on this machine: tasks, the results store, serial and local-process
executors, a failing task, a killed driver and a killed local worker.

The Dask cluster tests are in test_experiments_cluster.py."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from numpy_nn.experiments import (
    ResultsStore,
    Task,
    deterministic_part,
    expand_grid,
    run_grid,
    task_id,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MLP = "numpy_nn.experiments.mlp:train_mlp"
#: A tiny MLP on 600 real Fashion-MNIST images: a fraction of a second per task.
TINY = {"train": 600, "valid": 200, "hidden": [32, 16], "epochs": 2, "batch_size": 64}


def child_environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def test_task_ids_are_stable_hashes_of_entry_and_configuration():
    a = Task(MLP, {"seed": 1, "hidden": [8], "activation": "relu"})
    b = Task(MLP, {"activation": "relu", "hidden": [8], "seed": 1}, name="another label")
    assert a.id == b.id == task_id(MLP, {"hidden": [8], "seed": 1, "activation": "relu"})
    assert a.id != Task(MLP, {"seed": 2, "hidden": [8], "activation": "relu"}).id
    assert a.id != Task("numpy_nn.experiments.mlp:other", a.config).id
    assert len(a.id) == 20 and int(a.id, 16) >= 0
    with pytest.raises(ValueError, match="JSON-able"):
        Task(MLP, {"seed": 1, "weights": object()})
    with pytest.raises(ValueError, match="entry must be 'package.module:function'"):
        Task("train_mlp", {})


def test_expand_grid_crosses_values_and_seeds():
    tasks = expand_grid(MLP, {"epochs": 1}, {"activation": ["relu", "selu"], "hidden": [[8]]},
                        seeds=range(3))
    assert len(tasks) == 6 and len({t.id for t in tasks}) == 6
    assert tasks[0].config == {"epochs": 1, "activation": "relu", "hidden": [8], "seed": 0}
    assert tasks[0].name == "activation=relu,hidden=[8]/seed=0"
    with pytest.raises(ValueError, match=r"grid\['activation'\] must be a non-empty list"):
        expand_grid(MLP, grid={"activation": "relu"})


def test_store_writes_whole_records_and_ignores_temporaries(tmp_path):
    store = ResultsStore(tmp_path)
    store.write({"id": "abc", "status": "ok", "metrics": {"x": float("nan")}})
    (tmp_path / ".abc.json.x1.tmp").write_text('{"id": "abc", "sta')      # a killed writer's
    assert store.ids() == ["abc"] and store.finished("abc")
    assert store.temporaries() == [".abc.json.x1.tmp"]
    record = json.loads((tmp_path / "abc.json").read_text())      # json alone reads it
    assert record["status"] == "ok" and record["metrics"]["x"] != record["metrics"]["x"]
    assert store.remove_stale_temporaries() == [".abc.json.x1.tmp"] and not store.temporaries()
    assert store.status("missing") is None


def test_serial_grid_records_everything_and_a_failing_task_does_not_stop_it(tmp_path):
    tasks = expand_grid(MLP, TINY, {"activation": ["relu", "no_such_activation"]}, seeds=[0, 1])
    summary = run_grid(tasks, tmp_path, executor="serial", progress=False)
    assert summary.total == 4 and summary.ok == 2 and len(summary.failed) == 2
    assert {name for name, _, _ in summary.failed} == {
        "activation=no_such_activation/seed=0", "activation=no_such_activation/seed=1"}
    assert all("no_such_activation" in error for _, _, error in summary.failed)
    assert "FAILED activation=no_such_activation/seed=0" in str(summary)
    store = ResultsStore(tmp_path)
    good = store.load(tasks[0].id)
    assert good["status"] == "ok" and good["error"] is None
    assert good["config"] == tasks[0].config and good["seed"] == 0
    assert good["framework"] == "numpy_nn" and good["pid"] == os.getpid() and good["host"]
    assert set(good["versions"]) >= {"python", "numpy", "numpy_nn"}
    assert len(good["history"]["val_accuracy"]) == 2 and len(good["seconds_per_epoch"]) == 2
    assert good["metrics"]["val_accuracy"] == good["history"]["val_accuracy"][-1]
    assert any(item.endswith("=1") for item in good["threads"])       # one BLAS thread
    bad = store.load(tasks[2].id)
    assert bad["status"] == "failed" and "Traceback" in bad["error"]

    again = run_grid(tasks, tmp_path, executor="serial", progress=False)
    assert again.skipped == 2 and again.ok == 0 and len(again.failed) == 2   # failed: retried
    assert store.load(tasks[0].id)["started"] == good["started"]             # ok: untouched


def test_each_worker_process_loads_a_dataset_once(tmp_path):
    tasks = [Task("tests.experiment_tasks:count_loads", {"dataset": "d", "seed": s})
             for s in range(6)]
    run_grid(tasks, tmp_path, workers=2, progress=False)
    records = list(ResultsStore(tmp_path).records())
    assert len(records) == 6 and all(r["status"] == "ok" for r in records)
    by_pid = {}
    for record in records:
        by_pid.setdefault(record["pid"], []).append(record["metrics"]["loads"])
    assert os.getpid() not in by_pid
    assert all(loads == [1] * len(loads) for loads in by_pid.values()), by_pid


def test_numpy_nn_tasks_are_bit_identical_serially_and_on_local_workers(tmp_path):
    tasks = expand_grid(MLP, TINY, {"activation": ["relu", "selu"]}, seeds=[0, 1])
    run_grid(tasks, tmp_path / "serial", executor="serial", progress=False)
    summary = run_grid(tasks, tmp_path / "local", workers=2, progress=False)
    assert summary.ok == 4
    serial, local = ResultsStore(tmp_path / "serial"), ResultsStore(tmp_path / "local")
    for task in tasks:
        a, b = serial.load(task.id), local.load(task.id)
        assert b["pid"] != os.getpid()
        assert deterministic_part(a) == deterministic_part(b)
        assert a["extra"]["weights_digest"] == b["extra"]["weights_digest"]
    digests = {serial.load(t.id)["extra"]["weights_digest"] for t in tasks}
    assert len(digests) == 4                   # and different seeds do differ


def write_grid(path, n_tasks, seconds):
    path.write_text(json.dumps({"entry": "tests.experiment_tasks:sleepy",
                                "base": {"seconds": seconds}, "seeds": list(range(n_tasks))}))
    return path


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_driver(grid, results, *extra):
    return subprocess.Popen([sys.executable, "-m", "numpy_nn.experiments", "run", str(grid),
                             "--results", str(results), *extra],
                            env=child_environment(), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_a_killed_driver_resumes_without_duplicates_or_half_written_records(tmp_path):
    psutil = pytest.importorskip("psutil")
    grid, results = write_grid(tmp_path / "grid.json", 16, 0.3), tmp_path / "results"
    driver = start_driver(grid, results, "--workers", "2")
    store = ResultsStore(results)
    wait_for(lambda: len(store.ids()) >= 3, 120, "three records")
    workers = psutil.Process(driver.pid).children(recursive=True)
    os.kill(driver.pid, signal.SIGKILL)
    driver.wait(10)
    done_before = store.ids()
    assert 3 <= len(done_before) < 16, "the driver finished before it could be killed"
    for task_id_ in done_before:                     # whole records only
        assert json.loads((results / f"{task_id_}.json").read_text())["status"] == "ok"
    # its worker processes notice and exit instead of computing for nobody
    _, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, f"orphaned workers still running: {alive}"

    rerun = start_driver(grid, results, "--workers", "2")
    output, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, output
    assert f"{len(done_before)} task(s) already finished" in output
    tasks = expand_grid("tests.experiment_tasks:sleepy", {"seconds": 0.3}, seeds=range(16))
    assert store.ids() == sorted(t.id for t in tasks)          # each task exactly once
    assert not store.temporaries()
    for task_id_ in done_before:                               # not run again
        assert store.load(task_id_)["pid"] in {w.pid for w in workers}


def test_a_killed_local_worker_costs_only_its_task(tmp_path):
    psutil = pytest.importorskip("psutil")
    grid, results = write_grid(tmp_path / "grid.json", 12, 0.3), tmp_path / "results"
    driver = start_driver(grid, results, "--workers", "2")
    store = ResultsStore(results)
    wait_for(lambda: len(store.ids()) >= 2, 120, "two records")
    victim_pid = store.load(store.ids()[0])["pid"]           # a worker, known to be one
    assert victim_pid in {child.pid for child in psutil.Process(driver.pid).children()}
    os.kill(victim_pid, signal.SIGKILL)
    output, _ = driver.communicate(timeout=120)
    assert driver.returncode == 0, output
    records = list(store.records())
    assert len(records) == 12 and all(r["status"] == "ok" for r in records)
    assert len({r["id"] for r in records}) == 12
    pids = {r["pid"] for r in records}
    assert len(pids) >= 3 and victim_pid in pids        # a fresh pool took over


def test_the_engine_imports_none_of_this_and_this_imports_dask_and_scipy_only_when_asked():
    code = ("import sys, numpy_nn; before = set(sys.modules)\n"
            "import numpy_nn.experiments\n"
            "optional = ('dask', 'distributed', 'scipy', 'sklearn', 'tqdm', 'tensorflow')\n"
            "print(sorted(m for m in before if m.split('.')[0] in optional + ('numpy_nn',)"
            " and (m.startswith('numpy_nn.experiments') or m.startswith('numpy_nn.wrappers')"
            " or m.split('.')[0] in optional)))\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & set(optional)))\n")
    output = subprocess.run([sys.executable, "-c", code], env=child_environment(), cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.splitlines()
    assert output == ["[]", "[]"], output


def test_a_serial_run_after_numba_was_imported_leaves_numba_able_to_compile():
    """``executor="serial"`` limits this very process to one thread. When Numba is already
    imported, a new NUMBA_NUM_THREADS in the environment would make its next compilation fail
    (Numba re-reads it and refuses a change once its pool exists): the limit goes through
    ``numba.set_num_threads`` instead, and compiling still works afterwards."""
    pytest.importorskip("numba", reason="the case is about Numba")
    code = ("import os, numba, numpy as np\n"
            "numba.njit(lambda x: x + 1)(np.ones(2))\n"
            "from numpy_nn.experiments import setup_worker\n"
            "setup_worker()\n"
            "print(numba.njit(lambda x: x * 2)(np.ones(2)).sum(), numba.get_num_threads(),\n"
            "      os.environ.get('OPENBLAS_NUM_THREADS'))\n")
    environment = {k: v for k, v in child_environment().items() if k != "NUMBA_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["4.0", "1", "1"], done.stdout
