"""The protocol log of fleetsim's aiohttp servers (the reference receiver, `fleetsim serve`'s APIs): what aiohttp
itself reports about a connection, made one line a person can act on, with nothing of the request quoted.

aiohttp logs two sender mistakes at ERROR with a traceback: a request it cannot parse (a 64 KiB signature header,
SIG-05; garbage on the port), whose message quotes the start of the offending header line — an `Authorization:
Bearer <token>` or a Basic credential included — and a client that went away mid-body, where the handler's read
raises. Neither is the server's failure: each becomes one INFO line naming the peer and what happened."""

from __future__ import annotations

import logging

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["protocol_logger"]


class _SenderMistakes(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args = "unparsable HTTP request from %s: %d %s", (
                peer, exc.code or 400, type(exc).__name__)
        elif isinstance(exc, ConnectionResetError):  # aiohttp's ClientConnectionResetError is one too
            record.msg, record.args = "%s closed the connection before its request was read whole", (peer,)
        else:
            return True
        record.exc_info = record.exc_text = None
        record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def protocol_logger(name: str) -> logging.Logger:
    """The logger to give an aiohttp AppRunner (`logger=`): `name`, with the filter above."""
    logger = logging.getLogger(name)
    if not any(isinstance(f, _SenderMistakes) for f in logger.filters):
        logger.addFilter(_SenderMistakes())
    return logger
