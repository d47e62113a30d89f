"""A minimal HTTP/1.1 keep-alive load client (raw asyncio streams), run in its own process by benchmarks.

httpx costs more CPU per request than a small FastAPI endpoint does to answer it, so a benchmark that
drives a server from its own process with httpx measures the client. This client parses only the status
line, Content-Length and the body. Prints the completed requests per second as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def _connection(host: str, port: int, request: bytes, counter: list[int], total: int) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while counter[0] < total:
            counter[0] += 1
            writer.write(request)
            status = await reader.readline()
            if not status.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"unexpected answer: {status!r}")
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
    finally:
        writer.close()


async def run(url: str, token: str | None, requests: int, concurrency: int) -> float:
    parts = urlsplit(url)
    headers = f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    if token:
        headers += f"Authorization: Bearer {token}\r\n"
    request = (headers + "\r\n").encode()
    warm = [0]
    await _connection(parts.hostname or "127.0.0.1", parts.port or 80, request, warm, 50)
    counter = [0]
    t0 = time.perf_counter()
    await asyncio.gather(*(_connection(parts.hostname or "127.0.0.1", parts.port or 80, request, counter, requests)
                           for _ in range(concurrency)))
    return requests / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("--token")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    print(json.dumps({"per_s": asyncio.run(run(args.url, args.token, args.requests, args.concurrency))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
