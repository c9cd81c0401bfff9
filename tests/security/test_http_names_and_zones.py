"""Finding 11 (input): names that render as something else, and zones too thin or not finite, are
refused with a 422 that says why (the CLI: one line, exit 2); the data already stored is untouched."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from dynamical.api.app import create_app
from dynamical.api.auth import Scope, create_api_key
from dynamical.api.settings import SQLITE_FILE, ApiSettings
from dynamical.cli import app as cli
from dynamical.names import check_display_name
from dynamical.skills.manifest import SkillManifest

# Right-to-left override, left-to-right isolate, zero-width space, zero-width joiner, BOM, line separator.
INVISIBLE = ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\u2028"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, ApiSettings]]:
    data_dir = tmp_path_factory.mktemp("names") / "data"
    settings = ApiSettings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / SQLITE_FILE}")
    app = create_app(settings)
    with TestClient(app) as client:
        with app.state.db.session() as session:
            key = create_api_key(session, Scope.ADMIN, "names test").key
        yield client, key, settings


@pytest.mark.parametrize("char", INVISIBLE, ids=[f"U+{ord(c):04X}" for c in INVISIBLE])
def test_names_with_bidi_or_invisible_characters_are_refused(served, char: str):
    client, key, _ = served
    headers = {"X-API-Key": key}
    device = {"id": "jetson_1", "name": f"Jetson{char}exe.gpj", "kind": "jetson_agx_orin"}
    answer = client.post("/api/v1/edge-devices", json=device, headers=headers)
    assert answer.status_code == 422 and "invisible characters" in answer.json()["detail"], answer.text
    assert f"U+{ord(char):04X}" in answer.json()["detail"]
    camera = {"id": "cam_1", "name": f"cam{char}", "kind": "camera"}
    assert client.post("/api/v1/peripherals", json=camera, headers=headers).status_code == 422
    zone = {"kind": "box", "name": f"bin{char}", "center": [0.5, 0, 0.8], "half_size": [0.1, 0.1, 0.1]}
    assert client.post("/api/safety/zones", json={"zone": zone}, headers=headers).status_code == 422
    assert client.get("/api/v1/edge-devices", headers=headers).json() == [], "nothing was stored"
    with pytest.raises(ValueError, match="invisible characters"):
        SkillManifest.model_validate({"name": f"Wave{char}", "id": "w", "version": "1.0.0"})


def test_printable_names_in_any_script_are_kept(served):
    client, key, _ = served
    for name in ("Jetson Orin №2", "ジェットソン", "Ρομπότ"):
        assert check_display_name(name) == name
    device = {"id": "jetson_ok", "name": "ジェットソン", "kind": "jetson_agx_orin"}
    answer = client.post("/api/v1/edge-devices", json=device, headers={"X-API-Key": key})
    assert answer.status_code == 201 and answer.json()["name"] == "ジェットソン"


def test_key_names_are_checked_by_the_cli(served):
    _, _, settings = served
    result = CliRunner().invoke(
        cli, ["keys", "create", "--scope", "read", "--name", "ops\u202etxt.exe", "--data-dir", str(settings.data_dir)]
    )
    assert result.exit_code == 2
    assert "invisible characters" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("half_size", "why"),
    [
        ([5e-324, 0.1, 0.1], "at least 1 mm"),
        ([0.0009, 0.1, 0.1], "at least 1 mm"),
        ([0.1, -0.1, 0.1], "positive"),
    ],
)
def test_zone_half_sizes_under_a_millimetre_are_refused(served, half_size, why: str):
    client, key, _ = served
    zone = {"kind": "box", "name": "thin", "center": [0.5, 0, 0.8], "half_size": half_size}
    answer = client.post("/api/safety/zones", json={"zone": zone}, headers={"X-API-Key": key})
    assert answer.status_code == 422 and why in answer.json()["detail"], answer.text


def test_zone_numbers_must_be_finite(served):
    client, key, _ = served
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    for number in ("NaN", "Infinity", "1e999"):
        body = '{"zone": {"kind": "box", "name": "z", "center": [X, 0, 0.8], "half_size": [0.1, 0.1, 0.1]}}'
        body = body.replace("X", number)
        answer = client.post("/api/safety/zones", content=body, headers=headers)
        assert answer.status_code == 422, (number, answer.text)
    ok = {"kind": "box", "name": "ok", "center": [0.5, 0, 0.8], "half_size": [0.001, 0.1, 0.1]}
    assert client.post("/api/safety/zones", json={"zone": ok}, headers={"X-API-Key": key}).status_code == 201
