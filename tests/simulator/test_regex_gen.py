import random
import re

import pytest

from simulator.errors import HarnessError
from simulator.schemagen.regex import string_matching

PATTERNS = [
    r"^[0-9]{6,20}_[0-9]{6,20}$",
    r"^SGO-[A-Z0-9-]+$",
    r"^[A-Z]{3}-?[0-9][A-Z0-9][0-9]{2}$",
    r"^(sos|powerCut|laneShift)(,(sos|powerCut|laneShift))*$",
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d\d:?\d\d)$",
    r"^[^,\s]+$",
    r"^v1=[0-9a-f]{64}$",
]


@pytest.mark.parametrize("pattern", PATTERNS)
def test_generated_strings_match(pattern: str) -> None:
    rng = random.Random(pattern)
    for _ in range(200):
        value = string_matching(pattern, rng)
        assert re.search(pattern, value), (pattern, value)


def test_broken_pattern_is_a_harness_error() -> None:
    with pytest.raises(HarnessError):
        string_matching("([unclosed", random.Random(0))
