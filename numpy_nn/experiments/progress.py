"""Progress people can follow: one live line of done / running / failed tasks with an ETA
(tqdm), and in verbose mode one line per finished task (where it ran, how long it took, its
final metrics, or its error)."""
from __future__ import annotations

import sys
import time

__all__ = ["Progress"]


class Progress:
    """Counts finished tasks and draws them. ``enabled=False`` draws nothing (the counts are
    still kept); without tqdm installed the live line falls back to a printed line every
    finished task."""

    def __init__(self, total, skipped=0, failed_before=0, enabled=True, verbose=False,
                 file=None, description="tasks"):
        self.total, self.skipped, self.verbose = total, skipped, verbose
        self.file = file or sys.stderr
        self.ok = self.failed = self.running = 0
        self.start = time.perf_counter()
        self.enabled = enabled
        self._bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=description, file=self.file, unit="task",
                                 dynamic_ncols=True, mininterval=0.5, smoothing=0.1)
        if skipped or failed_before:
            self.write(f"{skipped} task(s) already finished in the results folder, skipped"
                       + (f"; {failed_before} failed earlier, run again" if failed_before
                          else ""))
        self._refresh()

    def write(self, line):
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.write(line, file=self.file)
        else:
            print(line, file=self.file, flush=True)

    def set_running(self, running):
        if running != self.running:
            self.running = running
            self._refresh()

    def task_done(self, record):
        if record["status"] == "ok":
            self.ok += 1
        else:
            self.failed += 1
        if self.verbose:
            self.write(describe(record))
        elif record["status"] != "ok":
            self.write(f"FAILED {record['name']} ({record['id']}): {last_line(record['error'])}")
        if self._bar is not None:
            self._bar.update(1)
        elif self.enabled:
            done = self.ok + self.failed
            elapsed = time.perf_counter() - self.start
            eta = elapsed / done * (self.total - done)
            self.write(f"[{done}/{self.total}] ok {self.ok}, failed {self.failed}, "
                       f"ETA {eta:.0f} s")
        self._refresh()

    def _refresh(self):
        if self._bar is not None:
            self._bar.set_postfix_str(f"done {self.ok}, running {self.running}, "
                                      f"failed {self.failed}", refresh=False)

    def close(self):
        if self._bar is not None:
            self._bar.close()


def last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def describe(record):
    """One line about a finished task: status, name, worker, time, final metrics."""
    where = f"{record.get('host', '?')}:{record.get('pid', '?')}"
    head = f"{record['status']:<6} {record['name']}  [{where}, {record.get('seconds', 0):.1f} s]"
    if record["status"] != "ok":
        return f"{head}  {last_line(record.get('error'))}"
    metrics = ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                        for key, value in (record.get("metrics") or {}).items())
    return f"{head}  {metrics}"
