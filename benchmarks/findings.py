"""What a benchmark run found: typed findings computed from its records, and nothing else.

:mod:`benchmarks.analysis` summarises each cell; this module reads a whole run (the dict
``benchmarks.run`` saves) and returns findings: comparisons with the best peer (with the A/A
control's verdict), target checks with their figures, and for every check not met what the
measurements say limits it. :mod:`benchmarks.report` turns findings into sentences and tables;
no sentence of the report states a figure that is not in a finding.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from benchmarks.analysis import beyond_control, control_band, efficiency
from benchmarks.engines import CONTROL, HEADLINE, UNPRIMED

#: the targets, each a limit on a measured figure (see :func:`target_checks`)
TARGETS = {
    "ahead_of_best_peer": 1.0,     # best peer / headline, beyond the A/A band, every cell
    "best_peer_batch_32": 1.5,     # best peer / headline at batch 32
    "over_gemm_floor": 1.10,       # headline step / its GEMM floor, every cell
    "efficiency_batch_1024": 0.85,  # headline's GEMM FLOP/s / peak SGEMM, batch 1024
    "two_thread_speedup": 1.7,     # headline's 1-thread / 2-thread step time, batch 1024
    "peak_rss_over_budget": 1.5,   # compiled path's peak RSS / (data + model + state)
    "allocations_per_step": 0,     # NumPy buffers + Numba records per steady step
}


@dataclass(frozen=True)
class Comparison:
    """One engine against the best peer in one cell: ``ratio`` is the peer's step time over
    the engine's (above 1: the engine is faster), over processes; ``verdict`` is "faster" /
    "slower" only where the interval lies beyond the A/A control's band."""
    model: str
    batch: int
    threads: int
    engine: str
    peer: str
    ratio: dict
    band: tuple | None
    verdict: str | None


@dataclass(frozen=True)
class Check:
    """A target in one cell (or for one engine): the measured value, its interval when it
    has one, the limit and whether it is met."""
    family: str
    where: str
    value: float
    need: float
    met: bool
    interval: dict | None = None
    unit: str = "x"
    versus: str | None = None          # the peer a ratio is taken against
    limit: dict = field(default_factory=dict)   # what limits it, measured (when not met)


def cells(results, threads=None, model=None, batch=None):
    return [c for c in results.get("training", [])
            if (threads is None or c["threads"] == threads)
            and (model is None or c["model"] == model) and (batch is None or c["batch"] == batch)]


def thread_counts(results):
    return sorted({c["threads"] for c in results.get("training", [])})


def comparisons(results, engine=HEADLINE):
    """Every cell's :class:`Comparison` of ``engine`` with the best peer."""
    found = []
    for c in cells(results):
        ratio = c["ratios"].get(f"best_peer/{engine}")
        if ratio:
            band = control_band(c)
            verdict = {"above": "faster", "below": "slower"}.get(beyond_control(ratio, band))
            found.append(Comparison(c["model"], c["batch"], c["threads"], engine,
                                    c["best_peer"], ratio, band, verdict))
    return found


def control_spreads(results):
    """``[(cell, interval)]``: the A/A control's ratio (``jit@aa`` over ``jit``) per cell."""
    return [(c, c["ratios"][f"{CONTROL}/{HEADLINE}"]) for c in cells(results)
            if f"{CONTROL}/{HEADLINE}" in c["ratios"]]


def priming_effects(results):
    """``[(cell, interval)]``: the unprimed headline's step time over the primed one's."""
    return [(c, c["ratios"][f"{UNPRIMED}/{HEADLINE}"]) for c in cells(results)
            if f"{UNPRIMED}/{HEADLINE}" in c["ratios"]]


def efficiencies(results):
    """``[(cell, {contender: efficiency})]`` for the cells with a FLOP count and a peak."""
    peak = results.get("peak")
    return [(c, e) for c in cells(results) for e in [efficiency(c, peak)] if e]


def best_peers(results, threads):
    """``{peer key: cells won}`` at ``threads``."""
    won = {}
    for c in cells(results, threads):
        if c.get("best_peer"):
            won[c["best_peer"]] = won.get(c["best_peer"], 0) + 1
    return won


