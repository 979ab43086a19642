// ErpmailClient: one channel, every call with the key and acting user, promise-returning unary
// calls typed from the generated service definitions, retries where a repeat cannot do harm.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as grpc from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';

import type {
  AssignmentMapServiceClient,
  AssignmentMapServiceDefinition,
} from './generated/erpmail/v1/AssignmentMapService';
import type {
  DirectoryServiceClient,
  DirectoryServiceDefinition,
} from './generated/erpmail/v1/DirectoryService';
import type {
  DocumentServiceClient,
  DocumentServiceDefinition,
} from './generated/erpmail/v1/DocumentService';
import type {
  EntityRequestServiceClient,
  EntityRequestServiceDefinition,
} from './generated/erpmail/v1/EntityRequestService';
import type {
  ApiKeyServiceClient,
  ApiKeyServiceDefinition,
} from './generated/erpmail/v1/ApiKeyService';
import type {
  SavedViewServiceClient,
  SavedViewServiceDefinition,
} from './generated/erpmail/v1/SavedViewService';
import type {
  AccountServiceClient,
  AccountServiceDefinition,
} from './generated/erpmail/v1/AccountService';
import type {
  EmailServiceClient,
  EmailServiceDefinition,
} from './generated/erpmail/v1/EmailService';
import type { EmailChange__Output } from './generated/erpmail/v1/EmailChange';
import type { EntityRequest__Output } from './generated/erpmail/v1/EntityRequest';
import type {
  ManagementServiceClient,
  ManagementServiceDefinition,
} from './generated/erpmail/v1/ManagementService';
import type {
  MailingServiceClient,
  MailingServiceDefinition,
} from './generated/erpmail/v1/MailingService';
import type {
  PreferencesServiceClient,
  PreferencesServiceDefinition,
} from './generated/erpmail/v1/PreferencesService';
import type {
  ProcessingServiceClient,
  ProcessingServiceDefinition,
} from './generated/erpmail/v1/ProcessingService';
import type {
  TemplateServiceClient,
  TemplateServiceDefinition,
} from './generated/erpmail/v1/TemplateService';
import type { WatchEmailsRequest } from './generated/erpmail/v1/WatchEmailsRequest';
import type { WatchEmailsResponse__Output } from './generated/erpmail/v1/WatchEmailsResponse';
import type { WatchEntityRequestsRequest } from './generated/erpmail/v1/WatchEntityRequestsRequest';
import type {
  WatchEntityRequestsResponse__Output,
} from './generated/erpmail/v1/WatchEntityRequestsResponse';
import type { MassMailing__Output } from './generated/erpmail/v1/MassMailing';
import type {
  WatchMassMailingResponse__Output,
} from './generated/erpmail/v1/WatchMassMailingResponse';
import { loadErpmailPackage } from './protos';

export interface TlsOptions {
  /** PEM CA certificates to trust instead of the system's. */
  rootCerts?: Buffer | string;
  /** PEM client certificate and key, for a server that requires mutual TLS. */
  cert?: Buffer | string;
  key?: Buffer | string;
}

export interface RetryOptions {
  /** Attempts in all, the first included (default 5). */
  maxAttempts?: number;
  /** The first wait; doubled after each failure, with jitter (default 100 ms). */
  initialBackoffMs?: number;
  /** The longest wait (default 5000 ms). */
  maxBackoffMs?: number;
}

export interface ErpmailClientOptions {
  /** HOST:PORT of the erpmail server. */
  address: string;
  /** TLS settings; false or left out: a plain connection (local development only). */
  tls?: TlsOptions | false;
  /** Sent on every call as `authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** The acting user, sent on every call as `x-erpmail-actor`. */
  actor?: string;
  /** Deadline of each unary call attempt (default 30000 ms). Streams have none. */
  deadlineMs?: number;
  retry?: RetryOptions;
  /** Where erpmail/v1/*.proto are found; default: the repository's protos/ folder. */
  protosDir?: string;
  /** Passed to every service client (tests use them to observe or disturb calls). */
  interceptors?: grpc.Interceptor[];
  channelOptions?: grpc.ChannelOptions;
}

export interface CallOptions {
  /** This call's deadline, replacing the client's deadlineMs. */
  deadlineMs?: number;
  /** Cancels the call (and any retry wait). */
  signal?: AbortSignal;
  /** Extra metadata for this call (`x-request-id`, ...). */
  metadata?: Record<string, string>;
}

type Unary<I, O> = (request: I, options?: CallOptions) => Promise<O>;
type Streaming<I, O> = (request: I, options?: CallOptions) => grpc.ClientReadableStream<O>;

