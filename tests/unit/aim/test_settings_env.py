"""Settings from the environment: a variable that nearly spells a hub setting stops the hub with the setting it was
meant to be; the portal's, the agent's and the tests' own variables are left alone."""

from __future__ import annotations

import pytest

from aim.errors import ConfigError
from aim.settings import Settings


def test_a_misspelt_setting_is_refused_naming_the_setting_meant() -> None:
    env = {"AIM_DATABSE_URL": "sqlite:////srv/aim/hub.db", "AIM_HUB_WORKER": "2", "AIM_TIMEZONE": "Europe/London"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    assert str(refused.value) == (
        "not hub settings: AIM_DATABSE_URL (did you mean AIM_DATABASE_URL?); AIM_HUB_WORKER (did you mean "
        "AIM_HUB_WORKERS?): rename the variables, or unset them"
    )


def test_other_programs_variables_and_unrelated_names_are_left_alone() -> None:
    env = {
        "AIM_PORTAL_HOST": "127.0.0.1",
        "AIM_PORTAL_PORT": "8701",
        "AIM_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        "AIM_PARTNER_TOKEN": "token",
        "AIM_POSTGRES_PASSWORD": "secret",
        "AIM_SOMETHING_ELSE": "1",
        "AIM_HUB_PORT": "8700",
    }
    assert Settings.from_env(env).hub_port == 8700
