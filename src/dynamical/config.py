"""Runtime configuration: one YAML file, overridable by ``DYNAMICAL_*`` environment variables.

Precedence, highest first: environment (``DYNAMICAL_RATES__CONTROL_HZ=100``; nested keys joined by
``__``), the YAML file given with ``--config`` (or ``DYNAMICAL_CONFIG``), the repository's
``config/config.yaml``, the defaults below. Unknown keys and invalid values are refused at start
with the key and the reason.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from dynamical.perception.config import PerceptionConfig
from dynamical.safety.config import SafetyConfig

REPO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "config.yaml"


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and the reason."""


class RatesConfig(BaseModel):
    """Loop rates, Hz."""

    model_config = ConfigDict(extra="forbid")
    physics_hz: float = Field(1000.0, gt=0, le=10000, description="Simulator step rate")
    safety_hz: float = Field(1000.0, gt=0, le=10000, description="Safety kernel tick rate (tier 0)")
    control_hz: float = Field(200.0, gt=0, le=1000, description="Skill / control loop rate (tier 1)")

    @model_validator(mode="after")
    def _divides(self) -> RatesConfig:
        for name in ("safety_hz", "control_hz"):
            ratio = self.physics_hz / getattr(self, name)
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
                raise ValueError(f"{name} must divide physics_hz ({self.physics_hz} Hz) into whole ticks")
        return self


class LimitsConfig(BaseModel):
    """Scales applied to the robot profile's limits; 1.0 means the profile's value."""

    model_config = ConfigDict(extra="forbid")
    velocity_scale: float = Field(1.0, gt=0, le=1, description="Fraction of each joint's speed limit allowed")
    effort_scale: float = Field(1.0, gt=0, le=1, description="Fraction of each joint's effort limit allowed")


class SimConfig(BaseModel):
    """The simulated robot's world."""

    model_config = ConfigDict(extra="forbid")
    world: str = Field("tabletop", description="Built-in world name or path of a world YAML")
    seed: int = Field(0, ge=0, description="Seed of the object layout; same seed, same run")


class Settings(BaseSettings):
    """Everything the runtime reads at start."""

    model_config = SettingsConfigDict(env_prefix="DYNAMICAL_", env_nested_delimiter="__", extra="forbid")

    robot: str = Field("humanoid", description="Built-in robot profile name or path of a profile YAML")
    sim: SimConfig = SimConfig()
    rates: RatesConfig = RatesConfig()
    limits: LimitsConfig = LimitsConfig()
    safety: SafetyConfig = SafetyConfig()
    perception: PerceptionConfig = PerceptionConfig()
    data_dir: Path = Field(Path("data"), description="Where recordings, models and the database live")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the platform server's database (postgresql+psycopg://...); "
        "none means SQLite in data_dir",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        files = [p for p in (REPO_CONFIG, _selected_file()) if p is not None]
        # Later files win within YamlConfigSettingsSource, so the user's file overrides the repo's.
        return init_settings, env_settings, YamlConfigSettingsSource(settings_cls, yaml_file=files)


_config_file: Path | None = None


def _selected_file() -> Path | None:
    chosen = _config_file or (Path(os.environ["DYNAMICAL_CONFIG"]) if os.environ.get("DYNAMICAL_CONFIG") else None)
    return chosen


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Read the configuration; raises ConfigError naming the key and the reason."""
    global _config_file
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    _config_file = config_file
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    finally:
        _config_file = None


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(part) for part in err["loc"]) or "config"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        lines.append(f"{key}: {err['msg']}{shown}")
    return "invalid configuration: " + "; ".join(lines)
