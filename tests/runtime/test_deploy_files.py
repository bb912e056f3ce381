"""The deployment files hold together (no Docker engine runs here, so their structure is checked):
every STREAMER_* variable is a real setting, every mounted or copied path exists, the services
depend on each other sensibly, and the provisioning files are the ones the dashboards use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from streamer.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _env_names(compose: dict) -> set[str]:
    names = set()
    for svc in compose["services"].values():
        env = svc.get("environment") or {}
        names |= set(env) if isinstance(env, dict) else {e.split("=", 1)[0] for e in env}
    return names


def test_every_streamer_variable_in_compose_is_a_setting(compose):
    fields = {f"STREAMER_{name.upper()}" for name in Settings.model_fields}
    used = {n for n in _env_names(compose) if n.startswith("STREAMER_")}
    assert used, "the compose file configures the workers through STREAMER_* variables"
    unknown = used - fields - {"STREAMER_VAR_DIR", "STREAMER_SCHEMAS_DIR", "STREAMER_DASHBOARDS_DIR"}
    assert not unknown, f"compose sets variables no setting reads: {sorted(unknown)}"


def test_stack_has_the_services_and_dependencies(compose):
    services = compose["services"]
    for name in ("kafka", "clickhouse", "grafana", "streamer-init", "streamer-worker-1", "streamer-worker-2", "rsyslog"):
        assert name in services, name
    for name, svc in services.items():
        for dep in svc.get("depends_on", {}) or {}:
            assert dep in services, f"{name} depends on unknown service {dep}"
    # workers need their own data dir volume (RocksDB lock) and distinct static membership ids
    w1, w2 = services["streamer-worker-1"], services["streamer-worker-2"]
    assert w1["volumes"][0].split(":")[0] != w2["volumes"][0].split(":")[0]
    assert w1["environment"]["STREAMER_CONSUMER_GROUP_INSTANCE_ID"] != w2["environment"]["STREAMER_CONSUMER_GROUP_INSTANCE_ID"]
    assert "grafana-clickhouse-datasource" in services["grafana"]["environment"]["GF_INSTALL_PLUGINS"]


def test_mounted_and_built_paths_exist(compose):
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (DOCKER / src).resolve().exists(), f"{name} mounts missing {src}"
        build = svc.get("build")
        if build:
            assert (DOCKER / build["context"] / build["dockerfile"]).resolve().is_file(), name


@pytest.mark.parametrize("dockerfile", ["Dockerfile", "rsyslog.Dockerfile"])
def test_dockerfiles_copy_existing_paths(dockerfile):
    text = (DOCKER / dockerfile).read_text()
    assert re.search(r"^FROM \S+", text, re.M)
    for src in re.findall(r"^COPY (\S+(?: \S+)*) \S+$", text, re.M):
        for path in src.split():
            assert (ROOT / path).exists(), f"{dockerfile} copies missing {path}"
    if dockerfile == "Dockerfile":
        assert 'ENTRYPOINT ["streamer"]' in text and "USER " in text


def test_grafana_provisioning_matches_the_dashboards(compose):
    ds = yaml.safe_load((ROOT / "dashboards/provisioning/datasources/clickhouse.yaml").read_text())
    source = ds["datasources"][0]
    assert source["type"] == "grafana-clickhouse-datasource"
    assert source["jsonData"]["host"] in compose["services"]
    assert source["jsonData"]["defaultDatabase"] == Settings().clickhouse_database
    prov = yaml.safe_load((ROOT / "dashboards/provisioning/dashboards/pacs.yaml").read_text())
    path = prov["providers"][0]["options"]["path"]
    mounts = [v for v in compose["services"]["grafana"]["volumes"] if v.split(":")[1] == path]
    assert mounts and (DOCKER / mounts[0].split(":")[0]).resolve() == ROOT / "dashboards"


def test_example_context_files_follow_the_contract():
    roster = (DOCKER / "config/roster.csv").read_text().splitlines()
    assert roster[0] == "user_id,name,roles,department,status,end_date"
    watch = (DOCKER / "config/watchlist.csv").read_text().splitlines()
    assert watch[0] == "patient_id,category,employee_user_id"
