"""The linkage library's exceptions::

LinkageError
├── NormalisationError   a raw value cannot be normalised (an impossible date, a malformed NHS number, ...)
├── EncodedValueError    an encoded value cannot be decoded into a record batch (wrong length, not base64)
├── ModelError           a linkage model (comparisons, blocking rules, m/u, thresholds) is invalid or unreadable
└── EvaluationError      a truth, links or relationships table given for evaluation is malformed
"""


class LinkageError(Exception):
    """Base class for every error raised on purpose by :mod:`linkage`."""


class NormalisationError(LinkageError):
    """Raised when a raw identifier cannot be normalised; the message gives the rule and the fix, never the value."""


class EncodedValueError(LinkageError):
    """Raised when an encoded value cannot be decoded into a :class:`linkage.batch.RecordBatch`."""


class ModelError(LinkageError):
    """Raised when a linkage model or one of its parts is invalid; the message lists every problem found."""


class EvaluationError(LinkageError):
    """Raised when a truth, links or relationships table lacks a column or lists a record twice."""