/**
 * A service's RPCs under lowerCamel names, typed from the generated definition `D` (request
 * and response types) and client `C` (which calls stream): unary ones return promises.
 */
export type Service<D, C> = {
  [
    K in keyof C & keyof D & string as K extends Capitalize<K> ? Uncapitalize<K> : never
  ]: D[K] extends MethodDefinition<infer I, any, any, infer O>
    ? C[K] extends (...args: any[]) => infer R
      ? R extends grpc.ClientReadableStream<any>
        ? Streaming<I, O>
        : Unary<I, O>
      : never
    : never;
};

type ClientClass = grpc.ServiceClientConstructor;

/** Methods that only read, so a repeat is harmless; calls with a request_id are added to them. */
const READ_ONLY = /^(Get|List|Preview)/;
const DEFAULT_DEADLINE_MS = 30_000;

export class ErpmailClient {
  readonly accounts: Service<AccountServiceDefinition, AccountServiceClient>;
  readonly emails: Service<EmailServiceDefinition, EmailServiceClient>;
  readonly templates: Service<TemplateServiceDefinition, TemplateServiceClient>;
  readonly mailings: Service<MailingServiceDefinition, MailingServiceClient>;
  readonly processing: Service<ProcessingServiceDefinition, ProcessingServiceClient>;
  readonly management: Service<ManagementServiceDefinition, ManagementServiceClient>;
  readonly preferences: Service<PreferencesServiceDefinition, PreferencesServiceClient>;
  readonly assignmentMaps: Service<AssignmentMapServiceDefinition, AssignmentMapServiceClient>;
  readonly directory: Service<DirectoryServiceDefinition, DirectoryServiceClient>;
  readonly documents: Service<DocumentServiceDefinition, DocumentServiceClient>;
  readonly entityRequests: Service<EntityRequestServiceDefinition, EntityRequestServiceClient>;
  readonly apiKeys: Service<ApiKeyServiceDefinition, ApiKeyServiceClient>;
  readonly savedViews: Service<SavedViewServiceDefinition, SavedViewServiceClient>;

  private readonly channel: grpc.Channel;
  private readonly clients: grpc.Client[] = [];
  private readonly retry: Required<RetryOptions>;

  constructor(private readonly options: ErpmailClientOptions) {
    this.retry = {
      maxAttempts: options.retry?.maxAttempts ?? 5,
      initialBackoffMs: options.retry?.initialBackoffMs ?? 100,
      maxBackoffMs: options.retry?.maxBackoffMs ?? 5000,
    };
    const credentials = options.tls
      ? grpc.credentials.createSsl(
          pem(options.tls.rootCerts),
          pem(options.tls.key),
          pem(options.tls.cert),
        )
      : grpc.credentials.createInsecure();
    this.channel = new grpc.Channel(options.address, credentials, options.channelOptions ?? {});
    const v1 = (loadErpmailPackage(options.protosDir).erpmail as grpc.GrpcObject)
      .v1 as grpc.GrpcObject;
    const service = <S>(name: string): S => this.wrap(v1[name] as ClientClass) as S;
    this.accounts = service('AccountService');
    this.emails = service('EmailService');
    this.templates = service('TemplateService');
    this.mailings = service('MailingService');
    this.processing = service('ProcessingService');
    this.management = service('ManagementService');
    this.preferences = service('PreferencesService');
    this.assignmentMaps = service('AssignmentMapService');
    this.directory = service('DirectoryService');
    this.documents = service('DocumentService');
    this.entityRequests = service('EntityRequestService');
    this.apiKeys = service('ApiKeyService');
    this.savedViews = service('SavedViewService');
  }

  /** Closes the connection; calls still running fail with CANCELLED. */
  close(): void {
    for (const client of this.clients) client.close();
    this.channel.close();
  }

  /**
   * Every item of a List* call, page after page: `paginate(client.emails.listEmails,
   * {accountId: 'sales', pageSize: 100}, 'emails')`.
   */
  async *paginate<
    I extends { pageToken?: string },
    O extends { nextPageToken: string },
    K extends ListKey<O>,
  >(
    method: Unary<I, O>,
    request: I,
    items: K,
    options?: CallOptions,
  ): AsyncGenerator<ItemOf<O, K>, void, undefined> {
    let pageToken = request.pageToken ?? '';
    do {
      const page = await method({ ...request, pageToken }, options);
      yield* page[items] as ItemOf<O, K>[];
      pageToken = page.nextPageToken;
    } while (pageToken !== '');
  }

