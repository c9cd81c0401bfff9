"""A small HTTP client of the platform server, for the CLI: errors become one readable line."""

from __future__ import annotations

from typing import Any

import httpx

from dynamical.api.auth import HEADER

DEFAULT_SERVER = "http://127.0.0.1:8000"


class ApiClientError(ValueError):
    """The server could not be reached or refused the request; the message says which and why.
    ``status`` is the HTTP status of a refusal (None when no answer came)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiClient:
    def __init__(self, server: str, api_key: str | None, timeout_s: float = 10.0) -> None:
        if not api_key:
            raise ApiClientError("no API key: pass --api-key or set DYNAMICAL_API_KEY (`dynamical keys create`)")
        if not server.startswith(("http://", "https://")):
            raise ApiClientError(f"--server must be an http:// or https:// URL, got {server!r}")
        self.server = server.rstrip("/")
        self._client = httpx.Client(base_url=self.server, headers={HEADER: api_key}, timeout=timeout_s)

    def get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any) -> Any:
        return self._request("POST", path, json=body)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiClientError(f"cannot reach the server at {self.server}: {exc}") from None
        if response.is_error:
            status = response.status_code
            raise ApiClientError(f"{method} {path}: HTTP {status}: {_detail(response)}", status)
        try:
            return response.json()
        except ValueError:
            raise ApiClientError(f"{method} {path}: the server answered something that is not JSON") from None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail) if detail else response.text[:200] or response.reason_phrase
