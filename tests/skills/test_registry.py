import json
from pathlib import Path

import pytest

from dynamical.skills import (
    ArtifactError,
    ArtifactKeyError,
    ArtifactTamperedError,
    BlobIntegrityError,
    Keyring,
    RegistryError,
    SkillRef,
    SkillRegistry,
    SkillVersionConflict,
    UnknownSkillError,
    build_artifact,
)

from .conftest import policy_manifest, safetensors_bytes, scripted_manifest


@pytest.fixture
def registry(tmp_path: Path, keyring: Keyring) -> SkillRegistry:
    return SkillRegistry(tmp_path / "registry", keyring)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_register_and_get(registry: SkillRegistry, keyring: Keyring) -> None:
    manifest = policy_manifest(id="wave", version="0.1.0")
    files = {"weights/policy.safetensors": safetensors_bytes([1.0, 2.0])}
    ref = registry.register(build_artifact(manifest, files, keyring))
    assert ref == SkillRef(id="wave", version="0.1.0")
    artifact = registry.get("wave")
    assert artifact.manifest == manifest
    assert artifact.files == files
    assert registry.get("wave", "0.1.0").digest == artifact.digest


def test_versions_are_ordered_by_semver_and_latest_wins(registry: SkillRegistry, keyring: Keyring) -> None:
    for version in ["1.10.0", "1.2.0", "1.9.0", "1.10.0-rc.1"]:
        registry.register(build_artifact(scripted_manifest(version=version), {}, keyring))
    assert registry.versions("pick_cube") == ["1.2.0", "1.9.0", "1.10.0-rc.1", "1.10.0"]
    assert registry.get("pick_cube").manifest.version == "1.10.0"
    assert [m.version for m in registry.list()] == ["1.10.0"]


def test_list_gives_the_latest_of_each_skill_sorted_by_id(registry: SkillRegistry, keyring: Keyring) -> None:
    registry.register(build_artifact(scripted_manifest(id="wave", version="2.0.0"), {}, keyring))
    registry.register(build_artifact(scripted_manifest(version="1.0.0"), {}, keyring))
    registry.register(build_artifact(scripted_manifest(version="1.1.0"), {}, keyring))
    assert [str(m.ref) for m in registry.list()] == ["pick_cube@1.1.0", "wave@2.0.0"]


def test_deprecate_hides_a_version_from_latest_but_not_from_pinned_gets(
    registry: SkillRegistry, keyring: Keyring
) -> None:
    registry.register(build_artifact(scripted_manifest(version="1.2.0"), {}, keyring))
    registry.register(build_artifact(scripted_manifest(version="1.10.0"), {}, keyring))
    registry.deprecate("pick_cube", "1.10.0", "drops the cube on the aloha gripper")
    assert registry.get("pick_cube").manifest.version == "1.2.0"
    assert [m.version for m in registry.list()] == ["1.2.0"]
    assert registry.get("pick_cube", "1.10.0").manifest.version == "1.10.0"
    assert registry.versions("pick_cube") == ["1.2.0", "1.10.0"]
    registry.deprecate("pick_cube", "1.2.0", "superseded")
    assert registry.list() == []
    with pytest.raises(UnknownSkillError, match="every version of skill 'pick_cube' is deprecated"):
        registry.get("pick_cube")
    with pytest.raises(ValueError, match="reason"):
        registry.deprecate("pick_cube", "1.2.0", "  ")
    with pytest.raises(UnknownSkillError, match="no version '3.0.0'"):
        registry.deprecate("pick_cube", "3.0.0", "never existed")


def test_same_version_with_different_content_conflicts(registry: SkillRegistry, keyring: Keyring) -> None:
    registry.register(build_artifact(scripted_manifest(), {}, keyring))
    before = _snapshot(registry.root)
    changed = build_artifact(scripted_manifest(description="Something else."), {}, keyring)
    with pytest.raises(SkillVersionConflict, match="pick_cube@1.0.0 is already registered with different content"):
        registry.register(changed)
    assert _snapshot(registry.root) == before


