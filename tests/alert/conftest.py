"""Fixtures for the alert stage: routing data in a folder, config, pipeline."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from .alerttools import INHIBIT, ROUTES, SILENCES

from streamer.alert.config import load_config
from streamer.alert.pipeline import Pipeline


@pytest.fixture
def alerting_dir(tmp_path: Path) -> Path:
    for name, text in (("routes", ROUTES), ("inhibit", INHIBIT), ("silences", SILENCES)):
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


@pytest.fixture
def config(alerting_dir):
    return load_config(alerting_dir, page_min_severity="high", grafana_url="http://grafana.test")


@pytest.fixture
def pipeline(config) -> Pipeline:
    return Pipeline(config)
