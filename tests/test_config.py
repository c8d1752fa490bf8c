"""One declaration of the settings: the README, --help and the parser agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.config import ConfigError, Settings, documented, markdown_table
from server.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_table_is_the_declared_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "regenerate the README table: python -m ops.config"


def test_serve_help_lists_every_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["serve", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for doc in documented():
        assert doc.env in text


def test_environment_is_parsed_by_type_and_flags_win() -> None:
    settings = Settings.from_env(
        {"RATELINE_PORT": "9001", "RATELINE_DEV_MAILBOX": "yes", "RATELINE_SIM_INTERVAL": "0.5"},
        port=9002,
    )
    assert settings.port == 9002
    assert settings.dev_mailbox is True
    assert settings.sim_interval == 0.5
    assert settings.data_dir == Path("var")


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="RATELINE_PORT='eighty'"):
        Settings.from_env({"RATELINE_PORT": "eighty"})
    with pytest.raises(ConfigError, match="RATELINE_DEV_MAILBOX"):
        Settings.from_env({"RATELINE_DEV_MAILBOX": "maybe"})


def test_readme_lists_every_route() -> None:
    from server.app import ROUTE_MODULES

    readme = (ROOT / "README.md").read_text()
    for module in ROUTE_MODULES:
        for endpoint in module.routes.endpoints:
            assert f"`{endpoint.method} {endpoint.path}`" in readme
