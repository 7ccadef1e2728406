import random
import re
import uuid

import pytest

from simulator.core import ids


@pytest.mark.parametrize("seed", range(200))
def test_ids_have_vendor_formats(seed: int) -> None:
    rng = random.Random(seed)
    u = uuid.UUID(ids.uuid4(rng))
    assert u.version == 4 and u.variant == uuid.RFC_4122
    assert ids.luhn_valid(ids.imei(rng)) and len(ids.imei(rng)) == 15
    vin = ids.vin(rng)
    assert ids.vin_valid(vin), vin
    assert re.fullmatch(r"[A-Z]{3}-\d{4}|[A-Z]{3}\d[A-Z]\d{2}", ids.plate_br(rng))
    assert re.fullmatch(r"1\d{18}", ids.snowflake(rng))
    assert re.fullmatch(r"[1-9]\d{11}", ids.mettax_device_id(rng))
    assert re.fullmatch(r"[0-9a-hjkmnp-tv-z]{26}", ids.ulid(rng, epoch_ms=1_700_000_000_000))


def test_known_check_digits() -> None:
    # VIN from the Samsara seed sample; IMEI example from the GSMA documentation
    assert ids.vin_valid("1M8GDM9AXKP042788")
    assert not ids.vin_valid("1M8GDM9A1KP042788")
    assert ids.luhn_valid("490154203237518")
    assert not ids.luhn_valid("490154203237519")


def test_same_seed_same_ids_different_seed_different_ids() -> None:
    def draw(seed: int) -> list[str]:
        rng = random.Random(seed)
        return [ids.uuid4(rng), ids.imei(rng), ids.vin(rng)]

    assert draw(1) == draw(1)
    assert draw(1) != draw(2)
