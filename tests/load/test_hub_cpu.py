"""The hub's CPU as the load benchmark reads it: the process and every process under it, counted in CPU seconds."""

from __future__ import annotations

import subprocess
import sys

import psutil

from bench.hub_cpu import cpu_seconds

# A child that starts a grandchild which burns 0.3 s of its own CPU, says so, and waits to be killed.
_BURNER = "import time\nwhile time.process_time() < 0.3: pass\nprint('burnt', flush=True)\ntime.sleep(60)"
_PARENT = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {_BURNER!r}])"


def test_the_cpu_of_a_process_counts_the_processes_it_started_and_nothing_once_it_has_ended() -> None:
    with subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True) as parent:
        try:
            assert parent.stdout is not None
            assert parent.stdout.readline().strip() == "burnt"
            assert cpu_seconds(parent.pid) >= 0.3, "the grandchild's CPU is counted"
        finally:
            for process in psutil.Process(parent.pid).children(recursive=True):
                process.kill()
            parent.kill()
    assert cpu_seconds(parent.pid) == 0.0
