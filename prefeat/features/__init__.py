"""Feature families: one module each, registered in :mod:`prefeat.registry`."""
