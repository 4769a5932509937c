"""uvicorn's httptools protocol with a limit on the request line and headers.

uvicorn's httptools protocol accepts headers of any size (an 8 MB header is read into
memory). This subclass feeds the parser in small slices while a request's head is being
read and answers 431 and closes the connection once the head passes
:attr:`Settings.max_header_bytes` (a client cannot make it buffer more than that plus one
slice). The body is fed as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

SLICE_BYTES = 4096
RESPONSE_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 38\r\n"
    b"connection: close\r\n\r\n"
    b"request line and headers are too large"
)


def bounded_protocol(max_header_bytes: int) -> type[asyncio.Protocol]:
    """An httptools protocol class that refuses request heads over ``max_header_bytes``."""

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._in_head = True
            self._head_bytes = 0

        def on_headers_complete(self) -> None:
            self._in_head = False
            self._head_bytes = 0
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head = True

        def data_received(self, data: bytes) -> None:
            while data and self._in_head:
                piece, data = data[:SLICE_BYTES], data[SLICE_BYTES:]
                self._head_bytes += len(piece)
                if self._head_bytes > max_header_bytes:
                    self.transport.write(RESPONSE_431)
                    self.transport.close()
                    return
                super().data_received(piece)
                if self.transport.is_closing():
                    return
            if data:
                super().data_received(data)

    return BoundedHttpToolsProtocol
