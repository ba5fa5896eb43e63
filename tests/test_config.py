"""Configuration loading: defaults, every table, and errors with key paths."""

from __future__ import annotations

import stat
from datetime import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from db4e.cli import main
from db4e.config import Config, ConfigError, load_config

MONEROD = "/bin/true"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str, check_files: bool = True) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), check_files)
    return caught.value.problems


def test_defaults_without_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config = load_config()
    assert config == Config()
    assert config.daemons == ()
    assert config.supervisor.strategy == "one_for_one"


def test_explicit_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found; create it with `db4e init`"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml_named(tmp_path: Path) -> None:
    assert problems(tmp_path, "[store\n")[0].startswith("invalid TOML")


def test_store_and_export_keys(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            '[store]\npath = "~/x.sqlite3"\nfarm = "north"\n'
            '[export]\ntimezone = "Europe/Berlin"\n',
        )
    )
    assert config.store_path == Path("~/x.sqlite3").expanduser()
    assert config.farm == "north"
    assert config.export_timezone == "Europe/Berlin"


def test_unknown_table_and_key(tmp_path: Path) -> None:
    found = problems(tmp_path, "[stor]\n[store]\nfarmm = 1\n")
    assert found[0].startswith("unknown table [stor]")
    assert found[1].startswith("store.farmm: unknown key")


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        '[status]\nstale_after_seconds = -1\n[export]\ntimezone = "Mars/Base"\n'
        '[supervisor]\nstrategy = "all_for_one"\n',
    )
    assert len(found) == 3
    assert "status.stale_after_seconds: must be greater than 0 (got -1)" in found
    assert any(
        p.startswith("export.timezone: unknown time zone 'Mars/Base'") for p in found
    )
    assert any(p.startswith("supervisor.strategy: must be") for p in found)


def test_daemons_in_start_order(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            f'[daemons.xmrig]\ncommand = "{MONEROD}"\napi_url = "http://127.0.0.1:18088"\n'
            f'[daemons.monerod]\ncommand = "{MONEROD}"\nargs = ["--regtest"]\n'
            "stop_timeout = 5\n",
        )
    )
    assert [d.name for d in config.daemons] == ["monerod", "xmrig"]
    monerod = config.daemons[0]
    assert monerod.args == ("--regtest",)
    assert monerod.stop_timeout == 5.0
    assert monerod.ready_timeout is None