  /**
   * Follows WatchEmails: yields each change, and when the stream breaks with UNAVAILABLE
   * reconnects (with backoff) after the last revision seen, a change's or a progress message's,
   * so nothing is lost or repeated. `includeCurrent` is asked for on the first connect only; if
   * the stream breaks before the current state was complete (nothing newer seen yet), it is asked
   * for again and emails already delivered unchanged are skipped. Stop with the signal, or by
   * leaving the `for await` loop. Any other error (REVISION_EXPIRED, ...) ends it by throwing.
   */
  async *followEmails(
    request: WatchEmailsRequest,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<EmailChange__Output, void, undefined> {
    const { signal } = options;
    let last: string | undefined;
    let snapshot = request.includeCurrent === true; // still inside the current-state part
    const delivered = new Set<string>(); // current-state emails yielded, by email, status and time
    const messages = this.follow<WatchEmailsResponse__Output>({
      signal,
      open: () => {
        // Broken inside the current state: it comes again under the revision the new stream
        // begins at, so that is the one to recognise it by.
        if (snapshot) last = undefined;
        const resume = last !== undefined && !snapshot;
        return this.emails.watchEmails(
          resume ? { ...request, includeCurrent: false, afterRevision: last } : request,
          { signal },
        );
      },
      take: (message) => {
        if (message.progress) {
          last = message.progress.revision;
          snapshot = false;
          return false;
        }
        const change = message.change;
        if (!change) return false;
        if (snapshot && (last === undefined || change.revision === last)) {
          last = change.revision;
          const { emailId, status, updateTime } = change.email ?? {};
          const key = `${emailId}/${status}/${JSON.stringify(updateTime)}`;
          if (delivered.has(key)) return false;
          delivered.add(key);
          return true;
        }
        snapshot = false;
        last = change.revision;
        return true;
      },
    });
    for await (const message of messages) yield message.change as EmailChange__Output;
  }

  /**
   * Follows WatchEntityRequests: yields each request to the ERP as it is made, and when the
   * stream breaks with UNAVAILABLE reconnects (with backoff) after the last request id seen, so
   * none is lost or repeated. Stop with the signal, or by leaving the `for await` loop. Any other
   * error ends it by throwing.
   */
  async *followEntityRequests(
    request: WatchEntityRequestsRequest = {},
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<EntityRequest__Output, void, undefined> {
    const { signal } = options;
    // int64 as a decimal string; BigInt, since ids may pass Number.MAX_SAFE_INTEGER.
    let last = BigInt(String(request.afterEntityRequestId ?? 0));
    const messages = this.follow<WatchEntityRequestsResponse__Output>({
      signal,
      open: () =>
        this.entityRequests.watchEntityRequests(
          { ...request, afterEntityRequestId: last.toString() },
          { signal },
        ),
      take: (message) => {
        const id = message.entityRequest?.entityRequestId;
        if (!id) return false;
        if (BigInt(id) > last) last = BigInt(id);
        return true;
      },
    });
    for await (const message of messages) yield message.entityRequest as EntityRequest__Output;
  }

  /**
   * Follows WatchMassMailing: yields the whole mailing at once and after each batch committed,
   * and ends when the server ends the stream, after the snapshot that is DONE. A stream broken
   * with UNAVAILABLE is reconnected (with backoff) and starts again with the current snapshot.
   * Stop early with the signal, or by leaving the `for await` loop. Any other error (NOT_FOUND,
   * ...) ends it by throwing.
   */
  async *followMassMailing(
    massMailingId: string,
    options: { signal?: AbortSignal } = {},
  ): AsyncGenerator<MassMailing__Output, void, undefined> {
    const { signal } = options;
    const messages = this.follow<WatchMassMailingResponse__Output>({
      signal,
      open: () => this.mailings.watchMassMailing({ massMailingId }, { signal }),
      take: (message) => message.massMailing !== null,
      endsWithStream: true,
    });
    for await (const message of messages) yield message.massMailing as MassMailing__Output;
  }

  /**
   * The reconnecting loop of the follow* methods: opens a stream with `open` (which builds the
   * request from what was seen so far), yields each message `take` accepts, and reconnects with
   * backoff when the stream breaks with UNAVAILABLE (or, unless `endsWithStream`, ends). Every
   * message received resets the backoff. Returns when the signal aborts, or when the stream ends
   * normally if `endsWithStream`; throws any other error.
   */
  private async *follow<M>(loop: {
    open: () => grpc.ClientReadableStream<M>;
    take: (message: M) => boolean;
    signal?: AbortSignal;
    endsWithStream?: boolean;
  }): AsyncGenerator<M, void, undefined> {
    const { signal } = loop;
    let failures = 0;
    while (!signal?.aborted) {
      const call = loop.open();
      try {
        for await (const message of call as AsyncIterable<M>) {
          failures = 0;
          if (loop.take(message)) yield message;
        }
        if (loop.endsWithStream) return;
      } catch (error) {
        if (signal?.aborted) return;
        if ((error as grpc.ServiceError).code !== grpc.status.UNAVAILABLE) throw error;
      } finally {
        call.cancel();
      }
      failures += 1;
      try {
        await sleep(this.backoffMs(failures), undefined, { signal });
      } catch {
        return; // aborted while waiting
      }
    }
  }

  private wrap(ctor: ClientClass): Record<string, unknown> {
    const client = new ctor(this.options.address, grpc.credentials.createInsecure(), {
      channelOverride: this.channel,
      interceptors: this.options.interceptors,
    });
    this.clients.push(client);
    const methods: Record<string, unknown> = {};
    for (const [name, definition] of Object.entries(ctor.service)) {
      if (definition.requestStream) continue; // erpmail has no client-streaming calls
      const lower = name[0].toLowerCase() + name.slice(1);
      const raw = (client as unknown as Record<string, (...args: unknown[]) => unknown>)[name].bind(
        client,
      );
      methods[lower] = definition.responseStream
        ? (request: unknown, options: CallOptions = {}) => {
            const call = raw(request, this.metadata(options)) as grpc.ClientReadableStream<unknown>;
            call.once('close', cancelOnAbort(call, options.signal));
            return call;
          }
        : this.unary(name, raw, hasRequestId(definition));
    }
    return methods;
  }

  private unary(name: string, raw: (...args: unknown[]) => unknown, requestId: boolean) {
    const idempotent = requestId || READ_ONLY.test(name);
    return async (
      request: Record<string, unknown>,
      options: CallOptions = {},
    ): Promise<unknown> => {
      if (requestId && !request.requestId) {
        // Filled once, before the first attempt, so that every retry names the same request.
        request = { ...request, requestId: randomUUID() };
      }
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.once(raw, request, options);
        } catch (error) {
          const retry =
            idempotent &&
            (error as grpc.ServiceError).code === grpc.status.UNAVAILABLE &&
            attempt < this.retry.maxAttempts &&
            !options.signal?.aborted;
          if (!retry) throw error;
          await sleep(this.backoffMs(attempt), undefined, { signal: options.signal });
        }
      }
    };
  }

