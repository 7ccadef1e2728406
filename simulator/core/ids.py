"""Vendor-format identifiers drawn from a seeded RNG (never uuid4/global random: same seed, same ids).

Formats: RFC 4122 v4 UUIDs, MettaX 12-digit device ids and 19-digit snowflakes, 15-digit IMEIs with a
Luhn check digit, 17-character VINs with the ISO 3779 / FMVSS check digit (with manufacturer codes of the
fleet's country), licence plates of the cities fleetsim drives in (Brazil old ABC-1234 and Mercosul ABC1D23,
Shenzhen, Vienna, Illinois; Mexico's come from Faker, see core/pools.py), and ULIDs in lowercase Crockford
base32 (drivers API ids).
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
#: position 10, model year: 2014 (E) .. 2026 (T), the fleet vehicles of a 2024-2026 world
_VIN_MODEL_YEARS = "EFGHJKLMNPRST"
#: world manufacturer identifiers (VIN positions 1-3) of commercial vehicles built in or sold to each country
VIN_WMIS: dict[str, tuple[str, ...]] = {
    # Volkswagen, Mercedes-Benz, Fiat, GM, Ford, Scania and Volvo do Brasil
    "BR": ("9BW", "9BM", "9BD", "9BG", "9BF", "9BS", "9BV"),
    # BYD (cars, commercial), FAW-Volkswagen, SAIC Volkswagen, Sinotruk, Dongfeng commercial
    "CN": ("LGX", "LC0", "LFV", "LSV", "LZZ", "LGA"),
    # Freightliner, Nissan, Volkswagen and GM de México
    "MX": ("3AK", "3N1", "3N6", "3VW", "3GC"),
    # European makes on Austrian roads: Mercedes-Benz, MAN, VW commercial, Ford Germany, Scania, Volvo, Renault
    "AT": ("WDB", "WMA", "WV1", "WF0", "YS2", "YV2", "VF1"),
    # Freightliner, Kenworth, Peterbilt, Ford and Chevrolet trucks, Volvo Trucks North America, MCI coaches
    "US": ("1FU", "1XK", "1XP", "1FT", "1GC", "4V4", "1M8"),
}
#: a mix of the above, for anything that is not tied to a country (schema-driven generation)
DEFAULT_WMIS = ("1M8", "2JE", "3AK", "9BW", "1FU", "1XK", "9BM", "WDB")


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


def vin(rng: random.Random, wmis: tuple[str, ...] = DEFAULT_WMIS) -> str:
    """A 17-character VIN from one of `wmis` (see VIN_WMIS), model year 2014-2026, valid check digit.

    Faker has a VIN too, with a check digit, but its manufacturer code and model year are random characters
    (often no real maker, sometimes a year code that does not exist): receivers that decode VINs need these.
    """
    wmi = rng.choice(wmis)
    chars = [*wmi, *(rng.choice(_VIN_CHARS) for _ in range(14))]
    chars[9] = rng.choice(_VIN_MODEL_YEARS)
    chars[8] = "0"
    chars[8] = vin_check_digit("".join(chars))
    return "".join(chars)


def plate_br(rng: random.Random) -> str:
    """A Brazilian plate: the old grey ABC-1234 (written with its dash) or the Mercosul ABC1D23 (Contran
    resolution 729/2018), half and half as on the road during the changeover."""
    letters = "".join(rng.choice(_LETTERS) for _ in range(3))
    if rng.random() < 0.5:
        return f"{letters}-{digits(rng, 4, leading_zero=True)}"
    return f"{letters}{rng.randint(0, 9)}{rng.choice(_LETTERS)}{rng.randint(0, 9)}{rng.randint(0, 9)}"


# Chinese plates never use I or O (they read as 1 and 0).
_CN_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def plate_cn(rng: random.Random, authority: str = "粤B") -> str:
    """A Chinese plate as fleet platforms store it: province character and issuing-authority letter, then the
    serial, no separator (the dot after the authority is only painted on the plate) — GA 36-2018.

    `authority` 粤B is Shenzhen. Ordinary blue/yellow plates carry a 5-character serial of digits, sometimes
    with one or two letters (粤B12345, 粤BA3K71); small new-energy green plates carry 6: D (battery electric)
    or F (other new energy), a letter or digit, then four digits (粤BD12345, 粤BFA1234). Shenzhen's delivery
    fleets are largely electric, so about half the plates are green.
    """
    if rng.random() < 0.5:
        head = rng.choice(_CN_LETTERS + "0123456789")
        return f"{authority}{rng.choice('DF')}{head}{digits(rng, 4, leading_zero=True)}"
    serial = [str(rng.randint(0, 9)) for _ in range(5)]
    for pos in rng.sample(range(5), rng.choice((0, 0, 1, 1, 2))):
        serial[pos] = rng.choice(_CN_LETTERS)
    return authority + "".join(serial)


def plate_at(rng: random.Random, district: str = "W") -> str:
    """An Austrian plate written as district code, dash, digits, space, letters: W-12345 A, W-123 AB.

    Districts with a one-letter code (W: Vienna) use one to five digits then one to three letters, six
    characters at most; the number never starts with 0 (de.wikipedia.org, "Kfz-Kennzeichen (Österreich)",
    the layouts Faker's de_AT provider draws from, with the district fixed instead of random).
    """
    n_digits, n_letters = rng.choice(((2, 3), (3, 2), (3, 3), (4, 1), (4, 2), (5, 1)))
    letters = "".join(rng.choice(_LETTERS) for _ in range(n_letters))
    return f"{district}-{digits(rng, n_digits)} {letters}"


def plate_us_il(rng: random.Random) -> str:
    """An Illinois standard passenger plate, serial format AB 12345 (issued since 2017; en.wikipedia.org,
    "Vehicle registration plates of Illinois"). Faker's en_US plates mix the formats of every state."""
    letters = "".join(rng.choice(_LETTERS) for _ in range(2))
    return f"{letters} {digits(rng, 5, leading_zero=True)}"


#: plate formats a city can name (cities.py); "faker" there means Faker's license_plate() for the locale
PLATES = {"br": plate_br, "cn-shenzhen": plate_cn, "at-vienna": plate_at, "us-illinois": plate_us_il}


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
