"""Copied from the project's shared bench-tools (recv_raw.py) for `make bench` (loadtests/bench.py).

Minimal raw asyncio/uvloop HTTP/1.1 null responder (keep-alive, Content-Length bodies).

Not a real HTTP server: parses just enough (request line + headers + Content-Length body)
to answer every request with '200 OK'. Supports pipelining. Binds 127.0.0.1 only.
usage: python recv_raw.py PORT [--no-uvloop]
"""
import asyncio
import sys

RESP = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Proto(asyncio.Protocol):
    __slots__ = ("buf", "transport")

    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        buf = self.buf + data if self.buf else data
        out = []
        while True:
            hend = buf.find(b"\r\n\r\n")
            if hend < 0:
                break
            head = buf[:hend]
            clen = 0
            i = head.lower().find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                clen = int(head[i + 17: j if j >= 0 else None])
            total = hend + 4 + clen
            if len(buf) < total:
                break
            buf = buf[total:]
            out.append(RESP)
        self.buf = buf
        if out:
            self.transport.write(b"".join(out))


def main():
    port = int(sys.argv[1])
    if "--no-uvloop" not in sys.argv:
        import uvloop
        uvloop.install()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    srv = loop.run_until_complete(loop.create_server(Proto, "127.0.0.1", port, backlog=4096))
    try:
        loop.run_forever()
    finally:
        srv.close()


if __name__ == "__main__":
    main()
