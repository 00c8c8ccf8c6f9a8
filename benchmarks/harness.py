r"""Training throughput, measured interleaved across engines, each in its own process.

**Contenders.** numpy_nn's ``fit`` on its two kernel paths with ``jit_compile=False``
(``numpy``, ``numba``) and with ``jit_compile=True`` (``jit``; ``jit_mkl``: the same compiled
step calling Intel MKL's GEMMs, ``NUMPY_NN_BLAS=mkl``, when the ``mkl`` wheel is installed) and
the peers a user would pick instead: Keras 3 on TensorFlow (``keras_tf``), Keras 3 on JAX
(``keras_jax``), PyTorch eager (``torch``) and ``torch.compile`` (``torch_compile``); plus the
matmul ``floor`` (NumPy's BLAS) timed inside the ``numba`` worker and ``floor_mkl`` (MKL's)
inside the ``jit_mkl`` worker. (Results recorded before ``jit_compile`` existed name the
compiled whole step of that time ``fused``: the same idea, run by its own loop.) Each
runs in its own :mod:`benchmarks.worker` process, at every thread
count asked for, all alive at once, so that one cell's repetitions rotate through every
(contender, thread count) and a burst of load from another process hits all of them alike.

**Fairness.** A worker given N threads is pinned (``os.sched_setaffinity``) to N of the cores
this process may use, and has every thread pool of its engine limited to N (see
:mod:`benchmarks.worker`). Pinning can handicap an engine whose helper threads then share one
core with its compute thread (TensorFlow: its pools idle on a pinned core), so TensorFlow is
also measured unpinned (``keras_tf@unpinned``) whenever the threads given are fewer than the
cores available; its better median counts as "Keras 3 / TF". Every fit's CPU time is
recorded; a contender whose CPU-seconds per wall-second exceed the cores it was given is
flagged in the report.

**A shared machine.** Only one worker computes at any moment (the harness waits for each
reply), and with ``nice`` below 0 every worker runs in a scheduling group of its own ahead of
other jobs' processes, all engines alike: on a machine whose other jobs keep the cores busy,
an engine that hands work between threads (each wake-up is scheduled ahead of a busy
process) would otherwise gain over one that computes in one thread, and the figures would
measure the scheduler.

**Step time.** Each repetition of a contender times two epochs with its user-facing call: one
over all N steps' samples, :math:`T_N`, and one over the first batch, :math:`T_1`. A call
costs a fixed set-up (Keras: data adapter, iterator, callbacks) plus a time per step, so

.. math::
    t_\text{step} = \frac{T_N - T_1}{N - 1}, \qquad t_\text{set-up} = T_1 - t_\text{step}

**CPU time per step.** The same difference of the two calls' CPU times (all the process's
threads) gives CPU-seconds per step. On a machine shared with other jobs a process waits for
a core without using CPU, so this figure moves far less with the load than the wall time; it
counts a spinning thread's waiting as work, so for more than one thread it is no measure of
speed. The report gives the wall-time ratios (what a user waits for) and, at one thread, the
CPU-time ratios beside them.

**Ratios and intervals.** Every ratio between two contenders (or thread counts) is computed
repetition by repetition (A's repetition i over B's repetition i, timed in the same rotation)
and reported as the geometric mean of those ratios with a 95% confidence interval: the
t-interval of the mean log ratio, exponentiated.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

PEERS = ("keras_tf", "keras_jax", "torch", "torch_compile")
OURS = ("numpy", "numba", "jit", "jit_mkl")
# the worker that times each GEMM floor, by the floor's key
FLOORS = {"floor": "numba", "floor_mkl": "jit_mkl"}
# the GEMM floor each compiled step is compared with (the same BLAS as its products; the
# fused entries read results recorded before jit_compile)
FUSED_FLOORS = {"jit": "floor", "jit_mkl": "floor_mkl", "fused": "floor",
                "fused_mkl": "floor_mkl", "fused_fastest": "floor_fastest"}
# the compiled steps whose GEMMs need the mkl wheel, and NUMPY_NN_BLAS for each
NEEDS_MKL = {"jit_mkl": "mkl"}
TITLES = {"numpy": "numpy_nn NumPy", "numba": "numpy_nn Numba",
          "jit": "numpy_nn fit, jit_compile=True", "jit_mkl": "numpy_nn fit, jit_compile=True, MKL",
          "fused": "numpy_nn fused step", "fused_mkl": "numpy_nn fused step, MKL",
          "fused_fastest": "numpy_nn fused step, fastest BLAS per product",
          "floor_mkl": "GEMM floor, MKL", "floor_fastest": "GEMM floor, chosen BLAS",
          "keras_tf": "Keras 3 / TF",
          "keras_tf@unpinned": "Keras 3 / TF (unpinned)", "keras_jax": "Keras 3 / JAX",
          "torch": "PyTorch eager", "torch_compile": "torch.compile", "floor": "GEMM floor"}
# a worker counts as idle after SETTLE_QUIET seconds without CPU time (Linux counts it in 10 ms
# ticks); the harness waits at most SETTLE_LIMIT seconds for that (Worker.settle)
SETTLE_QUIET, SETTLE_LIMIT = 0.03, 1.0
# two-sided 95% quantiles of Student's t, by degrees of freedom
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
        9: 2.262, 10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120,
        17: 2.110, 18: 2.101, 19: 2.093, 20: 2.086, 25: 2.060, 30: 2.042, 40: 2.021,
        60: 2.000}


def t95(degrees):
    known = [d for d in _T95 if d <= degrees]
    return _T95[max(known)] if known else float("inf")


def ratio_interval(numerators, denominators):
    """``{"ratio", "low", "high"}``: geometric mean of the paired ratios a_i / b_i and its 95%
    t-interval (computed on the logs). With one pair the interval is unbounded."""
    logs = [math.log(a / b) for a, b in zip(numerators, denominators) if a > 0 and b > 0]
    if not logs:
        return {"ratio": float("nan"), "low": float("nan"), "high": float("nan"), "n": 0}
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return {"ratio": math.exp(mean), "low": 0.0, "high": float("inf"), "n": len(logs)}
    half = t95(len(logs) - 1) * statistics.stdev(logs) / math.sqrt(len(logs))
    return {"ratio": math.exp(mean), "low": math.exp(mean - half),
            "high": math.exp(mean + half), "n": len(logs)}


@dataclass(frozen=True)
class Contender:
    key: str             # "keras_tf@unpinned"
    engine: str          # the worker's --engine
    pinned: bool = True


def available_peers():
    """``(peers, skipped)``: the peer engines importable here, and for the others why not."""
    import importlib.util
    skipped = {}
    need = {"keras_tf": ("tensorflow", "keras"), "keras_jax": ("jax", "keras"),
            "torch": ("torch",), "torch_compile": ("torch",)}
    for engine, modules in need.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            skipped[engine] = (f"{', '.join(missing)} not installed (pip install "
                               f"'numpy_nn[{'tf' if engine == 'keras_tf' else 'bench-peers'}]')")
    if "torch_compile" not in skipped and not (shutil.which("cc") or shutil.which("gcc")):
        skipped["torch_compile"] = "no C compiler on PATH (torch.compile's CPU code generator " \
                                   "needs one)"
    return [p for p in PEERS if p not in skipped], skipped


def available_engines():
    """``(engines, skipped)``: numpy_nn's contenders and the peers importable here, in the
    report's order, and for the others why not."""
    from importlib import metadata
    peers, skipped = available_peers()
    ours = list(OURS)
    try:
        metadata.distribution("mkl")
    except metadata.PackageNotFoundError:
        for engine in NEEDS_MKL:
            ours.remove(engine)
            skipped[engine] = "the mkl wheel is not installed (pip install 'numpy_nn[mkl]')"
    return ours + peers, skipped


