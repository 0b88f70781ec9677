"""Event recognition: rule versions, runs, alerts with their evidence, the watch list and notifications.

Tables are declared on the shared :data:`aim.storage.tables.metadata`; :mod:`aim.storage.schema` imports every
table module so the metadata is complete.
"""

from __future__ import annotations

from aim.storage.tables import metadata

__all__ = ["metadata"]
