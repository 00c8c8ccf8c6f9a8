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

**Ratios and intervals.** Every contender is timed in several fresh worker processes (the
``processes`` rounds of :func:`run_training_grid`); every ratio between two contenders (or
thread counts) pairs their process means round by round and is reported as the geometric mean
of those ratios with a 95% t-interval over processes (:mod:`benchmarks.analysis`).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass

from benchmarks.analysis import add_thread_speedups, summarize
from benchmarks.engines import CONTROL, FLOORS, HEADLINE, NEEDS_MKL, OURS, PEERS, TITLES, UNPRIMED

__all__ = ["TITLES", "available_engines", "run_training_grid", "worker_env", "engine_env"]
#: set by some machines for old OpenBLAS builds; removed in the workers (only there), since
#: they slow a current NumPy's OpenBLAS and would handicap numpy_nn alone (the peers do not
#: use that library)
OPENBLAS_ENVIRONMENT = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# a worker counts as idle after SETTLE_QUIET seconds without CPU time (Linux counts it in 10 ms
# ticks); the harness waits at most SETTLE_LIMIT seconds for that (Worker.settle)
SETTLE_QUIET, SETTLE_LIMIT = 0.03, 1.0
@dataclass(frozen=True)
class Contender:
    key: str             # "keras_tf@unpinned"
    engine: str          # the worker's --engine
    pinned: bool = True
    environment: tuple = ()   # (name, value) pairs set in this worker's environment


def available_peers():
    """``(peers, skipped)``: the peer engines importable here, and for the others why not."""
    import importlib.util
    skipped = {}
    need = {"keras_tf": ("tensorflow", "keras"), "keras_tf_xla": ("tensorflow", "keras"),
            "keras_jax": ("jax", "keras"),
            "torch": ("torch",), "torch_compile": ("torch",)}
    for engine, modules in need.items():
        missing = [m for m in modules if importlib.util.find_spec(m) is None]
        if missing:
            extra = "tf" if engine.startswith("keras_tf") else "bench-peers"
            skipped[engine] = (f"{', '.join(missing)} not installed (pip install "
                               f"'numpy_nn[{extra}]')")
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


