"""The experiment runner and the scikit-learn wrapper on a real Dask cluster: a `dask
scheduler` and `dask worker` processes started here on 127.0.0.1 (free ports), exactly as a
user starts them on their machines."""
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip(
    "distributed", reason="the cluster extra (pip install 'numpy_nn[cluster]') is not installed")

from numpy_nn.experiments import ResultsStore, deterministic_part, expand_grid, run_grid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DASK = os.path.join(os.path.dirname(sys.executable), "dask")
MLP = "numpy_nn.experiments.mlp:train_mlp"
TINY = {"train": 600, "valid": 200, "hidden": [32, 16], "epochs": 2, "batch_size": 64}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (ROOT, env.get("PYTHONPATH")) if p)
    return env


def start_worker(address, log):
    """One worker process with one thread (``--no-nanny``: the process that runs the tasks is
    the one started here, so its pid is the one the records name)."""
    return subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny",
                             "--host", "127.0.0.1", "--dashboard-address", ":0"],
                            env=environment(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)


def stop(process):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


class Cluster:
    def __init__(self, tmp):
        if not os.path.exists(DASK):
            pytest.fail(f"the dask command is missing next to {sys.executable}")
        port, dashboard = free_port(), free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.log = open(os.path.join(tmp, "cluster.log"), "w")  # noqa: SIM115 - closed in close()
        self.scheduler = subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
             "--dashboard-address", f"127.0.0.1:{dashboard}"],
            env=environment(), cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        self.workers = []
        self.client = None
        try:
            self.client = distributed.Client(self.address, timeout=60)
            self.add_workers(2)
        except BaseException:
            self.close()
            raise

    def add_workers(self, count):
        started = [start_worker(self.address, self.log) for _ in range(count)]
        self.workers += started
        self.client.wait_for_workers(len(self.workers), timeout=120)
        return started

    def close(self):
        if self.client is not None:
            self.client.close()
        for process in self.workers + [self.scheduler]:
            stop(process)
        self.log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    cluster = Cluster(tmp_path_factory.mktemp("dask"))
    yield cluster
    cluster.close()


def live_worker_pids(cluster):
    return {process.pid for process in cluster.workers if process.poll() is None}


def test_a_grid_runs_on_the_cluster_workers_and_matches_a_serial_run_bit_for_bit(cluster,
                                                                                  tmp_path):
    tasks = expand_grid(MLP, TINY, {"activation": ["relu", "selu"]}, seeds=[0, 1, 2])
    summary = run_grid(tasks, tmp_path / "cluster", scheduler=cluster.address, progress=False)
    assert summary.ok == 6 and not summary.failed
    assert "dashboard http://127.0.0.1:" in summary.executor
    records = {r["id"]: r for r in ResultsStore(tmp_path / "cluster").records()}
    pids = {r["pid"] for r in records.values()}
    assert os.getpid() not in pids
    assert pids <= live_worker_pids(cluster) and len(pids) >= 2, pids
    run_grid(tasks, tmp_path / "serial", executor="serial", progress=False)
    serial = ResultsStore(tmp_path / "serial")
    for task in tasks:
        assert deterministic_part(records[task.id]) == deterministic_part(serial.load(task.id))


def test_the_scheduler_address_can_come_from_the_environment(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.address)
    tasks = expand_grid("tests.experiment_tasks:sleepy", {"seconds": 0.05}, seeds=range(4))
    summary = run_grid(tasks, tmp_path, progress=False)
    assert summary.ok == 4 and cluster.address in summary.executor


def test_a_killed_worker_loses_nothing_and_duplicates_nothing(cluster, tmp_path):
    (extra,) = cluster.add_workers(1)
    extra_address = next(address for address, pid in cluster.client.run(os.getpid).items()
                         if pid == extra.pid)
    tasks = expand_grid("tests.experiment_tasks:sleepy", {"seconds": 0.4}, seeds=range(15))
    results = {}
    runner = threading.Thread(target=lambda: results.update(summary=run_grid(
        tasks, tmp_path, scheduler=cluster.address, progress=False)))
    runner.start()
    deadline = time.monotonic() + 120
    while not cluster.client.processing(workers=[extra_address]).get(extra_address):
        assert time.monotonic() < deadline, "the extra worker never got a task"
        time.sleep(0.02)
    os.kill(extra.pid, signal.SIGKILL)              # mid-task
    extra.wait(10)
    runner.join(180)
    assert not runner.is_alive()
    summary = results["summary"]
    assert summary.ok == 15 and not summary.failed, summary
    store = ResultsStore(tmp_path)
    assert store.ids() == sorted(task.id for task in tasks)       # each exactly once
    assert not store.temporaries()
    assert all(record["status"] == "ok" for record in store.records())


def test_grid_search_with_the_wrapper_runs_on_the_cluster_through_joblib(cluster):
    joblib = pytest.importorskip("joblib")
    from sklearn.model_selection import GridSearchCV

    from numpy_nn.wrappers import SKLearnClassifier
    from tests.experiment_tasks import build_classifier, small_fashion
    X, y = small_fashion(300)
    search = GridSearchCV(SKLearnClassifier(model=build_classifier,
                                            fit_kwargs={"epochs": 1, "batch_size": 64}),
                          {"model__n_hidden": [1, 2]}, cv=2, n_jobs=-1)
    with distributed.get_task_stream(cluster.client) as stream, \
            joblib.parallel_backend("dask", wait_for_workers_timeout=60):
        search.fit(X, y)
    assert set(search.cv_results_["param_model__n_hidden"]) == {1, 2}
    assert 0 <= search.best_score_ <= 1
    workers_used = {item["worker"] for item in stream.data}
    assert len(workers_used) >= 1 and workers_used <= set(
        cluster.client.scheduler_info()["workers"])
