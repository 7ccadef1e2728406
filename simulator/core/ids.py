"""Vendor-format identifiers drawn from a seeded RNG (never uuid4/global random: same seed, same ids).

Formats: RFC 4122 v4 UUIDs, MettaX 12-digit device ids and 19-digit snowflakes, 15-digit IMEIs with a
Luhn check digit, 17-character VINs with the ISO 3779 / FMVSS check digit, Brazilian plates (old ABC-1234 and
Mercosul ABC1D23), and ULIDs in lowercase Crockford base32 (drivers API ids).
"""

from __future__ import annotations

import random

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# VIN: letters I, O, Q are never used.
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def uuid4(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    # version nibble 4, variant bits 10xx (RFC 4122)
    variant = "89ab"[int(h[16], 16) & 0x3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def digits(rng: random.Random, length: int, *, leading_zero: bool = False) -> str:
    if length <= 0:
        return ""
    first = str(rng.randint(0 if leading_zero else 1, 9))
    return first + "".join(str(rng.randint(0, 9)) for _ in range(length - 1))


def mettax_device_id(rng: random.Random) -> str:
    return digits(rng, 12)


def snowflake(rng: random.Random) -> str:
    # Twitter-style snowflakes for 2024-2026 are 19 digits starting with 1.
    return "1" + digits(rng, 18, leading_zero=True)


def luhn_check_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:  # positions that get doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def imei(rng: random.Random) -> str:
    # TAC (8 digits, starting with a plausible reporting-body id) + serial (6) + Luhn digit.
    body = "35" + digits(rng, 12, leading_zero=True)
    return body + luhn_check_digit(body)


def vin_check_digit(vin: str) -> str:
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin, _VIN_WEIGHTS, strict=True))
    r = total % 11
    return "X" if r == 10 else str(r)


def vin_valid(vin: str) -> bool:
    return len(vin) == 17 and all(c in _VIN_CHARS for c in vin) and vin_check_digit(vin) == vin[8]


def vin(rng: random.Random) -> str:
    wmi = rng.choice(("1M8", "2JE", "3AK", "9BW", "1FU", "1XK", "9BM", "WDB"))
    chars = [*wmi, *(rng.choice(_VIN_CHARS) for _ in range(14))]
    chars[9] = rng.choice("RSTVWXY123456")  # model year code for 1994-2006/2024-2026 era
    chars[8] = "0"
    chars[8] = vin_check_digit("".join(chars))
    return "".join(chars)


def plate_br(rng: random.Random) -> str:
    letters = "".join(rng.choice(_LETTERS) for _ in range(3))
    if rng.random() < 0.5:
        return f"{letters}-{digits(rng, 4, leading_zero=True)}"
    return f"{letters}{rng.randint(0, 9)}{rng.choice(_LETTERS)}{rng.randint(0, 9)}{rng.randint(0, 9)}"


def ulid(rng: random.Random, *, epoch_ms: int) -> str:
    n = (epoch_ms << 80) | rng.getrandbits(80)
    out = []
    for _ in range(26):
        out.append(_CROCKFORD[n & 31])
        n >>= 5
    return "".join(reversed(out))


def hex_string(rng: random.Random, length: int, *, upper: bool = False) -> str:
    text = f"{rng.getrandbits(4 * length):0{length}x}" if length else ""
    return text.upper() if upper else text
