"""Settings that would weaken the server are refused at start-up."""

from __future__ import annotations

import pytest

from ops.config import ConfigError, Settings


@pytest.mark.parametrize(
    ("variable", "value"),
    [("RATELINE_ARGON2_MEMORY_KIB", "8192"), ("RATELINE_ARGON2_TIME_COST", "1")],
)
def test_argon2_below_the_owasp_minimum_is_refused(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


def test_the_owasp_minimum_itself_is_accepted() -> None:
    settings = Settings.from_env(
        {"RATELINE_ARGON2_MEMORY_KIB": "19456", "RATELINE_ARGON2_TIME_COST": "2"}
    )
    assert (settings.argon2_memory_kib, settings.argon2_time_cost) == (19456, 2)
