"""The linkage library's exceptions::

LinkageError
└── NormalisationError   a raw value cannot be normalised (an impossible date, a malformed NHS number, ...)
"""


class LinkageError(Exception):
    """Base class for every error raised on purpose by :mod:`linkage`."""


class NormalisationError(LinkageError):
    """Raised when a raw identifier cannot be normalised; the message gives the rule and the fix, never the value."""
