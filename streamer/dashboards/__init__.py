"""Grafana dashboards as code for the PACS audit tables: build, check, push, render, reports.

Targets Grafana >= 10 with grafana-clickhouse-datasource v4.x (see streamer.dashboards.macros)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from streamer.dashboards.commands import register as _register

    _register(sub)
