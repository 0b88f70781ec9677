"""Alembic migrations for the hub's schema, run from code by :mod:`aim.storage.migrate`."""
