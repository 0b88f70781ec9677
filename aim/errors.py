"""The application's exceptions.

Every error the application raises on purpose derives from :class:`AimError`, so the CLI and the API edge can turn
it into a plain message (and an exit code or an HTTP status) instead of a stack trace::

    AimError
    ├── ConfigError        settings or a configuration file are invalid
    ├── InputError         a file or value given by a user breaks a rule; the message names value, rule and fix
    └── NotFoundError      something asked for by id does not exist
"""


class AimError(Exception):
    """Base class: raised only through a subclass."""


class ConfigError(AimError):
    """Raised when settings or a configuration file are invalid; the message says which setting and how to fix it."""


class InputError(AimError):
    """Raised when user-supplied input breaks a rule; the message names the value, the rule and the fix."""


class NotFoundError(AimError):
    """Raised when a record, feed, person or file asked for by name or id does not exist."""
