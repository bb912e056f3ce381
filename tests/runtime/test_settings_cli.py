"""Typed settings and `streamer check-config`: environment in, secrets masked out, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streamer.cli import build_parser, main
from streamer.settings import Settings, describe


def _run(args, env_extra=None):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMER_")}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "streamer.cli", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_every_field_has_an_environment_variable_and_a_description():
    for name, env, _shown, desc in describe(Settings()):
        assert env == f"STREAMER_{name.upper()}"
        assert desc, f"{name} has no description"


def test_check_config_masks_secrets_and_shows_values():
    out = _run(["check-config"], {"STREAMER_CLICKHOUSE_PASSWORD": "hunter2-secret",
                                  "STREAMER_KAFKA_BOOTSTRAP": "k1:9093,k2:9093"})
    assert out.returncode == 0, out.stderr
    assert "hunter2-secret" not in out.stdout + out.stderr
    assert "STREAMER_CLICKHOUSE_PASSWORD" in out.stdout and "********" in out.stdout
    assert "k1:9093,k2:9093" in out.stdout


@pytest.mark.parametrize("var,value,words", [
    ("STREAMER_KAFKA_BOOTSTRAP", "no-port-here", "is not host:port"),
    ("STREAMER_TOPIC_PARTITIONS", "0", "greater than or equal to 1"),
    ("STREAMER_CLICKHOUSE_TRANSPORT", "http", "native"),
    ("STREAMER_PAGE_MIN_SEVERITY", "urgent", "critical"),
    ("STREAMER_SITE_TIMEZONE", "Mars/Olympus_Mons", "unknown IANA time zone"),
])
def test_check_config_rejects_bad_values_clearly(var, value, words):
    out = _run(["check-config"], {var: value})
    assert out.returncode == 1
    assert var in out.stderr and words in out.stderr


def test_secrets_can_come_from_files(tmp_path, monkeypatch):
    (tmp_path / "STREAMER_CLICKHOUSE_PASSWORD").write_text("from-a-file")
    monkeypatch.setenv("STREAMER_SECRETS_DIR", str(tmp_path))
    s = Settings(_secrets_dir=str(tmp_path))
    assert s.clickhouse_password.get_secret_value() == "from-a-file"
    assert "from-a-file" not in repr(s)


def test_every_documented_command_is_registered():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for command in ("parse", "replay", "demo", "worker", "check-config", "simulate", "evaluate", "db",
                    "erase", "alerts", "dashboards", "report", "topics", "models"):
        assert command in sub.choices, command


def test_usage_errors_exit_1(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 1


def test_stages_select_agents_and_a_subset_gets_its_own_consumer_group():
    from streamer.runtime.app import create_app

    full = Settings(app_id="pacs")
    assert full.group_id() == "pacs" and full.stage_set() == {"normalize", "score", "sink", "notify"}
    parsers = Settings(app_id="pacs", stages=" normalize ")
    assert parsers.group_id() == "pacs-normalize"
    assert Settings(app_id="pacs", stages="notify,score").stages == "score,notify"   # canonical order
    with pytest.raises(ValueError, match="stages must be"):
        Settings(stages="normalize,parse")
    app = create_app(parsers)
    assert app.conf.id == "pacs-normalize"
    assert sorted(a.fun.__name__ for a in app.agents.values()) == ["normalize"]
    assert list(app.tables.keys()) == []
    full_app = create_app(full)
    assert sorted(a.fun.__name__ for a in full_app.agents.values()) == \
        ["normalize", "notify", "notify_retry", "score", "sink_alerts", "sink_events", "sink_retry"]
    assert sorted(full_app.tables.keys()) == ["alert-state", "notify-delivered", "user-state"]


def test_log_levels_of_single_loggers_are_checked_and_applied():
    import logging

    from streamer.runtime.cli import apply_log_levels
    from streamer.settings import parse_log_levels

    assert parse_log_levels(" streamer.alert.notify=info, aiokafka=ERROR ,") == \
        {"streamer.alert.notify": "INFO", "aiokafka": "ERROR"}
    assert parse_log_levels("") == {}
    for bad in ("streamer.alert", "=INFO", "streamer.alert=LOUD"):
        with pytest.raises(ValueError, match="is not logger=LEVEL"):
            Settings(log_levels=bad)
    name = "streamer.test-log-levels"
    before = logging.getLogger(name).level
    try:
        assert apply_log_levels(f"{name}=DEBUG") == {name: "DEBUG"}
        assert logging.getLogger(name).level == logging.DEBUG
    finally:
        logging.getLogger(name).setLevel(before)
