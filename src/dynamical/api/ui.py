"""The web dashboard: the static build of ``ui/`` served at ``/``.

The dashboard is a single-page app with client-side routes (``/dashboard``, ``/safety`` …), so
any GET that is not the API, a socket or a file of the build answers with ``index.html`` and the
app's router takes over. API paths never fall through to it: an unknown ``/api/…`` stays a JSON
404. Hashed assets are cached for good; ``index.html`` never is, so a rebuild shows at once.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

import dynamical

RESERVED_PREFIXES = ("api/", "ws/", "docs", "redoc", "openapi.json", "health")
NOT_BUILT = """<!doctype html><html><head><meta charset="utf-8"><title>Dynamical Edge</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1>Dynamical Edge</h1>
<p>The dashboard is not built in <code>{directory}</code>. <code>make up</code> builds it
(<code>npm ci &amp;&amp; npm run build</code> in <code>ui/</code>). The API is up: see
<a href="/docs">/docs</a>.</p></body></html>"""


def default_ui_dir() -> Path:
    """``ui/dist`` of the source checkout this package runs from."""
    return Path(dynamical.__file__).resolve().parents[2] / "ui" / "dist"


def install_ui(app: FastAPI, directory: Path) -> None:
    """Serve ``directory`` (a Vite build) at ``/``; call after every API route is included."""
    root = directory.resolve()

    @app.get("/{path:path}", include_in_schema=False, response_model=None)
    def dashboard(path: str) -> FileResponse | HTMLResponse:
        if path.startswith(RESERVED_PREFIXES):
            raise HTTPException(status_code=404, detail=f"no route /{path}")
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT.format(directory=root), status_code=503)
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                immutable = candidate.parent.name == "assets"  # Vite names these by content hash
                cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
                return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
