"""What the platform server reads at start: where its data lives, which database it uses, and the
bounds it holds every client to.

Built from the runtime configuration (``config/config.yaml``, ``DYNAMICAL_*``): ``data_dir`` holds
the SQLite database (unless ``database_url`` names another one), the skill keyring and the
artifact blobs. ``dynamical up`` adds the transport options (TLS files, trusted proxies).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from dynamical.config import Settings

SQLITE_FILE = "dynamical.db"
KEYRING_FILE = "keyring.json"
DEFAULT_MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
# What the agent link allows a robot to send (agent.messages.MAX_AGENT_MESSAGE_BYTES; its hello
# with the scene model is ~30 kB). The telemetry socket holds its clients to 4 kB on top of this;
# artifacts only ever go down to the robots.
DEFAULT_MAX_SOCKET_MESSAGE_BYTES = 4 * 1024 * 1024


class ApiSettings(BaseModel):
    """Settings of one server (or one CLI command acting on its database)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path
    database_url: str
    max_artifact_bytes: int = Field(DEFAULT_MAX_ARTIFACT_BYTES, gt=0, description="Largest skill upload, bytes")
    max_body_bytes: int = Field(
        DEFAULT_MAX_BODY_BYTES, gt=0, description="Largest request body but an artifact upload, bytes"
    )
    max_socket_message_bytes: int = Field(
        DEFAULT_MAX_SOCKET_MESSAGE_BYTES, gt=0, description="Largest WebSocket message a client may send, bytes"
    )
    auth_failures_allowed: int = Field(
        10, ge=1, description="Failed authentications a client address may make per window before 429"
    )
    auth_failure_window_s: float = Field(60.0, gt=0, description="The window of auth_failures_allowed, s")
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description="Addresses (or CIDR networks) of reverse proxies whose X-Forwarded-For/-Proto are believed; "
        "none by default: the client address is the TCP peer's",
    )
    api_docs: bool = Field(True, description="Serve /docs, /redoc and /openapi.json (public: they hold no data)")
    ui_dir: Path | None = Field(None, description="The dashboard's static build; None: ui/dist of the checkout")

    @classmethod
    def from_settings(cls, settings: Settings, data_dir: Path | None = None, **overrides: object) -> ApiSettings:
        """The server settings for ``settings``; ``data_dir`` (``--data-dir``) overrides the configured one."""
        directory = (data_dir if data_dir is not None else settings.data_dir).expanduser().resolve()
        url = resolve_database_url(settings.database_url, directory)
        return cls(data_dir=directory, database_url=url, **overrides)  # type: ignore[arg-type]

    @property
    def keyring_path(self) -> Path:
        return self.data_dir / KEYRING_FILE

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "skills" / "blobs"


def resolve_database_url(configured: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL to connect to; raises ValueError naming what is wrong with ``configured``."""
    if configured is None or not configured.strip():
        return f"sqlite:///{data_dir / SQLITE_FILE}"
    try:
        url = make_url(configured.strip())
    except ArgumentError:
        raise ValueError(f"database_url {configured!r} is not a database URL (postgresql+psycopg://...)") from None
    # A bare "postgresql://" would select psycopg2, which is not installed; psycopg 3 is.
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("postgresql+psycopg", "sqlite", "sqlite+pysqlite"):
        raise ValueError(
            f"database_url uses {url.drivername!r}; supported are postgresql+psycopg://... and sqlite:///..."
        )
    return url.render_as_string(hide_password=False)