def test_daemon_command_on_path(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[daemons.p2pool]\ncommand = "true"\n'))
    assert config.daemons[0].command == "true"


def test_daemon_problems_named_with_path(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "[daemons.monerod]\n"
        'command = "/nonexistent/monerod"\n'
        'stratum = "127.0.0.1:3333"\n'
        f'cwd = "{tmp_path / "missing"}"\n'
        "[daemons.p2pool]\n"
        'args = "--mini"\n'
        "[daemons.minerd]\n",
    )
    assert "daemons.minerd: unknown daemon; known: monerod, p2pool, xmrig" in found
    assert any(
        p.startswith("daemons.monerod.command: /nonexistent/monerod does not exist")
        for p in found
    )
    assert "daemons.monerod.stratum: applies to [daemons.p2pool] only" in found
    assert any(p.startswith("daemons.monerod.cwd:") for p in found)
    assert any(
        p.startswith("daemons.p2pool.args: must be a list of strings") for p in found
    )
    assert any(p.startswith("daemons.p2pool.command: missing") for p in found)


def test_external_daemon_needs_log_file(tmp_path: Path) -> None:
    found = problems(tmp_path, "[daemons.p2pool]\nexternal = true\n")
    assert found == [
        "daemons.p2pool.log_file: missing; db4e follows an external daemon through "
        "its log file"
    ]


def test_xmrig_token_from_file_not_in_repr(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o600)
    config = load_config(
        write(
            tmp_path,
            f'[daemons.xmrig]\ncommand = "{MONEROD}"\napi_token_file = "{token}"\n',
        ),
        check_files=True,
    )
    assert config.daemons[0].api_token == "s3cret-token"
    assert "s3cret" not in repr(config)


def test_xmrig_token_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB4E_XMRIG_API_TOKEN", "from-env")
    config = load_config(write(tmp_path, f'[daemons.xmrig]\ncommand = "{MONEROD}"\n'))
    assert config.daemons[0].api_token == "from-env"


def test_schedule_daily_restart(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[schedule]\ndaily_restart = "04:30"\ndaemons = ["p2pool"]\n')
    )
    assert config.supervisor.daily_restart == time(4, 30)
    assert config.supervisor.daily_restart_daemons == ("p2pool",)


def test_schedule_bad_values(tmp_path: Path) -> None:
    found = problems(
        tmp_path, '[schedule]\ndaily_restart = "24:00"\ndaemons = ["minerd"]\n'
    )
    assert found[0].startswith("schedule.daily_restart: must be a local time")
    assert (
        found[1]
        == "schedule.daemons: unknown daemon 'minerd'; known: monerod, p2pool, xmrig"
    )


def test_init_writes_private_template(tmp_path: Path) -> None:
    path = tmp_path / "db4e" / "config.toml"
    result = CliRunner().invoke(main, ["init", "--path", str(path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "[daemons.p2pool]" in path.read_text()


def test_init_keeps_existing_file(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    result = CliRunner().invoke(main, ["init", "--path", str(path)])
    assert result.exit_code == 3
    assert "exists; edit it, or pass --force" in result.output


def test_config_check_reports_problems(tmp_path: Path) -> None:
    path = write(tmp_path, '[daemons.p2pool]\ncommand = "/nonexistent/p2pool"\n')
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 3
    assert "daemons.p2pool.command: /nonexistent/p2pool does not exist" in result.output


def test_config_check_valid(tmp_path: Path) -> None:
    path = write(tmp_path, f'[daemons.monerod]\ncommand = "{MONEROD}"\n')
    result = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert "valid; daemons: monerod" in result.output


def test_token_file_readable_by_others(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    token.chmod(0o644)
    found = problems(
        tmp_path,
        f'[daemons.xmrig]\ncommand = "{MONEROD}"\napi_token_file = "{token}"\n',
    )
    assert found == [
        f"daemons.xmrig.api_token_file: {token} is readable by other users; "
        f"run chmod 600 {token}"
    ]


def test_missing_executable_only_checked_for_run(tmp_path: Path) -> None:
    text = '[daemons.p2pool]\ncommand = "/nonexistent/p2pool"\n'
    config = load_config(write(tmp_path, text))
    assert config.daemons[0].command == "/nonexistent/p2pool"
    assert problems(tmp_path, text)[0].startswith("daemons.p2pool.command:")


def test_status_works_with_missing_executable(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[store]\npath = "{tmp_path / "none.sqlite3"}"\n'
        f'[supervisor]\nruntime_dir = "{tmp_path / "run"}"\n'
        '[daemons.p2pool]\ncommand = "/nonexistent/p2pool"\n',
    )
    result = CliRunner().invoke(main, ["--config", str(path), "status"])
    assert result.exit_code == 2
    assert "does not exist" not in result.output


def test_zero_and_out_of_range_values(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        "[supervisor]\nslow_retry = 0\nrestart_period = 0\n"
        f'[daemons.monerod]\ncommand = "{MONEROD}"\nstop_timeout = 0\n'
        'rpc_url = "http://127.0.0.1:99999"\n',
    )
    assert "supervisor.slow_retry: must be greater than 0 (got 0)" in found
    assert "supervisor.restart_period: must be greater than 0 (got 0)" in found
    assert "daemons.monerod.stop_timeout: must be greater than 0 (got 0)" in found
    assert any(
        p.startswith("daemons.monerod.rpc_url: must be an http URL") for p in found
    )


def test_data_api_folder_must_exist(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        f'[daemons.p2pool]\ncommand = "{MONEROD}"\ndata_api = "{tmp_path / "api"}"\n',
    )
    assert found[0].startswith(f"daemons.p2pool.data_api: {tmp_path / 'api'} is not")


def test_binary_config_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xad\xff\x00binary")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_config(path)
