"""Original-mode ACK messages (MSH, MSA, one ERR per error in the v2.5 layout)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from data_exchange.hl7.charset import CODEC_TO_HL7, codec_for, first_value, msh_fields_from_bytes
from data_exchange.hl7.datatypes import CHINA_TZ
from data_exchange.hl7.errors import TABLE_0357, Hl7Error
from data_exchange.hl7.escape import DEFAULT_ENCODING, escape
from data_exchange.hl7.parser import Message, parse

ACK_CODES = frozenset({"AA", "AE", "AR", "CA", "CE", "CR"})
_SEVERITIES = frozenset({"E", "W", "I", "F"})
_LEGACY_ERR1 = frozenset({"2.3", "2.3.1", "2.4"})  # these senders read ERR-1, not ERR-2/3
_ECHO_LIMIT = 64
_MSA_TEXT_LIMIT = 80
_ERR_TEXT_LIMIT = 250


@dataclass(frozen=True)
class _Header:
    """The sender's MSH values an ACK echoes, already stripped of control characters."""

    sending_application: tuple[str, ...] = ()
    sending_facility: tuple[str, ...] = ()
    receiving_application: tuple[str, ...] = ()
    receiving_facility: tuple[str, ...] = ()
    trigger: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    hl7_charset: str = ""
    codec: str = "utf-8"


def _clean(value: str) -> str:
    return "".join(ch for ch in value[:_ECHO_LIMIT] if ch.isprintable())


def _charset_name(sent: str, codec: str) -> str:
    """MSH-18 for the ACK: as sent when it is clean, else our canonical name for the codec."""
    cleaned = _clean(sent)
    if cleaned and codec_for(cleaned) == codec:
        return cleaned
    return CODEC_TO_HL7.get(codec, "") if sent else ""


def _from_message(msg: Message) -> _Header:
    msh = msg.msh

    def hd(field: int) -> tuple[str, ...]:
        return tuple(_clean(msh.get(field, c)) for c in (1, 2, 3))

    return _Header(hd(3), hd(4), hd(5), hd(6), _clean(msg.trigger_event), _clean(msg.control_id),
                   _clean(msg.processing_id), _clean(msg.version),
                   _charset_name(msg.hl7_charset, msg.charset), msg.charset)


def _from_raw(raw: bytes) -> _Header:
    """Best effort for an MSH the parser rejected: no exception escapes, unknown parts stay empty."""
    data = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    data = data.lstrip(b"\r\n\t ")
    if not data.startswith(b"MSH") or len(data) < 5:
        return _Header()
    fs = data[3]
    if fs in b"\r\n" or fs == data[4]:
        return _Header()
    ends = [i for i in (data.find(b"\r"), data.find(b"\n")) if i >= 0]
    line = data[:min(ends)] if ends else data
    comp, rep = data[4], (data[5] if len(data) > 5 else data[4])
    fields = msh_fields_from_bytes(line, fs, gb_aware=False)
    name = first_value(fields[17], comp, rep) if len(fields) > 17 else b""
    codec = codec_for(name.decode("latin-1")) or "utf-8"
    if codec in ("gb18030", "gbk"):
        fields = msh_fields_from_bytes(line, fs, gb_aware=True)

    def value(field: int, component: int = 1) -> str:
        if len(fields) < field:
            return ""
        raw_field = fields[field - 1].split(bytes((rep,)))[0]
        parts = raw_field.split(bytes((comp,)))
        part = parts[component - 1] if component <= len(parts) else b""
        return _clean(part.decode(codec, "replace"))

    def hd(field: int) -> tuple[str, ...]:
        return tuple(value(field, c) for c in (1, 2, 3))

    hl7_charset = _charset_name(name.decode("latin-1"), codec) if codec_for(
        name.decode("latin-1")) else ""
    return _Header(hd(3), hd(4), hd(5), hd(6), value(9, 2), value(10), value(11), value(12),
                   hl7_charset, codec)


def _join(parts: Sequence[str], sep: str) -> str:
    parts = list(parts)
    while parts and not parts[-1]:
        parts.pop()
    return sep.join(parts)


def _hd(parts: tuple[str, ...]) -> str:
    return _join([escape(p) for p in parts], "^")


def _timestamp(now: datetime) -> str:
    now = now.replace(tzinfo=CHINA_TZ) if now.tzinfo is None else now.astimezone(CHINA_TZ)
    return now.strftime("%Y%m%d%H%M%S%z")