def contenders_for(engines, threads, cores, controls=True):
    """The contenders of one thread count: every engine; TensorFlow (with and without XLA)
    also unpinned when given fewer threads than there are cores; and with ``controls``, the
    headline engine twice more: the A/A control and the run without BLAS priming."""
    chosen = [Contender(engine, engine) for engine in engines]
    for engine in ("keras_tf", "keras_tf_xla"):
        if engine in engines and threads < cores:
            chosen.append(Contender(f"{engine}@unpinned", engine, pinned=False))
    if controls and HEADLINE in engines:
        chosen.append(Contender(CONTROL, HEADLINE))
        chosen.append(Contender(UNPRIMED, HEADLINE,
                                environment=(("NUMPY_NN_PRIME_BLAS", "0"),)))
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
            text=True, env={**engine_env(env, contender.engine, threads),
                            **dict(contender.environment)},
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
    it, so TensorFlow uses its own default, oneDNN on for x86), quiet TensorFlow logs, and
    no :data:`OPENBLAS_ENVIRONMENT` (the report records what this process had set)."""
    env = dict(os.environ)
    for name in ("TF_ENABLE_ONEDNN_OPTS", "NUMPY_NN_PRIME_BLAS") + OPENBLAS_ENVIRONMENT:
        env.pop(name, None)
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
                      tf_onednn="default", nice=0, log=print, processes=1, controls=True):
    """Measure every (model, batch) cell at every thread count, interleaved; return
    ``(cells, versions, failures)``: one result per (model, batch, threads), the versions each
    worker reported, and ``{contender key: error}`` for contenders that failed in a cell.

    ``processes`` rounds: in each, every contender (at every thread count) gets a fresh
    worker process, which prepares each cell (its own warm-up) and is timed ``repetitions``
    times in rotation with all the others; then all of them exit. A contender's figures in a
    cell thus come from ``processes`` independent processes (:mod:`benchmarks.analysis`)."""
    cpus = sorted(os.sched_getaffinity(0))
    env = worker_env(tf_onednn)
    slots = [(contender, threads) for threads in thread_counts
             for contender in contenders_for(engines, threads, len(cpus), controls)]
    grid = [(model, batch) for model in models for batch in batches]
    series = {cell: {} for cell in grid}
    prepared = {cell: {} for cell in grid}
    versions, failures = {}, {}
    for process in range(processes):
        log(f" process round {process + 1} of {processes}")
        workers = {(c.key, threads): Worker(c, threads, env, cpus, nice) for c, threads in slots}
        try:
            for model, batch in grid:
                _time_cell(workers, (model, batch), samples_for(batch), repetitions, process,
                           series[(model, batch)], prepared[(model, batch)], failures,
                           lambda key, threads: Worker(next(c for c, t in slots
                                                            if c.key == key and t == threads),
                                                       threads, env, cpus, nice), log)
        finally:
            versions.update({f"{key}/{threads}": worker.versions
                             for (key, threads), worker in workers.items()})
            for worker in workers.values():
                worker.close()
    cells = []
    for model, batch in grid:
        found = []
        for threads in thread_counts:
            found.append(_cell(model, batch, samples_for(batch), threads, series[(model, batch)],
                               prepared[(model, batch)]))
            log(cell_line(found[-1]))
        add_thread_speedups(found, series[(model, batch)])
        cells += found
    return cells, versions, failures


def _time_cell(workers, cell, samples, repetitions, process, series, prepared, failures,
               restart, log):
    """One process round of one cell: prepare every worker, then time ``repetitions``
    rotations of all contenders, appending to ``series[(key, threads)]``."""
    model, batch = cell
    active = []
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
                workers[name] = restart(*name)
    steps = prepared[active[0]]["steps"]
    if steps < 2:
        raise ValueError(f"{model}, batch {batch}: a cell needs at least 2 steps "
                         f"per fit to separate set-up from step time, got {steps}")
    timed = active + [(floor, threads) for floor, engine in FLOORS.items()
                      for key, threads in active if key == engine]
    for name in timed:
        series.setdefault(name, {"step": [], "setup": [], "cpu_per_wall": [], "cpu_step": [],
                                 "settle": [], "process": []})
    for repetition in range(repetitions):
        shift = repetition % len(timed)
        for name in timed[shift:] + timed[:shift]:
            record = series[name]
            record["process"].append(process)
            if name[0] in FLOORS:
                worker = workers[(FLOORS[name[0]], name[1])]
                reply = worker.ask(cmd="floor")
                record["settle"].append(worker.settle())
                record["step"].append(reply["seconds"] / steps)
                record["cpu_step"].append(reply["cpu_seconds"] / steps)
                record["cpu_per_wall"].append(reply["cpu_seconds"] / reply["seconds"])
                continue
            whole = workers[name].ask(cmd="fit")
            first = workers[name].ask(cmd="fit", steps=1)
            # its pools idle before the next contender starts (not between its own two
            # calls: a user's next call finds them as they are)
            record["settle"].append(workers[name].settle())
            step = (whole["seconds"] - first["seconds"]) / (steps - 1)
            record["step"].append(step)
            record["setup"].append(first["seconds"] - step)
            record["cpu_per_wall"].append(whole["cpu_seconds"] / whole["seconds"])
            record["cpu_step"].append((whole["cpu_seconds"] - first["cpu_seconds"])
                                      / (steps - 1))


def _cell(model, batch, samples, threads, series, prepared):
    """The summary of one (model, batch, threads) over every process round."""
    steps = next(reply["steps"] for reply in prepared.values())
    parameters = next((reply["parameters"] for (key, t), reply in prepared.items()
                       if t == threads and key == "numba"), None)
    cell = summarize(model, batch, samples, steps, threads,
                     {key: value for (key, t), value in series.items() if t == threads},
                     parameters)
    flops = next((reply["gemm_flops"] for (key, t), reply in prepared.items()
                  if t == threads and "gemm_flops" in reply), None)
    if flops:
        cell["gemm_flops_per_step"] = flops
    return cell


def cell_line(cell):
    ratios = cell["ratios"]
    parts = [f"{key} {value:.3f}" for key, value in cell["step_ms"].items()]
    text = (f"  {cell['threads']} thread(s) {cell['model']:18s} batch {cell['batch']:5d} "
            f"(ms/step): " + "  ".join(parts))
    for name in (f"best_peer/{HEADLINE}", f"{CONTROL}/{HEADLINE}", f"{UNPRIMED}/{HEADLINE}"):
        if name in ratios:
            r = ratios[name]
            text += (f"  | {name.replace('best_peer', cell['best_peer'])} x{r['ratio']:.2f} "
                     f"[{r['low']:.2f}, {r['high']:.2f}]")
    if cell["over_cores"]:
        text += f"  OVER CORES: {', '.join(cell['over_cores'])}"
    if cell.get("unresolved"):
        text += f"  UNRESOLVED (time more --steps): {', '.join(cell['unresolved'])}"
    return text
