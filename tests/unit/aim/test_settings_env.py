"""Settings from the environment: a variable that nearly spells a hub setting is named in a warning with the setting
it was meant to be; the portal's, the agent's and the tests' own variables are left alone."""

from __future__ import annotations

import logging

import pytest

from aim.settings import Settings


def test_a_misspelt_setting_is_ignored_with_a_warning_naming_the_one_meant(caplog: pytest.LogCaptureFixture) -> None:
    env = {"AIM_DATABSE_URL": "sqlite:////srv/aim/hub.db", "AIM_HUB_WORKER": "2", "AIM_TIMEZONE": "Europe/London"}
    with caplog.at_level(logging.WARNING, logger="aim.settings"):
        settings = Settings.from_env(env)
    assert settings.database_url == Settings().database_url
    assert settings.hub_workers == 1
    assert [r.getMessage() for r in caplog.records] == [
        "AIM_DATABSE_URL is not a hub setting and is ignored: did you mean AIM_DATABASE_URL?",
        "AIM_HUB_WORKER is not a hub setting and is ignored: did you mean AIM_HUB_WORKERS?",
    ]
    assert "sqlite:////srv" not in caplog.text, "the value stays out of the log"


def test_other_programs_variables_and_unrelated_names_raise_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "AIM_PORTAL_HOST": "127.0.0.1",
        "AIM_PORTAL_PORT": "8701",
        "AIM_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "AIM_PARTNER_TOKEN": "token",
        "AIM_POSTGRES_PASSWORD": "secret",
        "AIM_SOMETHING_ELSE": "1",
        "AIM_HUB_PORT": "8700",
    }
    with caplog.at_level(logging.WARNING, logger="aim.settings"):
        assert Settings.from_env(env).hub_port == 8700
    assert caplog.records == []
