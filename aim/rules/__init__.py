"""Event recognition: rules as versioned YAML data, compiled to SQL, raising alerts with their explanation.

Modules: :mod:`~aim.rules.model` (the rule), :mod:`~aim.rules.loader` (YAML with located problems),
:mod:`~aim.rules.query` (a rule as one SQL statement), :mod:`~aim.rules.decision` (raise, add or nothing, per
person), :mod:`~aim.rules.store` (alerts' rows), :mod:`~aim.rules.service` (runs: ingest, nightly, backtest,
re-evaluation after a split), :mod:`~aim.rules.schedule` (the nightly job).
"""
