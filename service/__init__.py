"""Front ends that serve people over the network: the HTTP API (``service.app``)."""
