"""The HTTP API of the simulated XMRig: a small HTTP/1.1 server on asyncio streams.

Routing and access checks follow XMRig v6 (`src/base/api/Httpd.cpp`) in restricted
mode, the default: `OPTIONS` gets an empty 200, `/favicon.ico` a bare 404, methods
other than DELETE, GET, HEAD, POST and PUT get 405, and then the token check runs.
Without a configured token no header is needed, but any `Authorization` header gets
401. With a token, a missing header gets 401 and anything but `Bearer «token»` gets
403. Restricted mode rejects every method but GET with 403. Errors carry XMRig's JSON
body, `{"status": code, "error": reason}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

__all__ = ["ApiServer"]

#: Largest request head (request line and headers) read before the connection is
#: closed.
MAX_HEAD_BYTES = 16384
#: Largest request body read and thrown away.
MAX_BODY_BYTES = 1 << 20
KNOWN_METHODS = ("DELETE", "GET", "HEAD", "POST", "PUT")
CORS_HEADERS = (
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, PUT, POST, DELETE"),
    ("Access-Control-Allow-Headers", "Authorization, Content-Type"),
)
#: Summary paths and the API version each one serves.
SUMMARY_PATHS = {"/1/summary": 1, "/api.json": 1, "/2/summary": 2}


class ApiServer:
    """Serves the summary document; `summary(api_version)` builds it."""

    def __init__(
        self, token: str | None, summary: Callable[[int], dict[str, Any]]
    ) -> None:
        self._token = token
        self._summary = summary

    async def serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve the requests of one connection until the client closes it."""
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, path, headers = request
                status, body = self.respond(method, path, headers)
                writer.write(_response(status, body))
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            # A client that resets or sends a malformed request is dropped.
            pass
        finally:
            writer.close()

    def respond(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, bytes]:
        """Return the status and body for one request."""
        if method == "OPTIONS":
            return 200, b""
        if method == "GET" and path == "/favicon.ico":
            return 404, b""
        if method not in KNOWN_METHODS:
            return _error(405)
        status = self.check_access(headers.get("authorization"))
        if status != 200:
            return _error(status)
        if method != "GET":
            return _error(403)
        api_version = SUMMARY_PATHS.get(path.split("?", 1)[0])
        if api_version is None:
            return _error(404)
        document = self._summary(api_version)
        return 200, json.dumps(document, indent=4).encode()

    def check_access(self, authorization: str | None) -> int:
        """Return 200, 401 or 403 for the request's `Authorization` header."""
        if authorization is None:
            return 401 if self._token is not None else 200
        if self._token is None:
            return 401
        return 200 if authorization == f"Bearer {self._token}" else 403


def _error(status: int) -> tuple[int, bytes]:
    body = {"status": status, "error": HTTPStatus(status).phrase}
    return status, json.dumps(body, indent=4).encode()


def _response(status: int, body: bytes) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in CORS_HEADERS]
    if body:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_request(
    reader: asyncio.StreamReader,
) -> tuple[str, str, dict[str, str]] | None:
    """Read one request; return its method, path and lower-cased headers, or None
    at the end of the connection. Raises ValueError for a malformed request."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise ValueError("request ended inside its head") from error
        return None
    except asyncio.LimitOverrunError as error:
        raise ValueError("request head too long") from error
    if len(head) > MAX_HEAD_BYTES:
        raise ValueError("request head too long")
    request_line, *header_lines = head.decode("latin-1").split("\r\n")
    method, path, _version = request_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    if not 0 <= length <= MAX_BODY_BYTES:
        raise ValueError(f"invalid Content-Length {length}")
    await reader.readexactly(length)
    return method, path, headers
