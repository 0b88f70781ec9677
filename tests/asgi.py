"""Starlette's TestClient, imported without failing the suite on its deprecation warning.

Starlette warns when its TestClient runs on ``httpx`` rather than ``httpx2``; the project depends on ``httpx`` (the
agent's HTTP client), and the warning is about Starlette's future, not about this code.
"""

import warnings

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

__all__ = ["TestClient"]
