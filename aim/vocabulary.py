"""The flag vocabulary and the demo partnership, loaded from ``aim/data/vocabulary.yaml``.

Each flag belongs to one data category; a partner has a type (police, health, ...) used by rules that count
distinct partner types.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    type: str


@dataclass(frozen=True)
class Vocabulary:
    categories: dict[str, tuple[str, ...]]
    partners: dict[str, Partner]

    @property
    def flags(self) -> dict[str, str]:
        """Every flag mapped to its category."""
        return {flag: category for category, flags in self.categories.items() for flag in flags}


@cache
def default_vocabulary() -> Vocabulary:
    """The partnership's agreed vocabulary, as shipped."""
    text = resources.files("aim.data").joinpath("vocabulary.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    return Vocabulary(
        categories={name: tuple(flags) for name, flags in data["categories"].items()},
        partners={
            code: Partner(code=code, name=spec["name"], type=spec["type"]) for code, spec in data["partners"].items()
        },
    )
