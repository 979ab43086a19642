"""The sandbox's IMAP4rev1 server (asyncio), serving the shared MailStore."""

from erpmail.sandbox.imap.server import start_imap_server

__all__ = ["start_imap_server"]
