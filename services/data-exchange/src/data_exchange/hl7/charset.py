"""MSH-18 character sets: HL7 table 0211 names to Python codecs, read before decoding."""

from __future__ import annotations

# Only ASCII-compatible encodings: delimiters must stay single ASCII bytes.
HL7_CHARSETS: dict[str, str] = {
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "GB 18030-2000": "gb18030",
    "GB 18030-2005": "gb18030",
    "GB18030-2000": "gb18030",
    "GB18030": "gb18030",
    "GB 18030": "gb18030",
    "GBK": "gbk",
    "CHINESE": "gbk",
    "ASCII": "ascii",
    "8859/1": "latin-1",
}

# The name written into MSH-18 of an ACK when we only know the codec.
CODEC_TO_HL7: dict[str, str] = {
    "utf-8": "UNICODE UTF-8",
    "gb18030": "GB 18030-2000",
    "gbk": "GBK",
    "ascii": "ASCII",
    "latin-1": "8859/1",
}


def codec_for(hl7_name: str) -> str | None:
    """The Python codec for an MSH-18 value (case and spacing insensitive), None if unknown."""
    return HL7_CHARSETS.get(" ".join(hl7_name.upper().split()))


def msh_fields_from_bytes(msh_line: bytes, field_sep: int, gb_aware: bool) -> list[bytes]:
    """Split the MSH line on the field separator without decoding it.

    UTF-8, ASCII and Latin-1 never put an ASCII byte inside a multi-byte character, so a plain
    split is exact for them. GBK/GB 18030 trail bytes can equal "|", "^", "~" or "\\"
    (0x40-0x7E); with `gb_aware` multi-byte characters are skipped as units.
    """
    if not gb_aware:
        return msh_line.split(bytes((field_sep,)))
    fields: list[bytes] = []
    start = i = 0
    n = len(msh_line)
    while i < n:
        b = msh_line[i]
        if b == field_sep:
            fields.append(msh_line[start:i])
            start = i = i + 1
        elif 0x81 <= b <= 0xFE and i + 1 < n:
            nxt = msh_line[i + 1]
            i += 4 if 0x30 <= nxt <= 0x39 else 2
        else:
            i += 1
    fields.append(msh_line[start:])
    return fields


def first_value(field: bytes, component_sep: int, repetition_sep: int) -> bytes:
    """First component of the first repetition of a raw field."""
    rep = field.split(bytes((repetition_sep,)), 1)[0]
    return rep.split(bytes((component_sep,)), 1)[0]
