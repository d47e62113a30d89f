"""Header and segment-structure checks for the supported message types."""

from __future__ import annotations

from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.parser import Message

SUPPORTED: frozenset[tuple[str, str]] = frozenset({
    ("ADT", "A01"), ("ADT", "A04"), ("ADT", "A08"), ("ADT", "A03"), ("ADT", "A28"), ("ADT", "A31"),
    ("ADT", "A40"),
    ("ORU", "R01"), ("ORM", "O01"), ("OML", "O21"),
})
SUPPORTED_TYPES = frozenset(t for t, _ in SUPPORTED)
PERSON_EVENTS = frozenset({"A28", "A31"})  # demographics only: add / update person information
PROCESSING_IDS = frozenset({"P", "D", "T"})
VERSIONS = frozenset({"2.3", "2.3.1", "2.4", "2.5", "2.5.1"})
MAX_FIELDS = 256  # no standard segment comes close; more is hostile or broken


def _shown(value: str) -> str:
    return "".join(ch for ch in value[:20] if ch.isalnum() or ch in "._-")


def _header_error(code: int, reason: str, field: int, component: int | None = None) -> Hl7Error:
    return Hl7Error(code, reason, segment="MSH", field=field, component=component, reject=True)


def check_header(msg: Message) -> None:
    """Reject (AR) unsupported type/event/processing id/version or a missing MSH-4/9/10/11/12."""
    mtype, event = msg.message_type, msg.trigger_event
    if not mtype:
        raise _header_error(101, "message type missing", 9, 1)
    if mtype not in SUPPORTED_TYPES:
        raise _header_error(200, f"unsupported message type {_shown(mtype)!r}", 9, 1)
    if not event:
        raise _header_error(101, "trigger event missing", 9, 2)
    if (mtype, event) not in SUPPORTED:
        raise _header_error(201, f"unsupported event {_shown(mtype)}^{_shown(event)}", 9, 2)
    if not msg.control_id:
        raise _header_error(101, "message control id missing", 10)
    pid = msg.processing_id
    if not pid:
        raise _header_error(101, "processing id missing", 11, 1)
    if pid not in PROCESSING_IDS:
        raise _header_error(202, f"unsupported processing id {_shown(pid)!r}", 11, 1)
    version = msg.version
    if not version:
        raise _header_error(101, "version id missing", 12, 1)
    if version not in VERSIONS:
        raise _header_error(203, f"unsupported version {_shown(version)!r}", 12, 1)
    if not msg.sending_facility:
        raise _header_error(101, "sending facility missing", 4, 1)


def _sequence_error(reason: str, segment: str, seq: int = 1) -> Hl7Error:
    return Hl7Error(100, reason, segment=segment, segment_seq=seq)


def check_structure(msg: Message) -> None:
    """Required segments and their order for the message type (100 naming the segment)."""
    names = [s.name for s in msg.segments]
    fs = msg.encoding_characters.field
    for seg in msg.segments:
        if seg.raw.count(fs) > MAX_FIELDS:
            raise Hl7Error(102, f"{seg.name} has more than {MAX_FIELDS} fields",
                           segment=seg.name, segment_seq=seg.occurrence, field=MAX_FIELDS + 1)
    if "MSH" in names[1:]:
        raise _sequence_error("unexpected second MSH segment (batches are not accepted)", "MSH", 2)
    if names.count("PID") > 1:
        raise _sequence_error("PID segment repeated", "PID", 2)
    mtype = msg.message_type
    if mtype == "ADT" and msg.trigger_event in PERSON_EVENTS:
        _check_person(names)
    elif mtype == "ADT" and msg.trigger_event == "A40":
        _require_before(names, "PID", "MRG")
    elif mtype == "ADT":
        _check_adt(names)
    elif mtype == "ORU":
        _check_oru(msg)
    elif mtype in ("ORM", "OML"):
        _check_order(msg)


def _require_before(names: list[str], first: str, then: str) -> None:
    if first not in names:
        raise _sequence_error(f"required segment {first} missing", first)
    if then not in names:
        raise _sequence_error(f"required segment {then} missing", then)
    if names.index(then) < names.index(first):
        raise _sequence_error(f"{then} before {first}", then)


def _check_person(names: list[str]) -> None:
    """A28/A31 (add/update person information): a PID; the PV1 (usually class N) is optional."""
    if "PID" not in names:
        raise _sequence_error("required segment PID missing", "PID")
    if names.count("PV1") > 1:
        raise _sequence_error("PV1 segment repeated", "PV1", 2)


def _check_adt(names: list[str]) -> None:
    _require_before(names, "PID", "PV1")
    if names.count("PV1") > 1:
        raise _sequence_error("PV1 segment repeated", "PV1", 2)


def _check_oru(msg: Message) -> None:
    names = [s.name for s in msg.segments]
    _require_before(names, "PID", "OBR")
    current_obr = None
    counts: dict[int, int] = {}
    for seg in msg.segments:
        if seg.name == "OBR":
            current_obr = seg
            counts[seg.occurrence] = 0
        elif seg.name == "OBX":
            if current_obr is None:
                raise _sequence_error("OBX before any OBR", "OBX", seg.occurrence)
            counts[current_obr.occurrence] += 1
    for occurrence, n in counts.items():
        if n == 0:
            raise _sequence_error("OBR without any OBX", "OBR", occurrence)


def _check_order(msg: Message) -> None:
    names = [s.name for s in msg.segments]
    if "ORC" not in names:
        raise _sequence_error("required segment ORC missing", "ORC")
    if "PID" in names and names.index("PID") > names.index("ORC"):
        raise _sequence_error("PID after ORC", "PID")
    if "OBR" not in names:
        raise _sequence_error("required segment OBR missing", "OBR")
    current_orc = None
    has_obr: dict[int, bool] = {}
    for seg in msg.segments:
        if seg.name == "ORC":
            current_orc = seg.occurrence
            has_obr[current_orc] = False
        elif seg.name == "OBR":
            if current_orc is None:
                raise _sequence_error("OBR before any ORC", "OBR", seg.occurrence)
            has_obr[current_orc] = True
    for occurrence, ok in has_obr.items():
        if not ok:
            raise _sequence_error("ORC without an OBR", "ORC", occurrence)
