"""HL7 v2 delimiters and escape sequences (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\Xhh\\ \\.br\\ ...)."""

from __future__ import annotations

from typing import NamedTuple


class EncodingCharacters(NamedTuple):
    """The delimiters a message declares in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str = ""

    @property
    def msh2(self) -> str:
        """The MSH-2 value declaring these characters."""
        return self.component + self.repetition + self.escape + self.subcomponent + self.truncation


DEFAULT_ENCODING = EncodingCharacters()

_DROPPED = frozenset({"H", "N"})  # start/end highlighting: no meaning in plain text
_LINE_BREAKS = frozenset({".br", ".sp"})


def unescape(value: str, enc: EncodingCharacters = DEFAULT_ENCODING, charset: str = "utf-8") -> str:
    """Decode the escape sequences in one leaf value; unknown or unterminated ones stay as sent."""
    esc = enc.escape
    if esc not in value:
        return value
    out: list[str] = []
    pos = 0
    while True:
        start = value.find(esc, pos)
        if start < 0:
            out.append(value[pos:])
            break
        end = value.find(esc, start + 1)
        if end < 0:
            out.append(value[pos:])
            break
        out.append(value[pos:start])
        decoded = _decode_one(value[start + 1:end], enc, charset)
        out.append(value[start:end + 1] if decoded is None else decoded)  # unknown: kept as sent
        pos = end + 1
    return "".join(out)


def _decode_one(body: str, enc: EncodingCharacters, charset: str) -> str | None:
    if len(body) == 1:
        if body == "F":
            return enc.field
        if body == "S":
            return enc.component
        if body == "T":
            return enc.subcomponent
        if body == "R":
            return enc.repetition
        if body == "E":
            return enc.escape
        if body == "P" and enc.truncation:
            return enc.truncation
        if body in _DROPPED:
            return ""
        return None
    if body[:1] == "X":
        return _decode_hex(body[1:], charset)
    if body in _LINE_BREAKS:
        return "\n"
    return None


def _decode_hex(digits: str, charset: str) -> str | None:
    if not digits or len(digits) % 2:
        return None
    try:
        return bytes.fromhex(digits).decode(charset)
    except (ValueError, LookupError):
        return None


def escape(text: str, enc: EncodingCharacters = DEFAULT_ENCODING) -> str:
    """Escape text for one leaf value: delimiters become escape sequences, CR/LF become \\.br\\,
    other control characters \\Xhh\\, so the text can never break segment or MLLP structure."""
    esc = enc.escape
    special = {
        esc: f"{esc}E{esc}",
        enc.field: f"{esc}F{esc}",
        enc.component: f"{esc}S{esc}",
        enc.subcomponent: f"{esc}T{esc}",
        enc.repetition: f"{esc}R{esc}",
    }
    if enc.truncation:
        special[enc.truncation] = f"{esc}P{esc}"
    out: list[str] = []
    text = text.replace("\r\n", "\n")
    for ch in text:
        rep = special.get(ch)
        if rep is not None:
            out.append(rep)
        elif ch == "\n" or ch == "\r":
            out.append(f"{esc}.br{esc}")
        elif ch < " " or ch == "\x7f":
            out.append(f"{esc}X{ord(ch):02X}{esc}")
        else:
            out.append(ch)
    return "".join(out)
