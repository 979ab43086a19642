"""erpmailctl, erpmail's command line; see `erpmailctl --help` and erpmail.client.cli.main."""

from erpmail.client.cli.main import main

__all__ = ["main"]