def test_registering_identical_content_again_is_idempotent(registry: SkillRegistry, keyring: Keyring) -> None:
    first = registry.register(build_artifact(scripted_manifest(), {}, keyring))
    before = _snapshot(registry.root)
    # A fresh encryption of the same content: different blob bytes, same archive digest.
    assert registry.register(build_artifact(scripted_manifest(), {}, keyring)) == first
    assert _snapshot(registry.root) == before
    assert registry.versions("pick_cube") == ["1.0.0"]


def test_a_bad_blob_changes_nothing(registry: SkillRegistry, keyring: Keyring, tmp_path: Path) -> None:
    registry.register(build_artifact(scripted_manifest(), {}, keyring))
    before = _snapshot(registry.root)
    good = build_artifact(scripted_manifest(version="2.0.0"), {}, keyring)
    tampered = bytearray(good)
    tampered[-1] ^= 0xFF
    with pytest.raises(ArtifactError):
        registry.register(bytes(tampered))
    with pytest.raises(ArtifactError):
        registry.register(b"not an artifact")
    foreign = build_artifact(scripted_manifest(version="2.0.0"), {}, Keyring.create(tmp_path / "foreign.json"))
    with pytest.raises(ArtifactKeyError):
        registry.register(foreign)
    assert _snapshot(registry.root) == before
    assert registry.versions("pick_cube") == ["1.0.0"]


def test_unknown_skill_errors_name_the_id_and_the_known_ones(registry: SkillRegistry, keyring: Keyring) -> None:
    with pytest.raises(UnknownSkillError, match=r"no skill 'pick_cube' .* \(known: none\)"):
        registry.get("pick_cube")
    registry.register(build_artifact(scripted_manifest(), {}, keyring))
    registry.register(build_artifact(scripted_manifest(id="wave"), {}, keyring))
    with pytest.raises(KeyError) as error:
        registry.versions("dance")
    assert str(error.value).endswith("(known: pick_cube, wave)")
    with pytest.raises(UnknownSkillError, match=r"skill 'pick_cube' has no version '2.0.0' \(versions: 1.0.0\)"):
        registry.get("pick_cube", "2.0.0")


def test_index_survives_a_new_registry_instance(registry: SkillRegistry, keyring: Keyring) -> None:
    registry.register(build_artifact(scripted_manifest(), {}, keyring))
    registry.deprecate("pick_cube", "1.0.0", "old")
    reopened = SkillRegistry(registry.root, Keyring.load(keyring.path))
    assert reopened.versions("pick_cube") == ["1.0.0"]
    assert reopened.list() == []
    assert reopened.get("pick_cube", "1.0.0").manifest == scripted_manifest()


def test_an_index_pointing_at_the_wrong_blob_is_detected(registry: SkillRegistry, keyring: Keyring) -> None:
    registry.register(build_artifact(scripted_manifest(version="1.0.0"), {}, keyring))
    registry.register(build_artifact(scripted_manifest(version="2.0.0"), {}, keyring))
    index_path = registry.root / "index.json"
    index = json.loads(index_path.read_text())
    versions = index["skills"]["pick_cube"]
    versions["1.0.0"]["blob"], versions["2.0.0"]["blob"] = versions["2.0.0"]["blob"], versions["1.0.0"]["blob"]
    index_path.write_text(json.dumps(index))
    with pytest.raises(
        ArtifactTamperedError, match="registry entry pick_cube@2.0.0 points at a blob holding pick_cube@1.0.0"
    ):
        registry.get("pick_cube")


def test_a_corrupted_stored_blob_is_detected(registry: SkillRegistry, keyring: Keyring) -> None:
    registry.register(build_artifact(scripted_manifest(), {}, keyring))
    (digest,) = registry.blobs.list()
    path = registry.root / "blobs" / digest[:2] / digest[2:]
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(BlobIntegrityError):
        registry.get("pick_cube")


def test_an_unreadable_index_is_a_clear_error(registry: SkillRegistry) -> None:
    (registry.root / "index.json").write_text("{")
    with pytest.raises(RegistryError, match="index .* is unreadable"):
        registry.list()
