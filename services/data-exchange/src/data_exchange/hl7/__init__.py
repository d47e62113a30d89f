"""HL7 v2 pure core: MLLP framing, parsing, validation, mapping to the clinical model, ACKs.

No I/O here: the MLLP server and the HTTP endpoint feed bytes in and send bytes out:

    for item in decoder.feed(chunk):                 # decoder = MllpDecoder()
        if isinstance(item, FramingError):
            continue                                 # log item.reason; nothing to acknowledge
        msg = None
        try:
            msg = parse(item, sender_charsets=overrides)
            check_header(msg)
            check_structure(msg)
            records, issues = to_records(msg)
            ack = build_ack(msg, "AA", issues_as_warnings(issues), control_id=new_id, now=now)
        except Hl7Error as err:
            ack = build_ack(msg, err.ack_code, [err], control_id=new_id, now=now, raw=item)
        writer.write(frame(ack))
"""

from data_exchange.hl7.ack import SYSTEM_ERROR_CAUSES, ack_fields, build_ack, system_error_ack
from data_exchange.hl7.datatypes import (
    money_to_fen,
    parse_date,
    parse_decimal,
    parse_dtm,
    parse_int,
)
from data_exchange.hl7.errors import TABLE_0357, Hl7Error, warning
from data_exchange.hl7.escape import DEFAULT_ENCODING, EncodingCharacters, escape, unescape
from data_exchange.hl7.framing import FramingError, MllpDecoder, frame
from data_exchange.hl7.mapping import issues_as_warnings, to_records
from data_exchange.hl7.parser import Message, Segment, parse
from data_exchange.hl7.validation import SUPPORTED, check_header, check_structure

__all__ = [
    "DEFAULT_ENCODING",
    "SUPPORTED",
    "SYSTEM_ERROR_CAUSES",
    "TABLE_0357",
    "EncodingCharacters",
    "FramingError",
    "Hl7Error",
    "Message",
    "MllpDecoder",
    "Segment",
    "ack_fields",
    "build_ack",
    "check_header",
    "check_structure",
    "escape",
    "frame",
    "issues_as_warnings",
    "money_to_fen",
    "parse",
    "parse_date",
    "parse_decimal",
    "parse_dtm",
    "parse_int",
    "system_error_ack",
    "to_records",
    "unescape",
    "warning",
]
