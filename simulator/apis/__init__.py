"""APIs fleetsim serves as its own control plane (not platforms that push webhooks): registered in APIS."""

from . import drivers_api, smartgps_api  # noqa: F401  (registration side effect)
