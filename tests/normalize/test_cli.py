"""`streamer parse` as in the CLI contract: events on stdout, rejects on stderr, exit 0/2/1."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest

from streamer.normalize.cli import main

from .conftest import FHIR_SAMPLES, FIXTURES


def run(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "streamer.normalize.cli", "parse", *args], input=stdin,
                          capture_output=True, timeout=60)


def test_all_parsed_exit_0():
    files = [str(p) for p in sorted(FIXTURES.glob("*.xml"))] + [str(p) for p in sorted(FHIR_SAMPLES.glob("*.json"))]
    p = run(*files)
    assert p.returncode == 0, p.stderr
    events = [orjson.loads(line) for line in p.stdout.splitlines()]
    assert len(events) == len(files) + 1  # one fixture names two studies
    assert p.stderr == b""


def test_rejects_on_stderr_exit_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"event_id": "a", "event_time": "2026-11-30T03:00:00Z", "action": "view", "user": {"id": "u"}}\n'
                    b'{"event_id": "b"}\n')
    p = run(str(bad), str(FIXTURES / "login_failed.xml"))
    assert p.returncode == 2
    assert [orjson.loads(x)["event_id"] for x in p.stdout.splitlines()][0] == "a"
    assert len(p.stdout.splitlines()) == 2
    assert p.stderr.decode().startswith(f"{bad}: line 2: missing required field(s)")


def test_stdin_and_format_flag():
    p = run("--format", "atna-xml", "--source", "site-x", "-", stdin=(FIXTURES / "login_failed.xml").read_bytes())
    assert p.returncode == 0 and orjson.loads(p.stdout)["source"] == "site-x"


def test_usage_errors_exit_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["parse"])
    assert exc.value.code == 1
    p = run("--format", "csv", str(FIXTURES / "login_failed.xml"))
    assert p.returncode == 1
    assert main(["parse", str(tmp_path / "missing.xml")]) == 1
    assert "cannot read" in capsys.readouterr().err