def _where(c):
    return (c["model"], c["batch"], c["threads"])


def _peer_checks(results, engine):
    checks = []
    for comparison in comparisons(results, engine):
        c = next(c for c in cells(results, comparison.threads, comparison.model,
                                  comparison.batch))
        where = (comparison.model, comparison.batch, comparison.threads)
        limit = _peer_limit(c, engine)
        checks.append(Check("ahead of the best peer beyond the A/A band", where,
                            comparison.ratio["ratio"], TARGETS["ahead_of_best_peer"],
                            comparison.verdict == "faster", comparison.ratio,
                            versus=comparison.peer,
                            limit={**limit, "band": comparison.band}))
        if comparison.batch == 32:
            need = TARGETS["best_peer_batch_32"]
            checks.append(Check(f">= {need:g}x the best peer at batch 32", where,
                                comparison.ratio["ratio"], need,
                                comparison.ratio["ratio"] >= need, comparison.ratio,
                                versus=comparison.peer, limit=limit))
    return checks


def _peer_limit(c, engine):
    """The peer's step over our GEMM floor, and our time outside the GEMMs (medians)."""
    ms, floor = c["step_ms"], "floor"
    if floor not in ms or engine not in ms:
        return {}
    return {"peer_over_floor": ms[c["best_peer"]] / ms[floor],
            "outside_gemm_ms": ms[engine] - ms[floor], "over_floor": ms[engine] / ms[floor]}


def target_checks(results, engine=HEADLINE):
    """Every target of the run, for ``engine`` (default: the headline)."""
    checks = _peer_checks(results, engine)
    allocations = {(a["model"], a["batch"]): a for a in results.get("allocations", [])
                   if a["engine"] == engine}
    for c in cells(results):
        r = c["ratios"].get(f"{engine}/floor")
        if r:
            alloc = allocations.get((c["model"], c["batch"]))
            checks.append(Check(f"<= {TARGETS['over_gemm_floor']:g}x its GEMM floor",
                                _where(c), r["ratio"], TARGETS["over_gemm_floor"],
                                r["ratio"] <= TARGETS["over_gemm_floor"], r,
                                limit={"outside_gemm_ms": c["step_ms"][engine]
                                       - c["step_ms"]["floor"],
                                       "allocations": None if alloc is None else
                                       alloc["numpy_count_per_step"]
                                       + (alloc["numba_count_per_step"] or 0)}))
    for c, found in efficiencies(results):
        if c["batch"] == 1024 and engine in found:
            need = TARGETS["efficiency_batch_1024"]
            checks.append(Check(f">= {need:.0%} of the peak SGEMM rate at batch 1024",
                                _where(c), found[engine], need, found[engine] >= need,
                                unit="%", limit={"floor": found.get("floor")}))
    for c in cells(results, batch=1024):
        s = c.get("thread_speedup", {})
        if engine in s:
            need = TARGETS["two_thread_speedup"]
            checks.append(Check(f"{c['threads']} threads >= {need:g}x faster than "
                                f"{c['speedup_over']} at batch 1024", _where(c),
                                s[engine]["ratio"], need, s[engine]["ratio"] >= need, s[engine],
                                limit={"floor": s.get("floor", {}).get("ratio")}))
    for label, rss in results.get("peak_rss", {}).items():
        if "jit_compile=True" in label and rss.get("budget_mb"):
            ratio = rss["peak_rss_mb"] / rss["budget_mb"]
            need = TARGETS["peak_rss_over_budget"]
            checks.append(Check(f"peak RSS <= {need:g}x (data + model + optimizer state)",
                                (label,), ratio, need, ratio <= need,
                                limit={"rss": rss}))
    for a in results.get("allocations", []):
        if a["engine"] == engine:
            count = a["numpy_count_per_step"] + (a["numba_count_per_step"] or 0)
            checks.append(Check("no allocation in a steady training step",
                                (a["model"], a["batch"]), count, 0, count == 0, unit="",
                                limit={"bytes": a["numpy_bytes_per_step"]}))
    return checks
