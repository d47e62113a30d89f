"""HL7 v2 over MLLP: many concurrent connections, messages on one connection answered in order, one ACK each."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..hl7 import Hl7Error, MllpDecoder, build_ack, frame
from ..hl7.framing import FramingError
from ..service.hl7_ingest import system_failure_ack

if TYPE_CHECKING:
    from alliance_telemetry.metrics import ServiceMetrics

log = logging.getLogger(__name__)

Handler = Callable[[bytes], Awaitable[bytes]]


class MllpServer:
    """An asyncio TCP listener speaking MLLP (0x0B … 0x1C 0x0D)."""

    def __init__(self, handler: Handler, host: str, port: int, *, max_message_bytes: int = 1_048_576,
                 idle_timeout: float = 300.0, max_connections: int = 256, handler_timeout: float = 30.0,
                 metrics: ServiceMetrics | None = None) -> None:
        self._handler = handler
        self._host, self._port = host, port
        self._max_bytes = max_message_bytes
        self._idle = idle_timeout
        self._handler_timeout = handler_timeout
        self._slots = asyncio.Semaphore(max_connections)
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self.port: int | None = None
        self.messages = 0
        self._acks = self._latency = None
        if metrics is not None:
            self._acks = metrics.counter("alliance_mllp_messages", "HL7 v2 messages answered over MLLP, by ACK code")
            self._latency = metrics.histogram("alliance_mllp_message_duration_seconds",
                                              "HL7 v2 over MLLP: seconds from a framed message to its ACK, by ACK code")

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self._host, self._port, limit=2 ** 16)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("MLLP listening", extra={"fields": {"port": self.port}})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._connections):
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        decoder = MllpDecoder(max_message_bytes=self._max_bytes)
        try:
            async with self._slots:
                while True:
                    try:
                        data = await asyncio.wait_for(reader.read(65536), self._idle)
                    except TimeoutError:
                        break
                    if not data:
                        break
                    for item in decoder.feed(data):
                        writer.write(frame(await self._measured(item)))
                        await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        except Exception:  # noqa: BLE001 - one bad connection never takes the listener down
            log.exception("MLLP connection failed")
        finally:
            if task is not None:
                self._connections.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _measured(self, item: bytes | FramingError) -> bytes:
        start = time.perf_counter()
        ack = await self._answer(item)
        if self._acks is not None and self._latency is not None:
            code = {"ack_code": ack_code(ack)}
            self._acks.add(1, code)
            self._latency.record(time.perf_counter() - start, code)
        return ack

    async def _answer(self, item: bytes | FramingError) -> bytes:
        now = datetime.now(UTC)
        if isinstance(item, FramingError):
            err = Hl7Error(reason=item.reason, code=100, segment="MSH")
            return build_ack(None, "AR", [err], control_id="FRAMING", now=now, raw=b"")
        self.messages += 1
        try:
            return await asyncio.wait_for(self._handler(item), self._handler_timeout)
        except Exception as exc:  # noqa: BLE001 - a system error is AR 207: resend unchanged; keep the connection
            return system_failure_ack(item, exc, now=now)


def ack_code(ack: bytes) -> str:
    """MSA-1 of an ACK (AA, AE, AR, CA, CE, CR), or "unknown" — the only part of an ACK used as a label."""
    for segment in ack.split(b"\r"):
        if segment.startswith(b"MSA") and len(segment) > 4:
            code = segment[4:].split(segment[3:4], 1)[0]
            if code in (b"AA", b"AE", b"AR", b"CA", b"CE", b"CR"):
                return code.decode()
    return "unknown"


async def send(host: str, port: int, payload: bytes, timeout: float = 20.0) -> bytes:
    """Send one HL7 message over MLLP and return its ACK (a minimal client, e.g. for scripts and tests)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(frame(payload))
        await writer.drain()
        decoder = MllpDecoder()
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                raise ConnectionError("connection closed before the ACK")
            for item in decoder.feed(chunk):
                if isinstance(item, bytes):
                    return item
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