def contenders_for(engines, threads, cores):
    chosen = [Contender(engine, engine) for engine in engines]
    if "keras_tf" in engines and threads < cores:
        chosen.append(Contender("keras_tf@unpinned", "keras_tf", pinned=False))
    return chosen


class Worker:
    """A :mod:`benchmarks.worker` subprocess speaking JSON lines."""

    def __init__(self, contender, threads, env, cpus, nice=0):
        self.contender, self.threads = contender, threads
        self.label = f"{contender.key} ({threads} thread{'s' if threads > 1 else ''})"
        command = [sys.executable, "-m", "benchmarks.worker", "--engine", contender.engine,
                   "--threads", str(threads)]
        if contender.pinned:
            command += ["--pin", ",".join(str(c) for c in cpus[:threads])]
        if nice:
            command += ["--nice", str(nice)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=engine_env(env, contender.engine, threads),
            start_new_session=bool(nice),      # its own scheduling group (see worker)
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self.versions = self._read()["versions"]

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark worker {self.label} exited "
                               f"(code {self.process.poll()})")
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"benchmark worker {self.label}: {reply['error']}")
        return reply

    def ask(self, **command):
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def cpu_ticks(self):
        """User + system CPU time of the worker process so far, in clock ticks (Linux's
        ``/proc/PID/stat``), or None where that cannot be read."""
        try:
            with open(f"/proc/{self.process.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            return int(fields[11]) + int(fields[12])       # utime, stime (fields 14, 15)
        except (OSError, IndexError, ValueError):
            return None

    def settle(self, quiet=SETTLE_QUIET, limit=SETTLE_LIMIT):
        """Wait until the worker's threads have stopped running since its last reply, and
        return the seconds waited: BLAS and OpenMP thread pools spin-wait for a while after a
        call (Intel OpenMP for 200 ms by default), and a pool still spinning would take the
        cores of the next contender timed. Idle means no CPU time counted during ``quiet``
        seconds; ``limit`` caps the wait (0 where the CPU time cannot be read)."""
        start = time.perf_counter()
        before = self.cpu_ticks()
        if before is None:
            return 0.0
        while time.perf_counter() - start < limit:
            time.sleep(quiet)
            now = self.cpu_ticks()
            if now is None or now == before:
                break
            before = now
        return time.perf_counter() - start

    def close(self):
        try:
            self.ask(cmd="quit")
        except (RuntimeError, BrokenPipeError, ValueError, OSError):
            pass
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def worker_env(tf_onednn):
    """The workers' common environment: TF_ENABLE_ONEDNN_OPTS as asked ("default" removes
    it, so TensorFlow uses its own default, oneDNN on for x86) and quiet TensorFlow logs."""
    env = dict(os.environ)
    env.pop("TF_ENABLE_ONEDNN_OPTS", None)
    if tf_onednn != "default":
        env["TF_ENABLE_ONEDNN_OPTS"] = tf_onednn
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def with_engine_blas(env, engine):
    """``env`` with the compiled step's GEMMs chosen for ``engine``: MKL's for ``jit_mkl``,
    NumPy's for every other engine, whatever the caller's environment says."""
    env = {key: value for key, value in env.items() if key != "NUMPY_NN_BLAS"}
    if engine in NEEDS_MKL:
        env["NUMPY_NN_BLAS"] = NEEDS_MKL[engine]
    return env


def engine_env(env, engine, threads):
    """One worker's environment: every OpenMP/BLAS pool at ``threads``; Keras's backend; for
    JAX, XLA's CPU thread pool (XLA reads its flags when it starts, hence the environment)."""
    env = dict(env)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env = with_engine_blas(env, engine)
    if engine.startswith("keras"):
        env["KERAS_BACKEND"] = "jax" if engine == "keras_jax" else "tensorflow"
    if engine == "keras_jax":
        flags = [f for f in env.get("XLA_FLAGS", "").split() if "eigen" not in f
                 and "intra_op" not in f]
        # one thread: XLA's Eigen pool off (XLA takes no thread-count flag; a pinned process
        # with N > 1 cores gets XLA's default pool, sized to the cores it may use)
        if threads == 1:
            flags.append("--xla_cpu_multi_thread_eigen=false")
        env["XLA_FLAGS"] = " ".join(flags)
    return env


def run_training_grid(models, batches, samples_for, repetitions, thread_counts, engines,
                      tf_onednn="default", nice=0, log=print):
    """Measure every (model, batch) cell at every thread count, interleaved; return
    ``(cells, versions, failures)``: one result per (model, batch, threads), the versions each
    worker reported, and ``{contender key: error}`` for contenders that failed in a cell."""
    cpus = sorted(os.sched_getaffinity(0))
    env = worker_env(tf_onednn)
    workers = {}
    for threads in thread_counts:
        for contender in contenders_for(engines, threads, len(cpus)):
            workers[(contender.key, threads)] = Worker(contender, threads, env, cpus, nice)
    cells, failures = [], {}
    try:
        for model in models:
            for batch in batches:
                samples = samples_for(batch)
                prepared, active = {}, []
                for name, worker in workers.items():
                    try:
                        prepared[name] = worker.ask(cmd="prepare", model=model, batch=batch,
                                                    samples=samples)
                        worker.settle()
                        active.append(name)
                    except RuntimeError as error:
                        failures.setdefault(name[0], {}).setdefault(model, str(error))
                        log(f"  {worker.label}, {model}, batch {batch}: {error}")
                        if worker.process.poll() is not None:     # it died: restart it
                            workers[name] = Worker(worker.contender, name[1], env, cpus,
                                                   nice)
                steps = prepared[active[0]]["steps"]
                if steps < 2:
                    raise ValueError(f"{model}, batch {batch}: a cell needs at least 2 steps "
                                     f"per fit to separate set-up from step time, got {steps}")
                timed = active + [(floor, threads) for floor, engine in FLOORS.items()
                                  for key, threads in active if key == engine]
                series = {name: {"step": [], "setup": [], "cpu_per_wall": [], "cpu_step": [],
                                 "settle": []} for name in timed}
                for repetition in range(repetitions):
                    shift = repetition % len(timed)
                    for name in timed[shift:] + timed[:shift]:
                        record = series[name]
                        if name[0] in FLOORS:
                            worker = workers[(FLOORS[name[0]], name[1])]
                            reply = worker.ask(cmd="floor")
                            record["settle"].append(worker.settle())
                            record["step"].append(reply["seconds"] / steps)
                            record["cpu_step"].append(reply["cpu_seconds"] / steps)
                            record["cpu_per_wall"].append(reply["cpu_seconds"]
                                                          / reply["seconds"])
                            continue
                        whole = workers[name].ask(cmd="fit")
                        first = workers[name].ask(cmd="fit", steps=1)
                        # its pools idle before the next contender starts (not between its
                        # own two calls: a user's next call finds them as they are)
                        record["settle"].append(workers[name].settle())
                        step = (whole["seconds"] - first["seconds"]) / (steps - 1)
                        record["step"].append(step)
                        record["setup"].append(first["seconds"] - step)
                        record["cpu_per_wall"].append(whole["cpu_seconds"] / whole["seconds"])
                        record["cpu_step"].append((whole["cpu_seconds"] - first["cpu_seconds"])
                                                  / (steps - 1))
                for threads in thread_counts:
                    cell = summarize(model, batch, samples, steps, threads,
                                     {key: value for (key, t), value in series.items()
                                      if t == threads},
                                     prepared.get(("numba", threads), {}).get("parameters"))
                    choices = {key: reply["gemm_choices"] for (key, t), reply in
                               prepared.items() if t == threads and "gemm_choices" in reply}
                    if choices:                 # per engine, per Dense layer: the libraries
                        cell["gemm_choices"] = choices
                    cells.append(cell)
                    log(cell_line(cell))
                add_thread_speedups(cells[-len(thread_counts):], series)
    finally:
        versions = {f"{key}/{threads}": worker.versions
                    for (key, threads), worker in workers.items()}
        for worker in workers.values():
            worker.close()
    return cells, versions, failures


def best_peer_series(steps):
    """``(key, series)`` of the fastest peer by median step time, TensorFlow counting as the
    better of its pinned and unpinned runs (None when no peer was measured)."""
    candidates = [k for k in steps if k.split("@")[0] in PEERS]
    if not candidates:
        return None, None
    key = min(candidates, key=lambda k: statistics.median(steps[k]))
    return key, steps[key]


def unresolved_message(steps_per_fit):
    """Why a contender has no step time: the difference of its two calls was lost in noise."""
    return (f"T_N - T_1 was not positive over {steps_per_fit} steps: the step time is below "
            f"the noise of the call's set-up; time more steps per call (--steps)")


def summarize(model, batch, samples, steps_per_fit, threads, series, parameters=None):
    """One cell's figures from each contender's per-repetition ``series``.

    A contender whose median step estimate :math:`(T_N - T_1)/(N - 1)` is not positive has no
    step time to report (with few steps, the set-up's noise exceeds the steps' time): it is
    listed under ``"unresolved"`` with the reason, and left out of the times and ratios."""
    unresolved = {key: unresolved_message(steps_per_fit) for key, s in series.items()
                  if statistics.median(s["step"]) <= 0}
    raw, series = series, {key: s for key, s in series.items() if key not in unresolved}
    steps = {key: s["step"] for key, s in series.items()}
    cell = {"model": model, "batch": batch, "threads": threads, "samples_per_fit": samples,
            "steps_per_fit": steps_per_fit, "parameters": parameters,
            "unresolved": unresolved,
            "repetitions": min((len(v) for v in steps.values()), default=0),
            "step_ms": {k: 1e3 * statistics.median(v) for k, v in steps.items()},
            "samples_per_second": {k: batch / statistics.median(v) for k, v in steps.items()},
            "fit_setup_ms": {k: 1e3 * statistics.median(s["setup"])
                             for k, s in series.items() if s["setup"]},
            "cpu_per_wall": {k: statistics.median(s["cpu_per_wall"])
                             for k, s in series.items()},
            "cpu_step_ms": {k: 1e3 * statistics.median(s["cpu_step"])
                            for k, s in series.items() if s.get("cpu_step")},
            "spread": {k: max(v) / min(v) for k, v in steps.items() if min(v) > 0},
            "settle_ms": {k: 1e3 * statistics.median(s["settle"])
                          for k, s in series.items() if s.get("settle")},
            "raw": raw}
    cell["over_cores"] = sorted(k for k, v in cell["cpu_per_wall"].items()
                                if v > threads * 1.05 + 0.02)
    # TensorFlow: the better of pinned and unpinned counts
    tf = [k for k in ("keras_tf", "keras_tf@unpinned") if k in steps]
    if tf:
        cell["keras_tf_counted"] = min(tf, key=lambda k: statistics.median(steps[k]))
    ratios = {}
    if "numba" in steps:
        for key in steps:
            if key.split("@")[0] in PEERS or key == "numpy" or key in FUSED_FLOORS:
                ratios[f"{key}/numba"] = ratio_interval(steps[key], steps["numba"])
        if "floor" in steps:
            ratios["numba/floor"] = ratio_interval(steps["numba"], steps["floor"])
            if "numpy" in steps:
                ratios["numpy/floor"] = ratio_interval(steps["numpy"], steps["floor"])
            for key in steps:
                if key.split("@")[0] in PEERS:
                    ratios[f"{key}/floor"] = ratio_interval(steps[key], steps["floor"])
        best, best_steps = best_peer_series(steps)
        if best:
            cell["best_peer"] = best
            ratios["best_peer/numba"] = ratio_interval(best_steps, steps["numba"])
            if "numpy" in steps:
                ratios["best_peer/numpy"] = ratio_interval(best_steps, steps["numpy"])
            for fused, floor in FUSED_FLOORS.items():
                if fused in steps:
                    ratios[f"best_peer/{fused}"] = ratio_interval(best_steps, steps[fused])
                    if floor in steps:
                        ratios[f"{fused}/{floor}"] = ratio_interval(steps[fused], steps[floor])
    for floor in ("floor_mkl", "floor_fastest"):
        if "floor" in steps and floor in steps:
            ratios[f"{floor}/floor"] = ratio_interval(steps[floor], steps["floor"])
    cell["ratios"] = ratios
    cpu = {key: s["cpu_step"] for key, s in series.items() if s.get("cpu_step")}
    if "numba" in cpu:
        cell["cpu_ratios"] = {f"{key}/numba": ratio_interval(cpu[key], cpu["numba"])
                              for key in cpu if key != "numba"}
        if "floor" in cpu:
            cell["cpu_ratios"]["numba/floor"] = ratio_interval(cpu["numba"], cpu["floor"])
    return cell


def add_thread_speedups(cells, series):
    """On the cell with the most threads: each numpy_nn path's and each peer's 1-thread time
    over its N-thread time, repetition by repetition (both timed in the same rotation)."""
    counts = sorted(c["threads"] for c in cells)
    if len(counts) < 2:
        return
    low, high = counts[0], counts[-1]
    target = next(c for c in cells if c["threads"] == high)
    unresolved = {key for c in cells for key in c.get("unresolved", {})}
    target["speedup_over"] = low
    target["thread_speedup"] = {
        key: ratio_interval(series[(key, low)]["step"], series[(key, high)]["step"])
        for (key, threads) in series
        if threads == high and (key, low) in series and key not in unresolved}


def cell_line(cell):
    ratios = cell["ratios"]
    parts = [f"{key} {value:.3f}" for key, value in cell["step_ms"].items()]
    text = (f"  {cell['threads']} thread(s) {cell['model']:18s} batch {cell['batch']:5d} "
            f"(ms/step): " + "  ".join(parts))
    if "best_peer/numba" in ratios:
        r = ratios["best_peer/numba"]
        text += (f"  | best peer {cell['best_peer']} / numba x{r['ratio']:.2f} "
                 f"[{r['low']:.2f}, {r['high']:.2f}]")
    if "numba/floor" in ratios:
        text += f"  numba/floor x{ratios['numba/floor']['ratio']:.2f}"
    if cell["over_cores"]:
        text += f"  OVER CORES: {', '.join(cell['over_cores'])}"
    if cell.get("unresolved"):
        text += f"  UNRESOLVED (time more --steps): {', '.join(cell['unresolved'])}"
    return text
