"""Structured JSON logging with trace ids and patient-identifier redaction."""

from __future__ import annotations

import json
import logging
import sys
import traceback
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
#: Upper bound of one JSON log line in UTF-8 bytes (a 430 KB line was seen: an echoed request body).
MAX_LINE_BYTES = 8192
MAX_MESSAGE_CHARS = 4096
MAX_EXCEPTION_CHARS = 4096
MAX_FIELD_CHARS = 1024
#: Tracebacks keep only the innermost frames, where the error is.
TRACEBACK_FRAMES = 8
#: What the redacting filter looks at, at most; the formatter cuts the rest.
_MAX_REDACTED_CHARS = 65_536
_ALWAYS_KEPT = frozenset({"ts", "level", "logger", "service", "trace_id", "span_id"})


def truncate(text: str, limit: int, *, keep_tail: bool = False) -> str:
    """``text`` cut to about ``limit`` characters with a visible marker saying how much went."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    marker = f"…[truncated {cut} chars]"
    return marker + text[-limit:] if keep_tail else text[:limit] + marker


def format_exception(exc_info: Any) -> str:
    """The traceback of ``exc_info``: its last frames (per chained exception), each line bounded."""
    exc_type, exc, tb = exc_info
    if exc is None:
        return ""
    text = "".join(traceback.TracebackException(exc_type, exc, tb, limit=-TRACEBACK_FRAMES).format())
    # redacted before it is cut, so an identifier split by the cut cannot slip past the redaction
    return "\n".join(truncate(redact_text(line), MAX_FIELD_CHARS) for line in text.rstrip("\n").split("\n"))


def _bounded_value(value: Any) -> Any:
    """A field value no longer than MAX_FIELD_CHARS once serialised (oversized ones become strings)."""
    if isinstance(value, str):
        return truncate(value, MAX_FIELD_CHARS)
    if value is None or isinstance(value, bool | int | float):
        return value
    text = json.dumps(value, ensure_ascii=False, default=str)
    return value if len(text) <= MAX_FIELD_CHARS else truncate(text, MAX_FIELD_CHARS)


def bounded_line(payload: dict[str, Any], limit: int = MAX_LINE_BYTES) -> str:
    """Serialise ``payload``; while the line exceeds ``limit`` bytes, cut the largest values shorter."""
    line = json.dumps(payload, ensure_ascii=False, default=str)
    texts = {key: value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
             for key, value in payload.items() if key not in _ALWAYS_KEPT}
    cap = max((len(text) for text in texts.values()), default=0)
    while len(line.encode()) > limit and cap > 16:
        cap //= 2
        for key, text in texts.items():
            if len(text) > cap:
                payload[key] = texts[key] = truncate(text, cap, keep_tail=key == "exception")
        payload["truncated"] = True
        line = json.dumps(payload, ensure_ascii=False, default=str)
    if len(line.encode()) <= limit:
        return line
    kept = {key: payload[key] for key in _ALWAYS_KEPT if key in payload}
    kept.update(msg=truncate(str(payload.get("msg", "")), 256), truncated=True)
    return json.dumps(kept, ensure_ascii=False, default=str)


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

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record in place; never drops it."""
        try:
            message = record.getMessage()
        except Exception:  # a broken %-format must not hide the record
            message = str(record.msg)
        record.msg, record.args = redact_text(truncate(message, _MAX_REDACTED_CHARS)), None
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            record.fields = redact_fields(fields)
        if record.exc_info and not record.exc_text:
            record.exc_text = format_exception(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(truncate(record.exc_text, _MAX_REDACTED_CHARS, keep_tail=True))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, at most MAX_LINE_BYTES: ts, level, logger, msg, service, trace ids, fields."""

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
            "msg": truncate(record.getMessage(), MAX_MESSAGE_CHARS),
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
            payload["exception"] = truncate(record.exc_text, MAX_EXCEPTION_CHARS, keep_tail=True)
        if record.stack_info:
            payload["stack"] = truncate(self.formatStack(record.stack_info), MAX_EXCEPTION_CHARS, keep_tail=True)
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                payload[f"field.{key}" if key in _RESERVED else truncate(str(key), 128)] = _bounded_value(value)
        return bounded_line(payload)

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """The traceback trimmed to its last frames."""
        return format_exception(ei)


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
