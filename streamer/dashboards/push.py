"""Upload the dashboards to a Grafana through its HTTP API (grafana-client).

The folder is created when missing (409 means it exists), each dashboard is saved with
`overwrite` and a version message, and the ClickHouse datasource can be created or updated
from the provisioning file.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml
from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError

from streamer.dashboards.checks import dashboard_files, load

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pushed:
    uid: str
    version: int
    url: str


def connect(url: str, token: str, timeout: float = 10.0) -> GrafanaApi:
    """A client for Grafana at `url` (a sub-path like https://host/grafana works) with a token."""
    if urlparse(url).path.strip("/") and not url.endswith("/"):
        url += "/"  # grafana-client appends "api" to the path as is
    return GrafanaApi.from_url(url, credential=token or None, timeout=timeout)


def ensure_folder(api: GrafanaApi, title: str) -> str:
    """uid of the folder titled `title`, created when missing."""
    uid = re.sub(r"[^a-zA-Z0-9_-]+", "-", title.lower()).strip("-")[:40] or "pacs"
    try:
        return api.folder.create_folder(title, uid=uid)["uid"]
    except GrafanaClientError as exc:
        if exc.status_code not in (409, 412):
            raise
    for folder in api.folder.get_all_folders():
        if folder.get("title") == title or folder.get("uid") == uid:
            return folder["uid"]
    raise LookupError(f"folder {title!r} exists but is not listed")


def push_dashboard(api: GrafanaApi, dashboard: dict, folder_uid: str, message: str) -> Pushed:
    body = {
        "dashboard": {**dashboard, "id": None},
        "folderUid": folder_uid,
        "message": message,
        "overwrite": True,
    }
    answer = api.dashboard.update_dashboard(body)
    return Pushed(answer["uid"], int(answer.get("version", 0)), answer.get("url", ""))


def _expand_env(value):
    if isinstance(value, str):
        return os.path.expandvars(value)
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    return value


def push_datasources(api: GrafanaApi, provisioning_file: Path) -> list[str]:
    """Create (or update by uid) every datasource of a provisioning file; returns their uids."""
    spec = yaml.safe_load(Path(provisioning_file).read_text(encoding="utf-8"))
    uids = []
    for ds in spec.get("datasources", []):
        body = {
            "name": ds["name"], "type": ds["type"], "uid": ds["uid"], "access": ds.get("access", "proxy"),
            "jsonData": _expand_env(ds.get("jsonData", {})),
            "secureJsonData": _expand_env(ds.get("secureJsonData", {})),
        }
        try:
            api.datasource.create_datasource(body)
        except GrafanaClientError as exc:
            if exc.status_code != 409:
                raise
            api.datasource.update_datasource_by_uid(ds["uid"], body)
        uids.append(ds["uid"])
    return uids


def push_all(api: GrafanaApi, folder: Path, folder_title: str, message: str,
             datasource_file: Path | None = None) -> list[Pushed]:
    version = api.version
    log.info("Grafana %s", version)
    if datasource_file is not None:
        push_datasources(api, datasource_file)
    folder_uid = ensure_folder(api, folder_title)
    return [push_dashboard(api, load(path), folder_uid, message) for path in dashboard_files(folder)]
