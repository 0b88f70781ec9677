"""The hub's storage: SQLAlchemy 2 Core tables, the engine set-up for SQLite and PostgreSQL, Alembic migrations
run from code, and repositories (plain functions over a :class:`~sqlalchemy.engine.Connection`).

See ``docs/storage.md`` for the tables and why they are shaped so.
"""
