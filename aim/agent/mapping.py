"""Column mapping: a partner whose extract's headers differ names, for each canonical column, its own header.

The mapping file is YAML, ``{canonical_name: partner_header}``::

    record_id: IncidentRef
    first_name: Forename
    last_name: Surname
    date_of_birth: DOB

A header that is neither a canonical name nor mapped to one is refused, not ignored (data minimisation): the
partner maps it or drops it from the extract.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from aim.errors import ConfigError, InputError

CANONICAL_COLUMNS = (
    "record_id",
    "local_id",
    "nhs_number",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "address",
    "postcode",
    "flag",
    "interaction_date",
    "lead_contact",
)
REQUIRED_COLUMNS = ("record_id", "flag", "interaction_date", "lead_contact")


def load_mapping(path: Path) -> dict[str, str]:
    """Read and check a mapping file.

    Raises:
        ConfigError: not YAML, not a mapping of canonical names to header strings, or two names on one header.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the column mapping: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a column mapping is a YAML mapping of canonical_name: partner_header")
    problems = []
    for name, header in data.items():
        if name not in CANONICAL_COLUMNS:
            problems.append(f"{name!r} is not a canonical column (one of {', '.join(CANONICAL_COLUMNS)})")
        if not isinstance(header, str) or not header.strip():
            problems.append(f"{name!r} must map to a header name (a non-empty string)")
    headers = [h for h in data.values() if isinstance(h, str)]
    for header in sorted({h for h in headers if headers.count(h) > 1}):
        problems.append(f"header {header!r} is mapped from more than one canonical column")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return {str(k): str(v) for k, v in data.items()}


def resolve_header(header: Sequence[str], mapping: dict[str, str]) -> dict[str, int]:
    """Which column of the extract holds each canonical column.

    Args:
        header: the extract's header row.
        mapping: canonical name to partner header (empty when the headers are canonical).

    Returns:
        Canonical column name to its index in each row.

    Raises:
        InputError: every problem with the header at once: unknown columns, duplicates, required columns missing.
    """
    by_header = {h: c for c, h in mapping.items()}
    problems: list[str] = []
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = raw.strip()
        canonical = by_header.get(name) or (name if name in CANONICAL_COLUMNS and name not in mapping else None)
        if canonical is None:
            problems.append(
                f"column {name!r} is not in the minimum data set: map it to a canonical column in the mapping "
                "file (--mapping) or drop it from the extract"
            )
        elif canonical in positions:
            problems.append(f"column {canonical!r} appears twice: keep one")
        else:
            positions[canonical] = index
    for name in REQUIRED_COLUMNS:
        if name not in positions:
            where = f" (mapped from {mapping[name]!r})" if name in mapping else ""
            problems.append(f"required column {name!r}{where} is missing")
    if "first_name" not in positions and "last_name" not in positions:
        problems.append("the extract needs a first_name or a last_name column")
    if problems:
        raise InputError("the extract's header cannot be used: " + "; ".join(problems))
    return positions
