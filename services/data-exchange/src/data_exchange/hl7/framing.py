"""MLLP framing (start block 0x0B, end block 0x1C 0x0D): pure, incremental, bounded."""

from __future__ import annotations

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\x0d"
_SB = 0x0B
_FS = 0x1C
_CR = 0x0D

_OUTSIDE, _IN_FRAME, _DISCARDING = 0, 1, 2


class FramingError(Exception):
    """A framing problem in the byte stream; the decoder has already resynchronised."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FramingError) and other.reason == self.reason

    def __hash__(self) -> int:
        return hash(self.reason)

    def __repr__(self) -> str:
        return f"FramingError({self.reason!r})"


def frame(payload: bytes) -> bytes:
    """Wrap one HL7 message in an MLLP frame."""
    if START_BLOCK in payload or b"\x1c" in payload:
        raise ValueError("payload contains an MLLP block character")
    return START_BLOCK + bytes(payload) + END_BLOCK


class MllpDecoder:
    """Turns arbitrary chunks of a byte stream into complete payloads or FramingErrors.

    Bytes outside a frame are discarded and reported once per run (CR/LF alone are ignored
    silently: some senders end frames with 0x1C 0x0D 0x0A). A 0x0B inside a frame means the
    previous frame was cut short: it is reported and a new frame starts. A frame larger than
    `max_message_bytes` is reported, dropped, and the rest of it is skipped up to the next
    start block without being buffered.
    """

    def __init__(self, max_message_bytes: int = 1_048_576) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be positive")
        self.max_message_bytes = max_message_bytes
        self._state = _OUTSIDE
        self._buf = bytearray()
        self._garbage_reported = False

    @property
    def pending_bytes(self) -> int:
        """Bytes buffered for the frame being received."""
        return len(self._buf)

    @property
    def in_frame(self) -> bool:
        """True while a frame has started and not yet ended."""
        return self._state == _IN_FRAME

    def feed(self, data: bytes) -> list[bytes | FramingError]:
        """Consume one chunk; return the complete payloads and errors it produced, in order."""
        out: list[bytes | FramingError] = []
        data = bytes(data)
        pos, n = 0, len(data)
        while pos < n:
            if self._state == _IN_FRAME:
                pos = self._in_frame(data, pos, out)
            elif self._state == _OUTSIDE:
                pos = self._outside(data, pos, out)
            else:
                start = data.find(START_BLOCK, pos)
                if start < 0:
                    return out
                self._begin_frame()
                pos = start + 1
        return out

    def _begin_frame(self) -> None:
        self._state = _IN_FRAME
        self._buf.clear()
        self._garbage_reported = False

    def _outside(self, data: bytes, pos: int, out: list[bytes | FramingError]) -> int:
        start = data.find(START_BLOCK, pos)
        stop = len(data) if start < 0 else start
        if not self._garbage_reported and data[pos:stop].strip(b"\r\n"):
            out.append(FramingError("data outside an MLLP frame"))
            self._garbage_reported = True
        if start < 0:
            return len(data)
        self._begin_frame()
        return start + 1

    def _in_frame(self, data: bytes, pos: int, out: list[bytes | FramingError]) -> int:
        buf = self._buf
        if buf and buf[-1] == _FS and data[pos] == _CR:  # end block split across two chunks
            del buf[-1]
            self._finish(out)
            return pos + 1
        end = data.find(END_BLOCK, pos)
        restart = data.find(START_BLOCK, pos, end if end >= 0 else len(data))
        if restart >= 0:
            out.append(FramingError("frame interrupted by a new start block"))
            self._begin_frame()
            return restart + 1
        if end >= 0:
            if len(buf) + end - pos > self.max_message_bytes:
                out.append(self._too_big())
                self._state = _OUTSIDE
                buf.clear()
            else:
                buf += data[pos:end]
                self._finish(out)
            return end + 2
        buf += data[pos:]
        limit = self.max_message_bytes + (1 if buf and buf[-1] == _FS else 0)
        if len(buf) > limit:
            out.append(self._too_big())
            self._state = _DISCARDING
            buf.clear()
        return len(data)

    def _finish(self, out: list[bytes | FramingError]) -> None:
        payload = bytes(self._buf)
        self._buf.clear()
        self._state = _OUTSIDE
        out.append(payload if payload.strip(b"\r\n") else FramingError("empty MLLP frame"))

    def _too_big(self) -> FramingError:
        return FramingError(f"message exceeds {self.max_message_bytes} bytes")
