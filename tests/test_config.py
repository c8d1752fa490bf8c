"""One declaration of the settings: the README, --help and the parser agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from ops.config import ConfigError, Settings
from ops.settings_doc import documented, markdown_table
from server.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_readme_table_is_the_declared_settings() -> None:
    readme = (ROOT / "README.md").read_text()
    assert markdown_table() in readme, "regenerate the README table: python -m ops.settings_doc"


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


@pytest.mark.parametrize(
    ("env", "raw", "says"),
    [
        (
            "RATELINE_WS_HEARTBEAT",
            "0",
            "RATELINE_WS_HEARTBEAT=0.0 is not valid: must be more than 0",
        ),
        ("RATELINE_SIM_INTERVAL", "-5", "must be more than 0"),
        ("RATELINE_LEADER_CHECK_SECONDS", "nan", "expected a finite number"),
        (
            "RATELINE_CHANNEL_HISTORY",
            "0",
            "RATELINE_CHANNEL_HISTORY=0 is not valid: must be at least 1",
        ),
        ("RATELINE_PORT", "70000", "must be at most 65535"),
        ("RATELINE_WS_SOCKET_SEND_BUFFER", "-1", "must be at least 0"),
        ("RATELINE_DB_POOL_MIN", "20", "must be at most RATELINE_DB_POOL_MAX (10)"),
    ],
)
def test_a_number_out_of_range_names_the_variable_and_the_range(
    env: str, raw: str, says: str
) -> None:
    with pytest.raises(ConfigError) as error:
        Settings.from_env({env: raw})
    assert says in str(error.value)


def test_the_edges_of_each_range_are_accepted() -> None:
    settings = Settings.from_env(
        {
            "RATELINE_WS_SOCKET_SEND_BUFFER": "0",
            "RATELINE_PORT": "0",
            "RATELINE_AI_DAILY_TOKENS": "0",
        }
    )
    assert (settings.ws_socket_send_buffer, settings.port, settings.ai_daily_tokens) == (0, 0, 0)
    with pytest.raises(ConfigError, match="RATELINE_WS_HEARTBEAT"):
        settings.replace(ws_heartbeat=0.0)


def test_serve_refuses_to_start_on_a_number_out_of_range(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RATELINE_WS_HEARTBEAT_TIMEOUT", "0")
    assert main(["serve"]) == 2
    assert "RATELINE_WS_HEARTBEAT_TIMEOUT=0.0 is not valid" in capsys.readouterr().err


def test_readme_lists_every_route() -> None:
    from server.app import ROUTE_MODULES

    readme = (ROOT / "README.md").read_text()
    for module in ROUTE_MODULES:
        for endpoint in module.routes.endpoints:
            assert f"`{endpoint.method} {endpoint.template}`" in readme
