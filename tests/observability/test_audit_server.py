"""Key operations leave ledger entries (API keys, skill artifacts uploaded and refused, e-stops and
resets, requests); ``GET /api/v1/audit`` lists them; ``dynamical audit verify`` checks them; and
``/metrics`` parses with Prometheus's own parser."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key, revoke_api_key
from dynamical.api.settings import ApiSettings
from dynamical.cli import app as cli
from dynamical.observability.ledger import read_entries
from dynamical.skills.artifact import build_artifact
from dynamical.skills.builtin.catalog import builtin_manifests
from dynamical.skills.keyring import Keyring


@pytest.fixture
def settings(tmp_path: Path) -> ApiSettings:
    data_dir = tmp_path / "data"
    return ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'dynamical.db'}")


@pytest.fixture
def app(settings: ApiSettings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def keys(app: FastAPI, client: TestClient) -> dict[str, str]:
    with app.state.db.session() as session:
        return {scope.value: create_api_key(session, scope, f"test {scope.value}").key for scope in Scope}


def _kinds(settings: ApiSettings) -> list[tuple[str, str]]:
    path = settings.data_dir / "audit" / "ledger.jsonl"
    return [(e["kind"], e["subject"]) for e in reversed(read_entries(path, limit=10_000))]


def test_key_operations_leave_entries_that_verify(
    app: FastAPI, client: TestClient, keys: dict[str, str], settings: ApiSettings
) -> None:
    admin = {"X-API-Key": keys["admin"]}
    with app.state.db.session() as session:
        revoke_api_key(session, keys["read"][4:14])

    wave = next(m for m in builtin_manifests() if m.id == "wave")
    manifest = wave.model_copy(update={"id": "audited_wave", "version": "1.0.0"})
    keyring = Keyring.load(settings.keyring_path)
    blob = build_artifact(manifest, {}, keyring)
    assert client.post("/api/v1/skills", content=blob, headers=admin).status_code == 201
    tampered = bytearray(build_artifact(manifest.model_copy(update={"version": "1.0.1"}), {}, keyring))
    tampered[-20] ^= 0x01
    assert client.post("/api/v1/skills", content=bytes(tampered), headers=admin).status_code == 422
    # No robot is connected: the e-stop and the reset are refused, and still audited as asked.
    client.post("/api/safety/estop", json={"robot_id": "nobody"}, headers=admin)
    client.post("/api/safety/reset", json={"robot_id": "nobody"}, headers=admin)

    kinds = _kinds(settings)
    got = {k for k, _ in kinds}
    assert {"key.generated", "key.revoked", "skill.uploaded", "skill.refused", "estop", "reset"} <= got
    assert ("skill.uploaded", "audited_wave@1.0.0") in kinds
    assert kinds[0][0] == "key.generated" and kinds[0][1].startswith("audit-ledger:")  # the ledger's own key
    assert sum(1 for k, s in kinds if k == "key.generated" and s.startswith("api-key:")) == 3

    page = client.get("/api/v1/audit", params={"kind": "estop"}, headers=admin)
    assert page.status_code == 200
    (estop,) = page.json()["entries"]
    assert estop["subject"] == "POST /api/safety/estop" and estop["actor"] == keys["admin"][4:14]
    assert client.get("/api/v1/audit", headers={"X-API-Key": keys["operate"]}).status_code == 403
    assert client.get("/api/v1/audit", params={"limit": 0}, headers=admin).status_code == 422

    verified = client.post("/api/v1/audit/verify", headers=admin).json()
    assert verified["ok"] and verified["signatures"] >= 1 and verified["unsigned_tail"] == 0

    result = CliRunner().invoke(cli, ["audit", "verify", "--data-dir", str(settings.data_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True


def test_audit_verify_names_the_first_bad_entry_and_exits_1(
    client: TestClient, keys: dict[str, str], settings: ApiSettings
) -> None:
    client.post("/api/safety/estop", json={"robot_id": "nobody"}, headers={"X-API-Key": keys["admin"]})
    client.post("/api/v1/audit/verify", headers={"X-API-Key": keys["admin"]})
    path = settings.data_dir / "audit" / "ledger.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    entry = json.loads(lines[2])
    lines[2] = lines[2].replace(entry["actor"].encode(), b"someone-else", 1)
    path.write_bytes(b"".join(lines))
    result = CliRunner().invoke(cli, ["audit", "verify", "--data-dir", str(settings.data_dir)])
    assert result.exit_code == 1
    assert f"line 3 (seq {entry['seq']})" in result.output and "changed" in result.output


def test_audit_verify_without_a_ledger_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["audit", "verify", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "no audit ledger" in result.output and "Traceback" not in result.output


def test_metrics_parse_with_prometheus_parser(client: TestClient, keys: dict[str, str], app: FastAPI) -> None:
    assert client.get("/metrics").status_code == 401
    app.state.metrics.step_ended("grasp", False)
    answer = client.get("/metrics", headers={"X-API-Key": keys["read"]})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert {"dynamical_steps", "dynamical_planning_seconds", "dynamical_executions", "dynamical_audit_entries"} <= set(
        families
    )
    (sample,) = [s for s in families["dynamical_steps"].samples if s.name == "dynamical_steps_total"]
    assert sample.labels == {"skill": "grasp", "outcome": "failed"} and sample.value == 1.0
    audit = {s.labels["kind"]: s.value for s in families["dynamical_audit_entries"].samples if s.name[-6:] == "_total"}
    assert audit.get("key.generated", 0) >= 3


def test_the_grafana_dashboard_plots_only_exposed_metrics(
    client: TestClient, keys: dict[str, str], app: FastAPI
) -> None:
    import re

    app.state.metrics.planning.observe(0.1)
    app.state.metrics.executions_finished.labels(status="failed").inc()
    app.state.metrics.safety_events.labels(robot="r1", rule="KEEP_OUT_ZONE").inc()
    text = client.get("/metrics", headers={"X-API-Key": keys["read"]}).text
    exposed = {f.name for f in text_string_to_metric_families(text)}
    dashboard = json.loads((Path(__file__).parents[2] / "docs" / "grafana" / "dashboard.json").read_text())
    used = {
        re.sub(r"_(bucket|total|count|sum)$", "", name)
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"dynamical_[a-z_]+", target["expr"])
    }
    assert used and used <= exposed, used - exposed
