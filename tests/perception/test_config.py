"""The perception section of the runtime configuration."""

from pathlib import Path

import pytest

from dynamical.config import ConfigError, load_settings


def test_defaults_and_a_bad_value_named_by_its_key(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.perception.world_source == "truth"
    assert settings.perception.models.sam3.path is None
    bad = tmp_path / "bad.yaml"
    bad.write_text("perception:\n  models:\n    dinov3: {path: /x, dtype: int8}\n")
    with pytest.raises(ConfigError, match=r"perception\.models\.dinov3\.dtype"):
        load_settings(bad)
    good = tmp_path / "good.yaml"
    good.write_text(f"perception:\n  world_source: perception\n  models:\n    vjepa2: {{path: {tmp_path}}}\n")
    settings = load_settings(good)
    assert settings.perception.world_source == "perception" and settings.perception.models.vjepa2.path == tmp_path
