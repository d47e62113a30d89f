"""HL7 v2 processing errors, coded with HL7 table 0357 so they map straight onto ERR segments."""

from __future__ import annotations

TABLE_0357: dict[int, str] = {
    0: "Message accepted",
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    202: "Unsupported processing id",
    203: "Unsupported version id",
    204: "Unknown key identifier",
    205: "Duplicate key identifier",
    206: "Application record locked",
    207: "Application internal error",
}

_REJECT_CODES = frozenset({200, 201, 202, 203, 207})


class Hl7Error(Exception):
    """One HL7 error (or warning, severity "W") with its table 0357 code and location."""

    def __init__(
        self,
        code: int,
        reason: str,
        *,
        segment: str | None = None,
        segment_seq: int = 1,
        field: int | None = None,
        component: int | None = None,
        severity: str = "E",
        reject: bool = False,
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.segment = segment
        self.segment_seq = segment_seq
        self.field = field
        self.component = component
        self.severity = severity
        self.reject = reject

    @property
    def ack_code(self) -> str:
        """AR for message-level rejections (MSH, charset, 200-203, 207), AE for content errors.

        207 (application internal error) is AR so the sender keeps the message and retries.
        """
        return "AR" if self.reject or self.code in _REJECT_CODES else "AE"

    @property
    def code_text(self) -> str:
        """The table 0357 text for `code`."""
        return TABLE_0357.get(self.code, "Application internal error")

    @property
    def location(self) -> str:
        """A short location such as "PID-7.1" or "OBX(3)-5" for logs (no message content)."""
        if self.segment is None:
            return ""
        seg = self.segment if self.segment_seq == 1 else f"{self.segment}({self.segment_seq})"
        if self.field is None:
            return seg
        loc = f"{seg}-{self.field}"
        return loc if self.component is None else f"{loc}.{self.component}"

    def __repr__(self) -> str:
        return f"Hl7Error({self.code}, {self.reason!r}, location={self.location!r}, severity={self.severity!r})"


def warning(
    code: int,
    reason: str,
    *,
    segment: str | None = None,
    segment_seq: int = 1,
    field: int | None = None,
    component: int | None = None,
) -> Hl7Error:
    """An Hl7Error with severity "W", for ERR segments of an accepted message."""
    return Hl7Error(code, reason, segment=segment, segment_seq=segment_seq, field=field,
                    component=component, severity="W")
