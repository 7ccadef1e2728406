"""Plain-socket stand-ins for a receiver that is not there and one that is there but never answers, usable from
tests that run the CLI in-process (the CLI runs its own event loop, so these live on threads)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


def closed_port() -> int:
    """A port nothing listens on: bound, read, released (the kernel does not hand it out again at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def dropping(*, must_be_used: bool = True) -> Iterator[str]:
    """A listener that accepts every connection and closes it unanswered: reachable, but never an HTTP answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    stop = threading.Event()
    accepted: list[int] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(1)
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        listener.close()
    assert accepted or not must_be_used  # the server was in fact connected to (checked when the body passed)
