"""`streamer demo`, the main job on the embedded default, shows the injected bulk export and
odd-hours access as alerts and stores every event in the embedded ClickHouse."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.embedded, pytest.mark.slow]


def test_demo_detects_the_injected_incidents(tmp_path):
    out = subprocess.run([sys.executable, "-m", "streamer.cli", "demo", "--duration", "25",
                          "--workdir", str(tmp_path / "demo")], capture_output=True, text=True, timeout=420)
    text = out.stdout
    assert out.returncode == 0, text[-3000:] + out.stderr[-3000:]
    for incident in ("bulk_export", "odd_hours"):
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(f"injected {incident}")), "")
        # by the detector of its own kind, not by a coincidence of another detector
        assert incident in [d.strip() for d in line.partition("detected by")[2].split(",")], f"{incident}: {line!r}\n{text[-3000:]}"
    produced = int(re.search(r"events produced: ([\d,]+)", text).group(1).replace(",", ""))
    stored = int(re.search(r"stored in embedded ClickHouse .*?: ([\d,]+) events", text).group(1).replace(",", ""))
    assert produced > 1000 and stored == produced
    assert re.search(r"^(LOW|MEDIUM|HIGH|CRITICAL)\s+bulk_export", text, re.M), "live alert line missing"
