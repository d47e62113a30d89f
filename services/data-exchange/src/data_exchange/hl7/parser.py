"""Fast, lazy HL7 v2 parser: decode once, split segments once, split fields on first access.

Charset rules: MSH-18 is read from the raw bytes before decoding (charset.py). An unknown
MSH-18 name is Hl7Error 102 on MSH-18 ("unsupported character set X"; table 0357 has no closer
code), ack_code AR. Bytes that do not decode strictly are 102 on MSH-18, AR, "not valid <codec>
at byte <n>" (this catches truncated multi-byte characters). Known limit of GB 18030/GBK: a
lead byte followed by 0x40-0x7E is a valid character, so a cut character that swallows the next
"|" or "^" cannot be seen by decoding; the fields shift and later checks usually reject it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping

from data_exchange.hl7.charset import codec_for, first_value, msh_fields_from_bytes
from data_exchange.hl7.errors import Hl7Error
from data_exchange.hl7.escape import EncodingCharacters, unescape

_BOM = b"\xef\xbb\xbf"
_LEADING_WS = frozenset(b"\r\n\t ")
_NAME_RE = re.compile(r"[A-Z][A-Z0-9]{2}")
_valid_names: set[str] = set()  # bounded: at most 26*36*36 entries
_GB_CODECS = frozenset({"gb18030", "gbk"})


class _Context:
    """What every segment of one message shares: delimiters and the charset."""

    __slots__ = ("enc", "charset", "delims")

    def __init__(self, enc: EncodingCharacters, charset: str) -> None:
        self.enc = enc
        self.charset = charset
        self.delims = (enc.repetition, enc.component, enc.subcomponent, enc.escape)


class Segment:
    """One segment; fields are split on first access and cached, leaf values unescaped on access."""

    __slots__ = ("name", "index", "occurrence", "_line", "_ctx", "_fields", "_reps")

    def __init__(self, name: str, line: str, index: int, occurrence: int, ctx: _Context) -> None:
        self.name = name
        self.index = index            # 0-based position in Message.segments
        self.occurrence = occurrence  # 1-based among segments of the same name
        self._line = line
        self._ctx = ctx
        self._fields: list[str] | None = None
        self._reps: dict[int, list[str]] | None = None

    def __repr__(self) -> str:
        return f"<Segment {self.name} #{self.occurrence} at {self.index}>"

    def _split(self) -> list[str]:
        fs = self._ctx.enc.field
        if self.name == "MSH":
            fields = ["MSH", fs, *self._line[4:].split(fs)]
        else:
            fields = self._line.split(fs)
        self._fields = fields
        return fields

    @property
    def field_count(self) -> int:
        """Number of fields present (trailing empty ones included)."""
        fields = self._fields or self._split()
        return len(fields) - 1

    @property
    def raw(self) -> str:
        """The segment exactly as received (decoded, not unescaped)."""
        return self._line

    def field_raw(self, field: int) -> str:
        """Field `field` as sent, with its delimiters and escapes; "" when absent."""
        fields = self._fields or self._split()
        return fields[field] if 0 < field < len(fields) else ""

    def is_null(self, field: int) -> bool:
        """True when the field is the explicit HL7 null `""`."""
        return self.field_raw(field) == '""'

    def repetitions(self, field: int) -> int:
        """How many repetitions field `field` has (0 when empty)."""
        value = self.field_raw(field)
        if not value:
            return 0
        if field <= 2 and self.name == "MSH":
            return 1
        if self._ctx.enc.repetition not in value:
            return 1
        return len(self._rep_list(field, value))

    def _rep_list(self, field: int, value: str) -> list[str]:
        reps = self._reps
        if reps is None:
            reps = self._reps = {}
        found = reps.get(field)
        if found is None:
            found = reps[field] = value.split(self._ctx.enc.repetition)
        return found

    def _repetition(self, field: int, repetition: int) -> str:
        fields = self._fields
        if fields is None:
            fields = self._split()
        if field < 1 or field >= len(fields):
            return ""
        value = fields[field]
        if not value:
            return ""
        if field <= 2 and self.name == "MSH":
            return value if repetition == 1 else ""
        if self._ctx.enc.repetition in value:
            reps = self._rep_list(field, value)
            return reps[repetition - 1] if 0 < repetition <= len(reps) else ""
        return value if repetition == 1 else ""

    def text(self, field: int, repetition: int = 1) -> str:
        """A whole repetition with escapes decoded, components kept as sent (for ST/TX/FT)."""
        value = self._repetition(field, repetition)
        if not value or value == '""':
            return ""
        if field <= 2 and self.name == "MSH":
            return value
        ctx = self._ctx
        return unescape(value, ctx.enc, ctx.charset) if ctx.enc.escape in value else value

    def components(self, field: int, repetition: int = 1) -> list[str]:
        """Every component of one repetition (first subcomponent of each), escapes decoded."""
        value = self._repetition(field, repetition)
        if not value:
            return []
        if field <= 2 and self.name == "MSH":
            return [value]
        ctx = self._ctx
        _, cs, ss, es = ctx.delims
        parts = value.split(cs) if cs in value else [value]
        if ss in value:
            parts = [p.split(ss, 1)[0] for p in parts]
        if es in value or '""' in value:
            parts = [
                "" if p == '""' else unescape(p, ctx.enc, ctx.charset) if es in p else p
                for p in parts
            ]
        return parts

    def values(self, *fields: int) -> list[str]:
        """`get(f)` for each field in one call (the common case costs no per-field call)."""
        raw = self._fields
        if raw is None:
            raw = self._split()
        n = len(raw)
        rs, cs, ss, es = self._ctx.delims
        msh = self.name == "MSH"
        out = []
        for f in fields:
            v = raw[f] if 0 < f < n else ""
            if v and (rs in v or cs in v or ss in v or es in v or v == '""' or msh):
                v = self.get(f)
            out.append(v)
        return out

    def get(self, field: int, component: int = 1, subcomponent: int = 1, repetition: int = 1) -> str:
        """One leaf value with escapes decoded; "" when absent or explicitly null."""
        fields = self._fields
        if fields is None:
            fields = self._split()
        if field < 1 or field >= len(fields):
            return ""
        value = fields[field]
        if not value:
            return ""
        if field <= 2 and self.name == "MSH":
            return value if component == subcomponent == repetition == 1 else ""
        rs, cs, ss, es = self._ctx.delims
        if rs in value:
            reps = self._rep_list(field, value)
            if not 0 < repetition <= len(reps):
                return ""
            value = reps[repetition - 1]
        elif repetition != 1:
            return ""
        if cs in value:
            parts = value.split(cs)
            if not 0 < component <= len(parts):
                return ""
            value = parts[component - 1]
        elif component != 1:
            return ""
        if ss in value:
            parts = value.split(ss)
            if not 0 < subcomponent <= len(parts):
                return ""
            value = parts[subcomponent - 1]
        elif subcomponent != 1:
            return ""
        if es in value:
            if value == '""':
                return ""
            ctx = self._ctx
            return unescape(value, ctx.enc, ctx.charset)
        return "" if value == '""' else value


class Message:
    """A parsed HL7 v2 message: header accessors plus segments in order and by name."""

    __slots__ = ("segments", "encoding_characters", "charset", "hl7_charset", "_by_name", "_msh")

    def __init__(self, segments: list[Segment], by_name: dict[str, list[Segment]],
                 enc: EncodingCharacters, charset: str, hl7_charset: str) -> None:
        self.segments = segments
        self.encoding_characters = enc
        self.charset = charset          # Python codec the message was decoded with
        self.hl7_charset = hl7_charset  # MSH-18 as sent ("" when absent)
        self._by_name = by_name
        self._msh = segments[0]

    def __repr__(self) -> str:
        return f"<Message {self.message_type}^{self.trigger_event} segments={len(self.segments)}>"

    @property
    def msh(self) -> Segment:
        """The MSH segment."""
        return self._msh

    @property
    def message_type(self) -> str:
        """MSH-9.1, e.g. "ORU"."""
        return self._msh.get(9, 1)

    @property
    def trigger_event(self) -> str:
        """MSH-9.2, e.g. "R01"."""
        return self._msh.get(9, 2)

    @property
    def structure(self) -> str:
        """MSH-9.3, e.g. "ORU_R01" ("" when not sent)."""
        return self._msh.get(9, 3)

    @property
    def control_id(self) -> str:
        """MSH-10."""
        return self._msh.get(10)

    @property
    def processing_id(self) -> str:
        """MSH-11.1: P, D or T."""
        return self._msh.get(11, 1)

    @property
    def version(self) -> str:
        """MSH-12.1, e.g. "2.5.1"."""
        return self._msh.get(12, 1)

    @property
    def sending_application(self) -> str:
        """MSH-3.1."""
        return self._msh.get(3, 1)

    @property
    def sending_facility(self) -> str:
        """MSH-4.1."""
        return self._msh.get(4, 1)

    @property
    def receiving_application(self) -> str:
        """MSH-5.1."""
        return self._msh.get(5, 1)

    @property
    def receiving_facility(self) -> str:
        """MSH-6.1."""
        return self._msh.get(6, 1)

    def segment(self, name: str, occurrence: int = 1) -> Segment | None:
        """The `occurrence`-th segment called `name`, or None."""
        group = self._by_name.get(name)
        if group is None or not 0 < occurrence <= len(group):
            return None
        return group[occurrence - 1]

    def all(self, name: str) -> list[Segment]:
        """All segments called `name`, in order."""
        return list(self._by_name.get(name, ()))


def _reject(code: int, reason: str, field: int | None = None) -> Hl7Error:
    return Hl7Error(code, reason, segment="MSH", field=field, reject=True)


def _is_delimiter(b: int) -> bool:
    return 0x21 <= b <= 0x7E and not (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A)


def _encoding_characters(data: bytes, start: int, line_end: int) -> EncodingCharacters:
    if line_end < start + 4:
        raise _reject(101, "MSH field separator missing", 1)
    fs = data[start + 3]
    if not _is_delimiter(fs):
        raise _reject(102, "invalid field separator in MSH-1", 1)
    end = data.find(bytes((fs,)), start + 4, line_end)
    declared = data[start + 4:line_end if end < 0 else end]
    if (len(declared) not in (4, 5) or not all(_is_delimiter(b) for b in declared)
            or len(set(declared)) != len(declared) or fs in declared):
        raise _reject(102, "invalid encoding characters in MSH-2", 2)
    chars = declared.decode("ascii")
    return EncodingCharacters(chr(fs), chars[0], chars[1], chars[2], chars[3], chars[4:])


def _printable(value: str, limit: int = 40) -> str:
    return "".join(ch for ch in value[:limit] if " " <= ch <= "~")


def _choose_codec(data: bytes, start: int, line_end: int, enc: EncodingCharacters,
                  sender_charsets: Mapping[str, str] | None, default_charset: str) -> tuple[str, str]:
    line = data[start:line_end]
    fs, comp, rep = line[3], ord(enc.component), ord(enc.repetition)
    fields = msh_fields_from_bytes(line, fs, gb_aware=False)
    name = first_value(fields[17], comp, rep) if len(fields) > 17 else b""
    if not line.isascii():
        gb_fields = msh_fields_from_bytes(line, fs, gb_aware=True)
        gb_name = first_value(gb_fields[17], comp, rep) if len(gb_fields) > 17 else b""
        if codec_for(gb_name.decode("latin-1")) in _GB_CODECS:
            fields, name = gb_fields, gb_name
    hl7_name = name.decode("latin-1").strip()
    if hl7_name:
        codec = codec_for(hl7_name)
        if codec is None:
            raise _reject(102, f"unsupported character set {_printable(hl7_name)!r}", 18)
        return codec, hl7_name
    codec = default_charset
    if sender_charsets and len(fields) > 3:
        facility = first_value(fields[3], comp, rep).decode("ascii", "replace")
        codec = sender_charsets.get(facility, default_charset)
    try:
        codec = codecs.lookup(codec).name
        if "MSH|^~\\&".encode(codec) != b"MSH|^~\\&":  # delimiters must stay single ASCII bytes
            raise LookupError(codec)
    except LookupError:
        raise Hl7Error(207, "configured character set is not usable", reject=True) from None
    return codec, ""


def _line_end(data: bytes, start: int) -> int:
    cr, lf = data.find(b"\r", start), data.find(b"\n", start)
    ends = [i for i in (cr, lf) if i >= 0]
    return min(ends) if ends else len(data)


def parse(raw: bytes, *, sender_charsets: Mapping[str, str] | None = None,
          default_charset: str = "utf-8") -> Message:
    """Parse one HL7 v2 message; raises Hl7Error (ack_code AR for header/charset problems)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise TypeError("parse() takes the message as bytes")
    data = bytes(raw)
    start = 3 if data.startswith(_BOM) else 0
    while start < len(data) and data[start] in _LEADING_WS:
        start += 1
    if data[start:start + 3] != b"MSH":
        raise _reject(100, "message does not start with an MSH segment")
    line_end = _line_end(data, start)
    enc = _encoding_characters(data, start, line_end)
    codec, hl7_name = _choose_codec(data, start, line_end, enc, sender_charsets, default_charset)
    try:
        text = data[start:].decode(codec)
    except UnicodeDecodeError as exc:
        raise _reject(102, f"not valid {codec} at byte {exc.start + start}", 18) from None
    message = _split_segments(text, enc, codec, hl7_name)
    if hl7_name and not data[start:line_end].isascii():
        if codec_for(message.msh.get(18)) != codec:
            raise _reject(102, "MSH-18 cannot be located unambiguously", 18)
    return message


def _split_segments(text: str, enc: EncodingCharacters, codec: str, hl7_name: str) -> Message:
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    fs = enc.field
    ctx = _Context(enc, codec)
    segments: list[Segment] = []
    by_name: dict[str, list[Segment]] = {}
    for line in text.split("\r"):
        if not line:
            continue
        name = line[:3]
        if name not in _valid_names:
            if not line.strip():
                continue
            if _NAME_RE.fullmatch(name) is None:
                raise Hl7Error(100, f"malformed segment identifier at segment {len(segments) + 1}")
            _valid_names.add(name)
        group = by_name.get(name)
        if group is None:
            group = by_name[name] = []
        if len(line) > 3 and line[3] != fs:
            raise Hl7Error(100, f"segment {len(segments) + 1} ({name}) has no field separator",
                           segment=name, segment_seq=len(group) + 1)
        segment = Segment(name, line, len(segments), len(group) + 1, ctx)
        group.append(segment)
        segments.append(segment)
    return Message(segments, by_name, enc, codec, hl7_name)
