"""How a failure quotes a body (conformance/report.py `_clip`): one line of text whatever the bytes. A receiver's
answer is not trusted with the user's terminal (escape sequences, newlines), a gzip body is shown decoded (with
a bounded read: LIM-04 sends a gzip bomb), other binary as hex."""

from __future__ import annotations

import gzip

import pytest

from conformance.report import BODY_SHOWN, _clip


@pytest.mark.parametrize(("body", "shown"), [
    (b'{"ok":true}', '{"ok":true}'),
    ("{\"name\":\"Müller 日本\"}".encode(), "{\"name\":\"Müller 日本\"}"),  # text stays readable
    (b"<html>\n<h1>401</h1>\r\n", "<html>\\n<h1>401</h1>\\r\\n"),
    (b"ok\x1b[2J\x1b]0;pwned\x07\tx\x7f", "ok\\x1b[2J\\x1b]0;pwned\\x07\\tx\\x7f"),
    ("a\u0085b\u009bc".encode(), "a\\x85b\\x9bc"),  # C1 controls (CSI) too
    (gzip.compress(b'{"a": 1}\n', mtime=0), '<gzip, 29 bytes; decoded: {"a": 1}\\n>'),
    (b"\x1f\x8bnot gzip", "<gzip, 10 bytes; not decodable>"),
    (bytes(range(0x80, 0xA8)), "<binary, 40 bytes: " + bytes(range(0x80, 0xA0)).hex(" ") + " ...>"),
    (b"\x00\x01ab", "\\x00\\x01ab"),  # valid UTF-8 with controls: text, escaped
], ids=["json", "utf-8", "newlines", "escape-sequences", "c1-controls", "gzip", "gzip-magic-only", "binary",
        "nul"])
def test_a_body_is_one_safe_line(body: bytes, shown: str) -> None:
    assert _clip(body) == shown


def test_a_gzip_bomb_is_read_no_further_than_shown() -> None:
    bomb = gzip.compress(b"0" * 50_000_000)  # 50 MB inflated from ~50 kB
    quoted = _clip(bomb)
    assert quoted == f"<gzip, {len(bomb)} bytes; decoded: {'0' * BODY_SHOWN}...>"


def test_a_long_body_says_how_long_it_was() -> None:
    assert _clip(b"x" * 1000) == "x" * BODY_SHOWN + "... (1000 bytes)"