  private once(
    raw: (...args: unknown[]) => unknown,
    request: unknown,
    options: CallOptions,
  ): Promise<unknown> {
    const deadline =
      Date.now() + (options.deadlineMs ?? this.options.deadlineMs ?? DEFAULT_DEADLINE_MS);
    return new Promise((resolve, reject) => {
      let forget = (): void => undefined;
      const call = raw(
        request,
        this.metadata(options),
        { deadline },
        (error: grpc.ServiceError | null, response: unknown) => {
          forget();
          if (error) reject(error);
          else resolve(response);
        },
      ) as grpc.ClientUnaryCall;
      forget = cancelOnAbort(call, options.signal);
    });
  }

  private metadata(options: CallOptions): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.options.apiKey) metadata.set('authorization', `Bearer ${this.options.apiKey}`);
    if (this.options.actor) metadata.set('x-erpmail-actor', this.options.actor);
    for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.set(key, value);
    return metadata;
  }

  /** Exponential backoff with full jitter, so that many clients do not retry in step. */
  private backoffMs(failures: number): number {
    const ceiling = Math.min(
      this.retry.maxBackoffMs,
      this.retry.initialBackoffMs * 2 ** (failures - 1),
    );
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}

type ListKey<O> = { [K in keyof O]: O[K] extends readonly unknown[] ? K : never }[keyof O];
type ItemOf<O, K extends keyof O> = O[K] extends readonly (infer T)[] ? T : never;

function hasRequestId(definition: grpc.MethodDefinition<unknown, unknown>): boolean {
  const type = (
    definition as unknown as { requestType?: { type?: { field?: { name: string }[] } } }
  ).requestType;
  // The descriptor names fields as the loader does: camelCase, since keepCase is false.
  return type?.type?.field?.some((field) => field.name === 'requestId') ?? false;
}

/** Cancels the call when the signal fires; returns what stops listening once the call ended. */
function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => undefined;
  const cancel = (): void => call.cancel();
  if (signal.aborted) cancel();
  else signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

function pem(value: Buffer | string | undefined): Buffer | null {
  if (value === undefined) return null;
  return typeof value === 'string' ? Buffer.from(value) : value;
}
