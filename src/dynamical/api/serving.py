"""How ``dynamical up`` serves the app: TLS, which proxies are believed, how large a socket message may be.

- TLS: ``--certfile``/``--keyfile`` (PEM) make the server speak HTTPS and WSS only; the local
  agent then trusts that certificate (``SSL_CERT_FILE``), so it must name the address the agent
  connects to (``127.0.0.1`` unless ``--host`` says otherwise).
- Proxies: ``X-Forwarded-For``/``-Proto`` are believed only from ``trusted_proxies`` (uvicorn
  trusts loopback by default, which let any local process pick its own client address).
- Sockets: ``ws_max_size`` is ``max_socket_message_bytes``; a larger message is refused by the
  WebSocket layer (close 1009) from its frame header, before its payload is buffered.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from dynamical.api.settings import ApiSettings


class TlsFiles(BaseModel):
    """A certificate chain and its private key, PEM files."""

    model_config = ConfigDict(frozen=True)

    certfile: Path
    keyfile: Path

    @model_validator(mode="after")
    def _loadable(self) -> TlsFiles:
        for what, path in (("certificate", self.certfile), ("key", self.keyfile)):
            if not path.is_file():
                raise ValueError(f"TLS {what} file {path} does not exist")
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(self.certfile, self.keyfile)
        except (ssl.SSLError, OSError) as exc:
            raise ValueError(f"TLS certificate {self.certfile} and key {self.keyfile} do not load: {exc}") from None
        return self


def tls_files(certfile: Path | None, keyfile: Path | None) -> TlsFiles | None:
    """Both files or neither; ValueError (one line, for the CLI) otherwise."""
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        raise ValueError("TLS needs both --certfile and --keyfile")
    try:
        return TlsFiles(certfile=certfile.expanduser(), keyfile=keyfile.expanduser())
    except ValueError as exc:
        # A pydantic ValidationError: its first error's message is the one line worth showing.
        errors = getattr(exc, "errors", None)
        raise ValueError(errors()[0]["msg"].removeprefix("Value error, ") if errors else str(exc)) from None


def check_proxies(proxies: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``proxies`` as addresses or networks; ValueError naming one that is neither."""
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ValueError(f"trusted proxy {proxy!r} is not an IP address or network") from None
    return tuple(proxies)


def server_url(host: str, port: int, tls: TlsFiles | None) -> str:
    """The URL clients on this machine use: a wildcard host is reached on loopback."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"{'https' if tls else 'http'}://{shown}:{port}"


def uvicorn_options(settings: ApiSettings, tls: TlsFiles | None) -> dict[str, Any]:
    """The keyword arguments of ``uvicorn.Config`` that carry the server's transport policy."""
    options: dict[str, Any] = {
        "ws_max_size": settings.max_socket_message_bytes,
        # Without a trusted proxy the headers are not even looked at; with one, only its word counts.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
        "server_header": False,
    }
    if tls is not None:
        options["ssl_certfile"] = str(tls.certfile)
        options["ssl_keyfile"] = str(tls.keyfile)
    return options
