"""Every check and probe of fleetsim's conformance catalogue, registered by importing this module.

One module per family keeps each small; the registries (`registry.CHECKS`, `probing.PROBES`) are the one place
everything else asks."""

from __future__ import annotations

from . import checks as _checks  # noqa: F401
from . import checks_auth as _checks_auth  # noqa: F401
from . import checks_fuzz as _checks_fuzz  # noqa: F401
from . import checks_input as _checks_input  # noqa: F401
from . import checks_socket as _checks_socket  # noqa: F401
from . import checks_state as _checks_state  # noqa: F401
from . import checks_transport as _checks_transport  # noqa: F401
from .api_client import checks as _api_client_checks  # noqa: F401

__all__: list[str] = []
