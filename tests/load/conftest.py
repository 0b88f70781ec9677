"""The load tests import the benchmark they run (``bench/``, scripts run from the repository's root, not an
installed package): see ``tests/scale/conftest.py``."""

import tests.scale.conftest  # noqa: F401  (importing it puts the repository's root on the import path)
