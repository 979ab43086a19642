"""The sandbox's POP3 server: RFC 1939 with CAPA, STLS and SASL AUTH, over the MailStore INBOXes."""

from erpmail.sandbox.pop3.server import start_pop3_server
from erpmail.sandbox.pop3.session import Pop3Session, State

__all__ = ["Pop3Session", "State", "start_pop3_server"]
