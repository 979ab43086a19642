"""The Python client for erpmail: `AsyncClient` (asyncio) and `Client` (blocking).

from erpmail.client import AsyncClient, ClientOptions
from erpmail.v1 import accounts_pb2

async with AsyncClient(ClientOptions(address="erpmail:50051", api_key=key)) as erp:
    async for account in erp.items(erp.accounts.ListAccounts,
                                   accounts_pb2.ListAccountsRequest()):
        print(account.account_id)
"""

from erpmail.client.aio import AsyncClient
from erpmail.client.calls import RetryPolicy
from erpmail.client.errors import ErrorDetails, FieldViolation, PreconditionViolation, error_details
from erpmail.client.options import ClientOptions, Tls
from erpmail.client.sync import Client
from erpmail.client.watch import Reconnect

__all__ = [
    "AsyncClient",
    "Client",
    "ClientOptions",
    "ErrorDetails",
    "FieldViolation",
    "PreconditionViolation",
    "Reconnect",
    "RetryPolicy",
    "Tls",
    "error_details",
]
