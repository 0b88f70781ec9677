"""Integration tests run on real databases: SQLite, and PostgreSQL when AIM_TEST_POSTGRES_URL is set."""

from tests.databases import *  # noqa: F403
