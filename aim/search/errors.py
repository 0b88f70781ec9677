"""Search errors: the query breaks a rule (too thin to search with, or not a valid encoding).

InputError (aim.errors)
└── QueryError      the query cannot be searched with; the message names the rule and the fix, never a value
"""

from __future__ import annotations

from aim.errors import InputError


class QueryError(InputError):
    """Raised when a search query is too thin to search with, or its encodings break the schema."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = [{"code": "query", "detail": p} for p in problems or []]
