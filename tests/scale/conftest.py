"""The scale test imports the benchmark it runs small: ``bench/`` is a folder of scripts run from the repository's
root (``python -m bench.bench_scale``), not an installed package, so the root goes on the import path."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.append(ROOT)
