from pathlib import Path

import pytest
import yaml

from dynamical.config import REPO_CONFIG, ConfigError, Settings, load_settings


def test_repo_config_file_matches_the_documented_defaults(monkeypatch, tmp_path):
    """config/config.yaml holds the defaults: loading it changes nothing."""
    monkeypatch.delenv("DYNAMICAL_CONFIG", raising=False)
    from_file = load_settings()
    assert from_file.model_dump() == Settings.model_construct().model_dump()
    raw = yaml.safe_load(REPO_CONFIG.read_text())
    assert set(raw) == set(Settings.model_fields)
    assert from_file.rates.physics_hz == 1000 and from_file.rates.control_hz == 200


def test_config_file_and_environment_override(monkeypatch, tmp_path):
    path = tmp_path / "site.yaml"
    path.write_text("sim:\n  seed: 7\nrates:\n  control_hz: 100\n")
    settings = load_settings(path)
    assert settings.sim.seed == 7 and settings.rates.control_hz == 100
    assert settings.sim.world == "tabletop", "keys the file leaves out keep their defaults"
    monkeypatch.setenv("DYNAMICAL_RATES__CONTROL_HZ", "50")
    monkeypatch.setenv("DYNAMICAL_ROBOT", "aloha")
    settings = load_settings(path)
    assert settings.rates.control_hz == 50 and settings.robot == "aloha"


@pytest.mark.parametrize(
    ("content", "key"),
    [
        ("rates:\n  control_hz: -5\n", "rates.control_hz"),
        ("rates:\n  control_hz: 300\n", "control_hz must divide physics_hz"),
        ("limits:\n  velocity_scale: 2\n", "limits.velocity_scale"),
        ("sim:\n  seed: lots\n", "sim.seed"),
        ("colour: red\n", "colour"),
    ],
)
def test_invalid_values_are_refused_with_the_key(tmp_path, content, key):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(ConfigError, match=key):
        load_settings(path)


def test_invalid_environment_value_is_refused(monkeypatch):
    monkeypatch.setenv("DYNAMICAL_SIM__SEED", "-1")
    with pytest.raises(ConfigError, match="sim.seed"):
        load_settings()


def test_missing_config_file():
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(Path("/nonexistent/config.yaml"))
