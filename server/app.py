"""The erpmail gRPC server: wiring of features, health, reflection, start and graceful stop."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable

import grpc
from erpmail.server.accounts.references import AccountReferences
from erpmail.server.accounts.servicer import AccountServicer
from erpmail.server.accounts.store import (
    ACCOUNT_EMPLOYEE_USE,
    ACCOUNT_OWNER_USE,
    ACCOUNT_WORK_GROUP_USE,
    AccountStore,
)
from erpmail.server.assignment.servicer import AssignmentMapServicer
from erpmail.server.assignment.store import (
    ASSIGNMENT_MAP_EMPLOYEE_USE,
    ASSIGNMENT_MAP_OWNER_USE,
    ASSIGNMENT_MAP_WORK_GROUP_USE,
    AssignmentMapStore,
)
from erpmail.server.auth.authenticator import Authenticator
from erpmail.server.auth.ratelimit import RateLimiter
from erpmail.server.auth.servicer import ApiKeyServicer
from erpmail.server.auth.store import ApiKeyStore
from erpmail.server.auth.transport import server_credentials
from erpmail.server.config import Settings
from erpmail.server.core.clock import Clock, SystemClock
from erpmail.server.core.datadir import DataDirLock
from erpmail.server.core.db import Database
from erpmail.server.core.errors import NotFound
from erpmail.server.core.interceptor import RequestInterceptor
from erpmail.server.core.secrets import SecretBox
from erpmail.server.directory.servicer import DirectoryServicer
from erpmail.server.directory.store import DirectoryStore
from erpmail.server.documents.sending import DocumentSender
from erpmail.server.documents.servicer import DocumentServicer
from erpmail.server.documents.store import (
    MAILING_SETTING_ACCOUNT_GUARD,
    MAILING_SETTING_EMPLOYEE_USE,
    MAILING_SETTING_TEMPLATE_USE,
    DocumentStore,
)
from erpmail.server.entity_requests.servicer import EntityRequestServicer
from erpmail.server.entity_requests.store import EntityRequestStore
from erpmail.server.incoming.idle import IdleWatcher
from erpmail.server.incoming.processor import Processor
from erpmail.server.incoming.receiver import Receiver
from erpmail.server.incoming.servicer import ProcessingServicer
from erpmail.server.incoming.store import IncomingStore
from erpmail.server.mailbox.action_store import ActionStore
from erpmail.server.mailbox.actions_service import MailboxActions
from erpmail.server.mailbox.view_service import ViewService
from erpmail.server.mailbox.view_servicer import EmailLists, SavedViewServicer
from erpmail.server.mailbox.view_store import ViewStore
from erpmail.server.mailings.service import MailingService
from erpmail.server.mailings.servicer import MailingServicer
from erpmail.server.mailings.store import MASS_MAILING_ACCOUNT_GUARD, MailingStore
from erpmail.server.mailings.worker import MailingWorker
from erpmail.server.management.runner import SendReceiveRunner
from erpmail.server.management.scheduler import Scheduler
from erpmail.server.management.service import FigureService, ScheduleService
from erpmail.server.management.servicer import ManagementServicer
from erpmail.server.management.store import ManagementStore
from erpmail.server.outgoing.dispatcher import Dispatcher
from erpmail.server.outgoing.service import OutgoingService
from erpmail.server.outgoing.servicer import EmailServicer
from erpmail.server.outgoing.store import PENDING_EMAIL_GUARD, EmailStore
from erpmail.server.outgoing.watch import EmailWatch
from erpmail.server.preferences.servicer import PreferencesServicer
from erpmail.server.preferences.store import DEFAULT_ACCOUNT_GUARD, PreferencesStore
from erpmail.server.templates.servicer import TemplateServicer
from erpmail.server.templates.store import TEMPLATE_ACCOUNT_GUARD, TemplateStore
from erpmail.v1 import (
    accounts_pb2,
    accounts_pb2_grpc,
    assignment_pb2,
    assignment_pb2_grpc,
    directory_pb2,
    directory_pb2_grpc,
    documents_pb2,
    documents_pb2_grpc,
    emails_pb2,
    emails_pb2_grpc,
    entity_requests_pb2,
    entity_requests_pb2_grpc,
    keys_pb2,
    keys_pb2_grpc,
    mailings_pb2,
    mailings_pb2_grpc,
    management_pb2,
    management_pb2_grpc,
    preferences_pb2,
    preferences_pb2_grpc,
    processing_pb2,
    processing_pb2_grpc,
    templates_pb2,
    templates_pb2_grpc,
    views_pb2,
    views_pb2_grpc,
)
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 64 * 1024 * 1024

SERVICE_NAMES = (
    accounts_pb2.DESCRIPTOR.services_by_name["AccountService"].full_name,
    preferences_pb2.DESCRIPTOR.services_by_name["PreferencesService"].full_name,
    emails_pb2.DESCRIPTOR.services_by_name["EmailService"].full_name,
    directory_pb2.DESCRIPTOR.services_by_name["DirectoryService"].full_name,
    documents_pb2.DESCRIPTOR.services_by_name["DocumentService"].full_name,
    processing_pb2.DESCRIPTOR.services_by_name["ProcessingService"].full_name,
    templates_pb2.DESCRIPTOR.services_by_name["TemplateService"].full_name,
    assignment_pb2.DESCRIPTOR.services_by_name["AssignmentMapService"].full_name,
    entity_requests_pb2.DESCRIPTOR.services_by_name["EntityRequestService"].full_name,
    mailings_pb2.DESCRIPTOR.services_by_name["MailingService"].full_name,
    management_pb2.DESCRIPTOR.services_by_name["ManagementService"].full_name,
    views_pb2.DESCRIPTOR.services_by_name["SavedViewService"].full_name,
    keys_pb2.DESCRIPTOR.services_by_name["ApiKeyService"].full_name,
)


async def _exists(lookup: Awaitable[object]) -> bool:
    try:
        await lookup
    except NotFound:
        return False
    return True


class ListenError(OSError):
    """The address to listen on is taken or invalid."""


class ErpmailServer:
    """One running erpmail: `await start()`, then `await stop()` (or `await wait()`)."""

    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_path)
        self.health = health.aio.HealthServicer()
        self._server: grpc.aio.Server | None = None
        self.port = 0
        self.api_keys = ApiKeyStore(self.db)
        self._data_lock = DataDirLock(settings.data_dir)

    async def start(self) -> int:
        """Opens the database, starts serving and returns the bound port. DataDirInUse while
        another process works on the data folder."""
        self._data_lock.acquire()
        try:
            server = await self._grpc_server()
        except BaseException:
            self._data_lock.release()
            raise
        await server.start()
        self._server = server
        # Calls that arrive before the database is open are answered UNAVAILABLE.
        try:
            await self.db.open()
            await self.views.refresh_index()
            await self.dispatcher.start()
            await self.scheduler.start()
            await self.mailing_worker.start()
            await self.idle.start()
        except BaseException:
            await self.stop(grace=0)
            raise
        await self._set_health(health_pb2.HealthCheckResponse.SERVING)
        log.info("serving", extra={"listen": self.address, "data_dir": str(self.settings.data_dir)})
        return self.port

    async def _grpc_server(self) -> grpc.aio.Server:
        """The gRPC server with every service added, listening but not yet started."""
        # SO_REUSEPORT would let a second server share the port and split the calls.
        authenticate = (
            Authenticator(self.api_keys, RateLimiter(self.settings.rate_limit, time.monotonic))
            if self.settings.require_api_keys
            else None
        )
        server = grpc.aio.server(
            interceptors=[RequestInterceptor(authenticate)],
            options=[
                ("grpc.so_reuseport", 0),
                # Attachments travel inside requests: room for the largest email erpmail takes.
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        # Health answers NOT_SERVING until the database is ready.
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        reflection.enable_server_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        self._add_features(server)
        try:
            self.port = self._listen(server)
        except RuntimeError as error:
            raise ListenError(f"cannot listen on {self.settings.listen}: {error}") from None
        return server

    def _listen(self, server: grpc.aio.Server) -> int:
        s = self.settings
        if s.tls_cert_file is None or s.tls_key_file is None:
            return server.add_insecure_port(s.listen)
        credentials = server_credentials(s.tls_cert_file, s.tls_key_file, s.tls_client_ca_file)
        return server.add_secure_port(s.listen, credentials)

    @property
    def address(self) -> str:
        host = self.settings.listen.rpartition(":")[0]
        return f"{host}:{self.port}"

    def _add_features(self, server: grpc.aio.Server) -> None:
        secrets = SecretBox.from_key_file(self.settings.key_path)
        guards = [
            DEFAULT_ACCOUNT_GUARD,
            PENDING_EMAIL_GUARD,
            TEMPLATE_ACCOUNT_GUARD,
            MAILING_SETTING_ACCOUNT_GUARD,
            MASS_MAILING_ACCOUNT_GUARD,
        ]
        self.accounts = AccountStore(self.db, secrets, guards)
        preferences = PreferencesStore(self.db)
        self.directory = DirectoryStore(
            self.db,
            [
                ACCOUNT_EMPLOYEE_USE,
                ACCOUNT_WORK_GROUP_USE,
                ACCOUNT_OWNER_USE,
                ASSIGNMENT_MAP_EMPLOYEE_USE,
                ASSIGNMENT_MAP_WORK_GROUP_USE,
                ASSIGNMENT_MAP_OWNER_USE,
                MAILING_SETTING_EMPLOYEE_USE,
            ],
        )
        self.templates = TemplateStore(self.db, [MAILING_SETTING_TEMPLATE_USE])
        self.assignment_maps = AssignmentMapStore(self.db)
        self.emails = EmailStore(self.db)
        self.dispatcher = Dispatcher(
            self.emails, self.accounts, preferences, self.clock, self.settings.dispatch
        )
        outgoing = OutgoingService(
            self.emails, self.accounts, preferences, self.dispatcher, self.clock
        )
        self.entity_requests = EntityRequestStore(self.db, self.emails.notify)
        incoming = IncomingStore(self.db, self.emails.notify, self.entity_requests.recorded.notify)
        # What processing sends (forwards, automatic replies) goes through the outgoing queue.
        processor = Processor(
            incoming,
            self.accounts,
            self.directory,
            outgoing,
            self.templates,
            self.assignment_maps,
            self.clock,
        )
        receiver = self.receiver = Receiver(
            incoming, self.accounts, preferences, self.clock, processor=processor
        )
        self.idle = IdleWatcher(
            self.accounts, lambda account_id: receiver.receive([account_id]), self.settings.idle
        )
        accounts_pb2_grpc.add_AccountServiceServicer_to_server(
            AccountServicer(
                self.accounts,
                self.clock,
                self.emails.account_problems,
                receiver.receive_soon,
                accounts_changed=self.idle.refresh_soon,
                references=self._account_references(),
            ),
            server,
        )
        preferences_pb2_grpc.add_PreferencesServiceServicer_to_server(
            PreferencesServicer(preferences), server
        )
        self.views = ViewStore(self.db)
        emails_pb2_grpc.add_EmailServiceServicer_to_server(
            EmailServicer(
                outgoing,
                EmailWatch(self.emails, outgoing, self.settings.watch_progress_interval),
                MailboxActions(
                    ActionStore(self.db, self.emails.notify, self.entity_requests.recorded.notify),
                    outgoing,
                    self.accounts,
                    self.clock,
                ),
                EmailLists(ViewService(self.views, outgoing)),
            ),
            server,
        )
        views_pb2_grpc.add_SavedViewServiceServicer_to_server(
            SavedViewServicer(self.views, self.clock), server
        )
        processing_pb2_grpc.add_ProcessingServiceServicer_to_server(
            ProcessingServicer(receiver, incoming, outgoing, self.clock), server
        )
        entity_requests_pb2_grpc.add_EntityRequestServiceServicer_to_server(
            EntityRequestServicer(
                self.entity_requests,
                self.clock,
                self.accounts.visible,
                self.settings.watch_progress_interval,
            ),
            server,
        )
        directory_pb2_grpc.add_DirectoryServiceServicer_to_server(
            DirectoryServicer(self.directory, self.clock), server
        )
        self.documents = DocumentStore(self.db)
        documents_pb2_grpc.add_DocumentServiceServicer_to_server(
            DocumentServicer(
                self.documents,
                DocumentSender(self.documents, self.directory, self.templates, outgoing),
                outgoing,
                self.clock,
            ),
            server,
        )
        templates_pb2_grpc.add_TemplateServiceServicer_to_server(
            TemplateServicer(self.templates, self.accounts, preferences, self.clock), server
        )
        self.mailings = MailingStore(self.db)
        self.mailing_worker = MailingWorker(self.mailings, outgoing, self.clock)
        mailings_pb2_grpc.add_MailingServiceServicer_to_server(
            MailingServicer(
                MailingService(
                    self.mailings, self.templates, outgoing, self.clock, self.mailing_worker.wake
                ),
                outgoing,
                self.settings.watch_progress_interval,
            ),
            server,
        )
        self._add_management(server, outgoing, receiver, preferences)
        keys_pb2_grpc.add_ApiKeyServiceServicer_to_server(
            ApiKeyServicer(self.api_keys, self.clock), server
        )
        assignment_pb2_grpc.add_AssignmentMapServiceServicer_to_server(
            AssignmentMapServicer(self.assignment_maps, self.clock), server
        )

    def _add_management(
        self,
        server: grpc.aio.Server,
        outgoing: OutgoingService,
        receiver: Receiver,
        preferences: PreferencesStore,
    ) -> None:
        store = ManagementStore(self.db, self.emails.notify)
        runner = SendReceiveRunner(
            store, self.accounts, preferences, outgoing, receiver, self.clock
        )
        self.scheduler = Scheduler(store, runner, self.clock)
        management_pb2_grpc.add_ManagementServiceServicer_to_server(
            ManagementServicer(
                runner,
                ScheduleService(store, self.clock, self.scheduler.wake),
                FigureService(store, self.accounts),
            ),
            server,
        )

    def _account_references(self) -> AccountReferences:
        async def template_exists(template_id: str) -> bool:
            return await _exists(self.templates.get(template_id))

        async def assignment_map_exists(map_id: str) -> bool:
            return await _exists(self.assignment_maps.get(map_id))

        async def employee_exists(employee_id: str) -> bool:
            return await _exists(self.directory.get_employee(employee_id))

        async def work_group_members(work_group_id: str) -> list[str] | None:
            try:
                return (await self.directory.get_work_group(work_group_id)).item.members
            except NotFound:
                return None

        return AccountReferences(
            template_exists, assignment_map_exists, employee_exists, work_group_members
        )

    async def stop(self, grace: float | None = None) -> None:
        """Stops taking calls, lets those in flight finish for `grace` seconds, closes the db."""
        await self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)
        if self._server is not None:
            await self._server.stop(self.settings.shutdown_grace if grace is None else grace)
            self._server = None
            await self.scheduler.stop()  # its runs send and receive through the others
            await self.mailing_worker.stop()
            await self.dispatcher.stop()
            await self.idle.stop()  # its receipts run through the receiver
            await self.receiver.stop()
        await self.db.close()
        self._data_lock.release()
        log.info("stopped")

    async def _set_health(
        self, status: health_pb2.HealthCheckResponse.ServingStatus.ValueType
    ) -> None:
        for name in ("", *SERVICE_NAMES):
            await self.health.set(name, status)
