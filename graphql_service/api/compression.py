"""Content-Encoding both ways. Request bodies sent with `Content-Encoding: gzip` or `deflate`
(game SDKs compress event batches by default) are inflated before anything reads them, with
MAX_BODY_BYTES counted on the inflated body; responses are compressed by Starlette's
GZipMiddleware (wired in app.py) for clients that accept gzip."""

from __future__ import annotations

import zlib

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import client_gone, error_json

# zlib's window bits: gzip's header and trailer; the zlib format (HTTP's "deflate"); and the
# raw deflate stream that some clients send as "deflate" all the same.
GZIP_WBITS = 16 + zlib.MAX_WBITS
ZLIB_WBITS = zlib.MAX_WBITS
RAW_DEFLATE_WBITS = -zlib.MAX_WBITS
CODINGS = ("gzip", "x-gzip", "deflate")
# Inflating a larger body would hold the event loop for milliseconds; a worker thread does it.
THREAD_MINIMUM_BYTES = 128 * 1024


class BodyTooLarge(Exception):
    pass


class CorruptBody(Exception):
    pass


def inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """`data` inflated, never more than `limit` bytes of it: a zip bomb stops at `limit` + 1
    (BodyTooLarge) however far it would expand. Concatenated gzip members are one body, as
    the gzip format allows."""
    out = bytearray()
    decoder = zlib.decompressobj(wbits)
    pending = data
    while True:
        try:
            chunk = decoder.decompress(pending, limit + 1 - len(out))
        except zlib.error as exc:
            # "Error -3 while decompressing data: incorrect header check" → the part after ":".
            raise CorruptBody(str(exc).rpartition(": ")[2]) from None
        out += chunk
        if len(out) > limit:
            raise BodyTooLarge
        pending = decoder.unconsumed_tail
        if decoder.eof:
            rest = decoder.unused_data
            if not rest:
                return bytes(out)
            if wbits != GZIP_WBITS:
                raise CorruptBody("data after the end of the compressed stream")
            decoder, pending = zlib.decompressobj(wbits), rest
        elif not chunk and not pending:
            raise CorruptBody("the compressed stream ends too early (truncated)")


def window_bits(coding: str, data: bytes) -> int:
    if coding != "deflate":
        return GZIP_WBITS
    # A zlib header: method 8 (deflate) in the low nibble, and the two bytes a multiple of 31.
    looks_like_zlib = len(data) >= 2 and data[0] & 0x0F == 8 and int.from_bytes(data[:2], "big") % 31 == 0
    return ZLIB_WBITS if looks_like_zlib else RAW_DEFLATE_WBITS


def inflate_body(data: bytes, coding: str, limit: int) -> bytes:
    return inflate(data, window_bits(coding, data), limit)


class InflateBodies:
    """Inflate gzip and deflate request bodies, for every route (REST and GraphQL alike), so
    handlers only ever see the plain body. The compressed body was already bounded in size
    and read time by BodyLimit, which runs outside this one."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        coding = Headers(scope=scope).get("content-encoding", "").strip().lower() if scope["type"] == "http" else ""
        if coding in ("", "identity"):
            await self.app(scope, receive, send)
            return
        if coding not in CODINGS:
            refusal = error_json(
                415,
                f"Content-Encoding {coding!r} is not supported; send gzip, deflate or an uncompressed body",
                [{"field": "Content-Encoding", "message": "must be gzip, deflate or identity"}],
            )
            await refusal(scope, receive, send)
            return
        compressed = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: not a server error
                await client_gone(scope["method"], scope["path"])(scope, receive, send)
                return
            compressed.extend(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b""
        if compressed:
            try:
                if len(compressed) < THREAD_MINIMUM_BYTES:
                    body = inflate_body(bytes(compressed), coding, self.limit)
                else:
                    body = await anyio.to_thread.run_sync(inflate_body, bytes(compressed), coding, self.limit)
            except BodyTooLarge:
                too_large = f"request body is larger than {self.limit} bytes once decompressed ({coding})"
                await error_json(413, too_large)(scope, receive, send)
                return
            except CorruptBody as exc:
                await error_json(400, f"request body is not valid {coding}: {exc}")(scope, receive, send)
                return
        # Downstream sees a plain body: no Content-Encoding, and the inflated length.
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")]
        headers.append((b"content-length", str(len(body)).encode()))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app({**scope, "headers": headers}, replay, send)
