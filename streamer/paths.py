"""Where the project's data files live (schemas, rules, migrations, dashboards)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def schemas_dir() -> Path:
    """The `schemas/` folder; STREAMER_SCHEMAS_DIR overrides it (e.g. in a container)."""
    return Path(os.environ.get("STREAMER_SCHEMAS_DIR", PROJECT_ROOT / "schemas"))


def dashboards_dir() -> Path:
    """The `dashboards/` folder; STREAMER_DASHBOARDS_DIR overrides it."""
    return Path(os.environ.get("STREAMER_DASHBOARDS_DIR", PROJECT_ROOT / "dashboards"))


def var_dir() -> Path:
    """Git-ignored folder for local state (embedded ClickHouse, stack data, demo output)."""
    return Path(os.environ.get("STREAMER_VAR_DIR", PROJECT_ROOT / "var"))
