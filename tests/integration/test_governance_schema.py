"""Migrations 0004 and 0006 (staff passwords) create exactly the governance tables declared in
aim.storage.governance_tables, on SQLite and PostgreSQL, and go down and up again cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from aim.bootstrap import Hub
from aim.storage import governance_tables, migrate
from aim.storage.schema import metadata

OURS = {
    table.name
    for table in (
        governance_tables.staff_users,
        governance_tables.staff_tokens,
        governance_tables.staff_passwords,
        governance_tables.audit_log,
        governance_tables.audit_checkpoints,
        governance_tables.restricted_persons,
        governance_tables.break_glass_grants,
        governance_tables.break_glass_uses,
    )
}


def _table_of(diff: object) -> str | None:
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item if isinstance(item, tuple) else (item,):
            name = getattr(part, "name", None) if not isinstance(part, str) else None
            table = getattr(part, "table", None)
            if table is not None and getattr(table, "name", None):
                return str(table.name)
            if name in OURS:
                return str(name)
        if isinstance(item, tuple) and len(item) > 2 and isinstance(item[2], str):
            return item[2]
    return None


def test_the_migrated_schema_matches_the_declarations(hub: Hub) -> None:
    with hub.database.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = [d for d in compare_metadata(context, metadata) if _table_of(d) in OURS]
    assert diffs == []


def test_0004_goes_down_and_up(hub: Hub) -> None:
    engine = hub.database.engine
    migrate.upgrade(engine, "head")
    from alembic import command

    command.downgrade(migrate.alembic_config(engine), "0003")
    assert not OURS & set(inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert set(inspect(engine).get_table_names()) >= OURS


def test_0006_goes_down_and_up_keeping_the_users(hub: Hub) -> None:
    from alembic import command

    engine = hub.database.engine
    hub.access.users.add(user_id="j.smith", display_name="J Smith", role="dpo")
    hub.sign_in.set_password(user_id="j.smith", password="synthetic-correct-horse-42", actor="cli:test")
    command.downgrade(migrate.alembic_config(engine), "0005")
    assert "staff_passwords" not in inspect(engine).get_table_names()
    assert [u.user_id for u in hub.access.users.all()] == ["j.smith"]
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    columns = {c["name"]: c["nullable"] for c in inspect(engine).get_columns("staff_passwords")}
    assert columns == {
        "user_pk": False,
        "password_hash": False,
        "set_at": False,
        "failed_attempts": False,
        "last_failed_at": True,
        "locked_until": True,
    }
