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


@pytest.mark.parametrize("seed", range(200))
def test_city_plate_formats(seed: int) -> None:
    rng = random.Random(seed)
    assert re.fullmatch(r"粤B([0-9A-HJ-NP-Z]{5}|[DF][0-9A-HJ-NP-Z]\d{4})", ids.plate_cn(rng))
    assert sum(c.isalpha() for c in ids.plate_cn(rng)[2:]) <= 2
    assert re.fullmatch(r"W-[1-9]\d{1,4} [A-Z]{1,3}", plate := ids.plate_at(rng)) and len(plate) <= 9, plate
    assert re.fullmatch(r"[A-Z]{2} \d{5}", ids.plate_us_il(rng))
    assert set(ids.PLATES) == {"br", "cn-shenzhen", "at-vienna", "us-illinois"}


@pytest.mark.parametrize("country", sorted(ids.VIN_WMIS))
def test_vins_of_each_country_are_valid_and_recent(country: str) -> None:
    rng = random.Random(country)
    for _ in range(300):
        vin = ids.vin(rng, ids.VIN_WMIS[country])
        assert ids.vin_valid(vin), vin
        assert vin[:3] in ids.VIN_WMIS[country]
        assert vin[9] in "EFGHJKLMNPRST"  # model years 2014..2026
