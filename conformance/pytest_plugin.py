"""The fleetsim pytest plugin (placeholder while it is being written)."""
