"""The CPU a hub under test uses: its uvicorn process and every process it started (workers, their child processes),
read from /proc, sampled over a run, and waited on until the hub is idle."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and the processes it started (uvicorn's workers and
    their child processes)."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            stats[int(stat.parent.name)] = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError):
            continue  # ended meanwhile
    tree, grew = {pid}, True
    while grew:
        more = {p for p, fields in stats.items() if int(fields[1]) in tree} - tree
        tree |= more
        grew = bool(more)
    ticks = sum(int(stats[p][11]) + int(stats[p][12]) for p in tree if p in stats)
    return ticks / os.sysconf("SC_CLK_TCK")


class CpuSampler(threading.Thread):
    """Samples a process's CPU seconds every 0.2 s, so its use over any window can be read afterwards."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.samples, self.done = pid, [(time.time(), cpu_seconds(pid))], threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.2):
            self.samples.append((time.time(), cpu_seconds(self.pid)))

    def share(self, t0: float, t1: float) -> float:
        """CPU used in [t0, t1] as a share of one core."""
        times = np.array([t for t, _ in self.samples])
        cpu = np.array([c for _, c in self.samples])
        return float((np.interp(t1, times, cpu) - np.interp(t0, times, cpu)) / (t1 - t0))


def settle(pid: int, *, idle_share: float = 0.05, limit_s: float = 60.0) -> float:
    """Wait until the hub's processes use under ``idle_share`` of a core over a second: the API answers before the
    child processes it starts (the batch checker and the after-commit process: imports, the linkage model) are ready,
    and their start-up must not fall in the quiet window. Returns the seconds waited."""
    began = time.monotonic()
    before = cpu_seconds(pid)
    while time.monotonic() - began < limit_s:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - before < idle_share:
            break
        before = now
    return time.monotonic() - began
