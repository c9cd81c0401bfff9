"""OpenTelemetry traces of invokes: stored in the ``traces`` and ``spans`` tables, exported over OTLP
only when configured (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``).

Each server has its own ``TracerProvider`` (not the global one: two servers in one test process
must not see each other's spans). Spans of a trace are kept in memory until its root span ends,
then written in one transaction: an invoke's trace is in the database when its response is sent.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer
from pydantic import BaseModel

import dynamical
from dynamical.api.db import Database
from dynamical.api.models import Span, Trace

log = logging.getLogger(__name__)
OTLP_ENV = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
MAX_OPEN_TRACES = 1000
"""Traces whose root has not ended yet; beyond this the oldest are dropped (a leak guard)."""


class SpanOut(BaseModel):
    span_id: str
    parent_span_id: str | None
    name: str
    kind: str
    start_unix_nano: int
    end_unix_nano: int | None
    duration_ms: float | None
    status_code: str
    status_message: str | None
    attributes: dict[str, Any]
    events: list[Any]


class TraceOut(BaseModel):
    trace_id: str
    request_id: str | None
    name: str
    started_at: datetime
    ended_at: datetime | None
    spans: list[SpanOut]
    """In start order."""


class DatabaseSpanProcessor(SpanProcessor):
    """Buffers ended spans per trace; writes the trace when its root span ends."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._open: dict[int, list[ReadableSpan]] = defaultdict(list)
        self._lock = threading.Lock()

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        with self._lock:
            self._open[context.trace_id].append(span)
            if span.parent is not None:
                if len(self._open) > MAX_OPEN_TRACES:
                    self._open.pop(next(iter(self._open)))
                return
            spans = self._open.pop(context.trace_id)
        try:
            self._write(span, spans)
        except Exception:  # a trace that cannot be stored must not fail the invoke it describes
            log.exception("could not store trace %032x", context.trace_id)

    def _write(self, root: ReadableSpan, spans: list[ReadableSpan]) -> None:
        trace_id = f"{root.context.trace_id:032x}"
        request_id = root.attributes.get("request_id") if root.attributes else None
        with self.db.session() as session:
            session.add(
                Trace(
                    trace_id=trace_id,
                    request_id=str(request_id) if request_id else None,
                    name=root.name,
                    started_at=_when(root.start_time),
                    ended_at=_when(root.end_time) if root.end_time else None,
                )
            )
            session.flush()
            session.add_all(_row(trace_id, s) for s in spans)

    def shutdown(self) -> None:
        with self._lock:
            self._open.clear()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _when(unix_nano: int | None) -> datetime:
    return datetime.fromtimestamp((unix_nano or 0) / 1e9, UTC)


def _row(trace_id: str, span: ReadableSpan) -> Span:
    return Span(
        trace_id=trace_id,
        span_id=f"{span.context.span_id:016x}",
        parent_span_id=f"{span.parent.span_id:016x}" if span.parent is not None else None,
        name=span.name,
        kind=span.kind.name,
        start_unix_nano=span.start_time or 0,
        end_unix_nano=span.end_time,
        status_code=span.status.status_code.name,
        status_message=span.status.description,
        attributes={k: _json(v) for k, v in (span.attributes or {}).items()},
        events=[
            {"name": e.name, "time_unix_nano": e.timestamp, "attributes": dict(e.attributes or {})} for e in span.events
        ],
    )


def _json(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def make_tracer_provider(db: Database) -> TracerProvider:
    """Spans into ``db``; and over OTLP/HTTP when the standard OTLP environment variables say where."""
    provider = TracerProvider(
        resource=Resource.create({"service.name": "dynamical-server", "service.version": dynamical.__version__})
    )
    provider.add_span_processor(DatabaseSpanProcessor(db))
    if any(os.environ.get(name) for name in OTLP_ENV):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        log.info("exporting traces over OTLP/HTTP")
    return provider


def tracer(provider: TracerProvider) -> Tracer:
    return provider.get_tracer("dynamical.api.invoke", dynamical.__version__)


def load_trace(db: Database, request_id: str) -> TraceOut | None:
    """The trace of ``request_id``, or None."""
    from sqlalchemy import select

    with db.session() as session:
        trace = session.scalar(select(Trace).where(Trace.request_id == request_id).order_by(Trace.started_at.desc()))
        if trace is None:
            return None
        rows = session.scalars(select(Span).where(Span.trace_id == trace.trace_id).order_by(Span.start_unix_nano))
        spans = [
            SpanOut(
                span_id=s.span_id,
                parent_span_id=s.parent_span_id,
                name=s.name,
                kind=s.kind,
                start_unix_nano=s.start_unix_nano,
                end_unix_nano=s.end_unix_nano,
                duration_ms=(s.end_unix_nano - s.start_unix_nano) / 1e6 if s.end_unix_nano else None,
                status_code=s.status_code,
                status_message=s.status_message,
                attributes=s.attributes,
                events=s.events,
            )
            for s in rows
        ]
        return TraceOut(
            trace_id=trace.trace_id,
            request_id=trace.request_id,
            name=trace.name,
            started_at=trace.started_at,
            ended_at=trace.ended_at,
            spans=spans,
        )
