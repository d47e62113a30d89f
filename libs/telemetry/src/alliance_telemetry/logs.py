"""Structured JSON logging with trace ids and patient-identifier redaction."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace

from alliance_telemetry.redaction import redact_fields, redact_text

_RESERVED = frozenset({"ts", "level", "logger", "msg", "service", "trace_id", "span_id",
                       "exception", "stack"})
_HANDLER_MARK = "_alliance_telemetry_handler"
_PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [trace_id=%(trace_id)s] %(message)s"
#: Chatty libraries that log per request/batch at INFO.
_QUIET_LOGGERS = ("httpx", "httpcore", "aiokafka", "kafka", "grpc", "urllib3")
_UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def _span_ids() -> tuple[str, str] | None:
    """Hex trace and span id of the active span, if any."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


class TraceContextFilter(logging.Filter):
    """Stamp ``trace_id``/``span_id`` of the active span on each record (empty when none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the ids unless the record already carries them."""
        if not getattr(record, "trace_id", None):
            ids = _span_ids()
            record.trace_id, record.span_id = ids if ids else ("", "")
        return True


class RedactingFilter(logging.Filter):
    """Scrub patient identifiers from the message, ``extra["fields"]`` and exception text."""

    _exc_formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not hide the record
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            record.fields = redact_fields(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = self._exc_formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, service, trace/span ids, fields."""

    def __init__(self, service: str = "") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record; ``extra={"fields": {...}}`` keys are merged at top level."""
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "service": self.service,
        }
        trace_id = getattr(record, "trace_id", None)
        span_id = getattr(record, "span_id", None)
        if trace_id is None:
            trace_id, span_id = _span_ids() or ("", "")
        if trace_id:
            payload["trace_id"], payload["span_id"] = trace_id, span_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                payload[f"field.{key}" if key in _RESERVED else str(key)] = value
        return json.dumps(payload, ensure_ascii=False, default=str)


def _is_ours(handler: logging.Handler) -> bool:
    """Whether a handler was installed by :func:`configure_logging`."""
    return getattr(handler, _HANDLER_MARK, False)


def configure_logging(service_name: str, level: str = "INFO", json_logs: bool = True) -> None:
    """Install (or replace) one stdout handler on the root logger; idempotent."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if _is_ours(h)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(TraceContextFilter())
    handler.addFilter(RedactingFilter())
    handler.setFormatter(JsonFormatter(service_name) if json_logs else
                         logging.Formatter(_PLAIN_FORMAT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.NOTSET if level.upper() == "DEBUG" else logging.WARNING
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
    for name in _UVICORN_LOGGERS:  # let uvicorn's records reach the JSON handler
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
