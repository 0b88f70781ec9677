"""The complete schema: imports every table module so that :data:`metadata` holds every table.

Import ``metadata`` from here (not from :mod:`aim.storage.tables`) wherever the whole schema is meant: migrations,
schema comparisons, ``create_all`` in throwaway test databases.
"""

from __future__ import annotations

from aim.storage import governance_tables, identity_tables, rules_tables, search_tables
from aim.storage.tables import metadata

__all__ = ["governance_tables", "identity_tables", "metadata", "rules_tables", "search_tables"]
