"""The CPU a hub under test uses: its uvicorn process and every process it started (workers, their child processes),
read with psutil, sampled over a run, and waited on until the hub is idle."""

from __future__ import annotations

import threading
import time

import numpy as np
import psutil


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and the processes it started (uvicorn's workers and
    their child processes); 0 once it has ended."""
    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in tree:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue  # ended meanwhile
        total += times.user + times.system
    return total


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