def _err(error: Hl7Error, legacy: bool) -> str:
    seg = escape(_clean(error.segment or ""))
    seq = str(error.segment_seq) if seg else ""
    field = str(error.field) if seg and error.field is not None else ""
    component = str(error.component) if field and error.component is not None else ""
    location = _join([seg, seq, field, "", component], "^")
    code_text = escape(TABLE_0357.get(error.code, TABLE_0357[207]))
    err1 = ""
    if legacy and seg:
        err1 = f"{seg}^{seq}^{field}^{error.code}&{code_text}&HL70357"
    severity = error.severity if error.severity in _SEVERITIES else "E"
    reason = escape(error.reason[:_ERR_TEXT_LIMIT])
    return _join(["ERR", err1, location, f"{error.code}^{code_text}^HL70357", severity,
                  "", "", "", reason], "|")


def build_ack(msg: Message | None, code: str, errors: Sequence[Hl7Error] = (), *,
              control_id: str, now: datetime, text: str = "", raw: bytes | None = None) -> bytes:
    """An original-mode ACK for `msg` (or, when it could not be parsed, for the MSH in `raw`)."""
    if code not in ACK_CODES:
        raise ValueError(f"not an acknowledgment code: {code!r}")
    header = _from_message(msg) if msg is not None else _from_raw(bytes(raw or b""))
    version = escape(header.version) or "2.5.1"
    msh = _join([
        "MSH", DEFAULT_ENCODING.msh2,
        _hd(header.receiving_application), _hd(header.receiving_facility),
        _hd(header.sending_application), _hd(header.sending_facility),
        _timestamp(now), "", _join(["ACK", escape(header.trigger), "ACK"], "^"),
        escape(_clean(control_id)), escape(header.processing_id) or "P", version,
        "", "", "", "", "", escape(header.hl7_charset),
    ], "|")
    if not text and errors:
        text = errors[0].reason
    msa = _join(["MSA", code, escape(header.control_id),
                 escape(text[:_MSA_TEXT_LIMIT])], "|")
    legacy = header.version in _LEGACY_ERR1
    segments = [msh, msa, *(_err(e, legacy) for e in errors)]
    return ("\r".join(segments) + "\r").encode(header.codec, "replace")


SYSTEM_ERROR_CAUSES = {
    "database": "database unavailable",
    "kafka": "message broker unavailable",
    "timeout": "processing timed out",
    "internal": "internal error",
}


def system_error_ack(raw: bytes, cause: str, *, control_id: str, now: datetime) -> bytes:
    """AR with ERR-3 207 for a failure that is not the message's fault: nothing was stored, and the same
    message resent unchanged (same MSH-10) is processed then — or, if it was stored after all, answered
    with its first ACK by the duplicate store."""
    what = SYSTEM_ERROR_CAUSES.get(cause, SYSTEM_ERROR_CAUSES["internal"])
    err = Hl7Error(207, f"{what} (a system error, not the message's content): the message was not stored; "
                        "resend it unchanged with the same MSH-10", reject=True)
    return build_ack(None, "AR", [err], control_id=control_id, now=now, raw=raw,
                     text=f"{what}; resend unchanged (same MSH-10)")


def ack_fields(ack: bytes) -> dict[str, Any]:
    """The interesting fields of an ACK, parsed back with our own parser (for tests and logs)."""
    msg = parse(ack)
    msa = msg.segment("MSA")
    errors = []
    for err in msg.all("ERR"):
        errors.append({
            "location": err.field_raw(2),
            "segment": err.get(2, 1),
            "sequence": err.get(2, 2),
            "field": err.get(2, 3),
            "component": err.get(2, 5),
            "code": err.get(3, 1),
            "code_text": err.get(3, 2),
            "severity": err.get(4),
            "text": err.get(8),
            "legacy_location": err.field_raw(1),
        })
    return {
        "message_type": msg.message_type,
        "trigger_event": msg.trigger_event,
        "structure": msg.structure,
        "control_id": msg.control_id,
        "processing_id": msg.processing_id,
        "version": msg.version,
        "sending_application": msg.sending_application,
        "sending_facility": msg.sending_facility,
        "receiving_application": msg.receiving_application,
        "receiving_facility": msg.receiving_facility,
        "timestamp": msg.msh.get(7),
        "charset": msg.hl7_charset,
        "code": msa.get(1) if msa else "",
        "acknowledged_control_id": msa.get(2) if msa else "",
        "text": msa.get(3) if msa else "",
        "errors": errors,
        "segments": [s.name for s in msg.segments],
    }
