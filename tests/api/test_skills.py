"""The SQL-backed skill registry through the API: built-ins, uploads, versions, deprecation, bad artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from dynamical.api.bootstrap import init_database, open_registry
from dynamical.api.db import Database
from dynamical.api.settings import ApiSettings
from dynamical.skills.artifact import build_artifact
from dynamical.skills.builtin.catalog import builtin_manifests
from dynamical.skills.keyring import Keyring
from dynamical.skills.manifest import SkillManifest

from .conftest import MAX_ARTIFACT_BYTES, auth


def _manifest(version: str = "1.0.0", description: str = "Wave twice, politely.") -> SkillManifest:
    wave = next(m for m in builtin_manifests() if m.id == "wave")
    return wave.model_copy(update={"id": "polite_wave", "version": version, "description": description})


@pytest.fixture
def keyring(api_settings: ApiSettings, client: TestClient) -> Keyring:
    return Keyring.load(api_settings.keyring_path)


@pytest.fixture
def admin(keys: dict[str, str]) -> dict[str, str]:
    return auth(keys["admin"])


def _versions(client: TestClient, headers, skill_id: str) -> list[str]:
    answer = client.get(f"/api/v1/skills/{skill_id}", headers=headers)
    return [v["version"] for v in answer.json()["versions"]] if answer.status_code == 200 else []


def test_builtin_catalogue_is_seeded(client: TestClient, keys: dict[str, str]):
    listed = client.get("/api/v1/skills", headers=auth(keys["read"]))
    assert listed.status_code == 200
    assert [s["id"] for s in listed.json()] == sorted(m.id for m in builtin_manifests())
    detail = client.get("/api/v1/skills/pick_and_place", headers=auth(keys["read"])).json()
    (version,) = detail["versions"]
    assert version["builtin"] and version["manifest"]["id"] == "pick_and_place" and detail["latest_version"] == "1.0.0"


def test_seeding_again_changes_nothing(api_settings: ApiSettings, db: Database):
    assert init_database(api_settings, db).builtin_skills_updated == 0


def test_upload_raw_and_multipart_then_fetch_verified(
    client: TestClient, app: FastAPI, admin, keyring: Keyring, keys: dict[str, str]
):
    blob = build_artifact(_manifest("1.0.0"), {}, keyring)
    created = client.post("/api/v1/skills", content=blob, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["ref"] == "polite_wave@1.0.0" and created.json()["created"] is True
    again = client.post("/api/v1/skills", content=blob, headers=admin)
    assert again.status_code == 200 and again.json()["created"] is False

    newer = build_artifact(_manifest("1.1.0"), {}, keyring)
    uploaded = client.post("/api/v1/skills", files={"artifact": ("wave.art", newer)}, headers=admin)
    assert uploaded.status_code == 201, uploaded.text
    assert _versions(client, admin, "polite_wave") == ["1.0.0", "1.1.0"]
    listed = client.get("/api/v1/skills", headers=auth(keys["read"])).json()
    summary = next(s for s in listed if s["id"] == "polite_wave")
    assert summary["latest_version"] == "1.1.0" and summary["versions"] == ["1.0.0", "1.1.0"]

    artifact = app.state.registry.get("polite_wave")
    assert artifact.manifest.version == "1.1.0" and artifact.digest == uploaded.json()["digest"]


def test_same_version_with_other_content_is_a_conflict(client: TestClient, admin, keyring: Keyring):
    first = client.post("/api/v1/skills", content=build_artifact(_manifest(), {}, keyring), headers=admin)
    assert first.status_code == 201
    other = build_artifact(_manifest(description="Something else."), {}, keyring)
    answer = client.post("/api/v1/skills", content=other, headers=admin)
    assert answer.status_code == 409 and "immutable" in answer.json()["detail"]


def test_tampered_artifact_is_refused_by_name_and_stores_nothing(
    client: TestClient, admin, keyring: Keyring, api_settings: ApiSettings
):
    blob = bytearray(build_artifact(_manifest(), {}, keyring))
    blob[-20] ^= 0x01
    blobs_before = sorted(api_settings.blob_dir.rglob("*"))
    answer = client.post("/api/v1/skills", content=bytes(blob), headers=admin)
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("ArtifactTamperedError: artifact failed authentication")
    assert client.get("/api/v1/skills/polite_wave", headers=admin).status_code == 404
    assert sorted(api_settings.blob_dir.rglob("*")) == blobs_before


def test_artifact_from_another_keyring_is_refused(client: TestClient, admin, tmp_path: Path):
    foreign = Keyring.create(tmp_path / "foreign.json")
    answer = client.post("/api/v1/skills", content=build_artifact(_manifest(), {}, foreign), headers=admin)
    assert answer.status_code == 422 and answer.json()["detail"].startswith("ArtifactKeyError")


@pytest.mark.parametrize(
    ("body", "detail"),
    [(b"", "empty upload"), (b"hello", "ArtifactFormatError"), (b'{"id": "x"}', "ArtifactFormatError")],
)
def test_not_an_artifact(client: TestClient, admin, body: bytes, detail: str):
    answer = client.post("/api/v1/skills", content=body, headers=admin)
    assert answer.status_code == 422 and detail in answer.json()["detail"]


def test_multipart_without_the_artifact_field(client: TestClient, admin):
    answer = client.post("/api/v1/skills", files={"other": ("x", b"DESKILL1")}, headers=admin)
    assert answer.status_code == 422 and "'artifact'" in answer.json()["detail"]
    broken = client.post(
        "/api/v1/skills", content=b"--xx\r\nnot a part", headers={**admin, "content-type": "multipart/form-data"}
    )
    assert 400 <= broken.status_code < 500


def test_oversized_upload_is_413_with_or_without_a_length(client: TestClient, admin):
    big = b"DESKILL1" + b"\0" * MAX_ARTIFACT_BYTES
    answer = client.post("/api/v1/skills", content=big, headers=admin)
    assert answer.status_code == 413 and str(MAX_ARTIFACT_BYTES) in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while reading
        for _ in range(8):
            yield b"\0" * (MAX_ARTIFACT_BYTES // 4)

    assert client.post("/api/v1/skills", content=chunks(), headers=admin).status_code == 413
    multipart = client.post("/api/v1/skills", files={"artifact": ("big", big)}, headers=admin)
    assert multipart.status_code == 413


def test_deprecate(client: TestClient, admin, keyring: Keyring, keys: dict[str, str]):
    for version in ("1.0.0", "1.1.0"):
        client.post("/api/v1/skills", content=build_artifact(_manifest(version), {}, keyring), headers=admin)
    path = "/api/v1/skills/polite_wave/versions/1.1.0/deprecate"
    assert client.post(path, json={"reason": "jerky"}, headers=auth(keys["operate"])).status_code == 403
    assert client.post(path, json={"reason": "  "}, headers=admin).status_code == 422
    assert client.post(path, json={"reason": "jerky\u0000"}, headers=admin).status_code == 422  # a trailing NUL
    done = client.post(path, json={"reason": "jerky"}, headers=admin)
    assert done.status_code == 200 and done.json()["deprecated"] and done.json()["deprecated_reason"] == "jerky"
    detail = client.get("/api/v1/skills/polite_wave", headers=admin).json()
    assert detail["latest_version"] == "1.0.0"
    pinned = client.get("/api/v1/skills/polite_wave/versions/1.1.0", headers=admin)
    assert pinned.status_code == 200 and pinned.json()["deprecated"] is True

    client.post("/api/v1/skills/polite_wave/versions/1.0.0/deprecate", json={"reason": "all bad"}, headers=admin)
    listed = [s["id"] for s in client.get("/api/v1/skills", headers=admin).json()]
    assert "polite_wave" not in listed
    everything = client.get("/api/v1/skills", params={"include_deprecated": True}, headers=admin).json()
    assert next(s for s in everything if s["id"] == "polite_wave")["latest_version"] is None


def test_unknown_skill_or_version_is_404(client: TestClient, admin):
    assert client.get("/api/v1/skills/no_such_skill", headers=admin).status_code == 404
    missing = client.get("/api/v1/skills/wave/versions/9.9.9", headers=admin)
    assert missing.status_code == 404 and "1.0.0" in missing.json()["detail"]
    deprecate = client.post("/api/v1/skills/wave/versions/9.9.9/deprecate", json={"reason": "x"}, headers=admin)
    assert deprecate.status_code == 404
    assert client.get("/api/v1/skills/Bad-Id!", headers=admin).status_code == 422


def test_registry_interface_matches_the_file_registry(api_settings: ApiSettings, db: Database, keyring: Keyring):
    registry = open_registry(api_settings, db)
    ref = registry.register(build_artifact(_manifest("2.0.0"), {}, keyring))
    assert str(ref) == "polite_wave@2.0.0"
    assert registry.versions("polite_wave") == ["2.0.0"]
    assert "polite_wave" in {m.id for m in registry.list()}
    registry.deprecate("polite_wave", "2.0.0", "replaced")
    assert "polite_wave" not in {m.id for m in registry.list()}
    assert registry.get("polite_wave", "2.0.0").manifest.version == "2.0.0"
