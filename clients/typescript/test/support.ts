// What every test needs: the server and sandbox named by the ERPMAIL_* variables, a client for
// them, a fresh account of its own, and an interceptor to watch (or disturb) calls on the wire.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { ErpmailClient, type ErpmailClientOptions } from '../src';

const env = process.env;
export const ADDRESS = env.ERPMAIL_ADDRESS ?? '127.0.0.1:50051';
export const API_KEY = env.ERPMAIL_API_KEY || undefined;
const SANDBOX_HOST = env.ERPMAIL_SANDBOX_HOST ?? '127.0.0.1';
const SMTP_PORT = Number(env.ERPMAIL_SANDBOX_SMTP_PORT ?? 3025);
const MAILBOX = env.ERPMAIL_SANDBOX_ADDRESS ?? 'erp@sandbox.test';
const PASSWORD = env.ERPMAIL_SANDBOX_PASSWORD ?? 'erp-sandbox';

/** Every test ends, failing, instead of hanging when a change never comes. */
export const LIMIT = { timeout: 20_000 };

export function connect(options: Partial<ErpmailClientOptions> = {}): ErpmailClient {
  return new ErpmailClient({
    address: ADDRESS,
    apiKey: API_KEY,
    retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
    ...options,
  });
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** A send-only account on the sandbox's plain SMTP port, unique to the caller. */
export async function createAccount(client: ErpmailClient): Promise<string> {
  const accountId = uniqueId('ts');
  await client.accounts.createAccount({
    account: {
      accountId,
      emailAddress: MAILBOX,
      displayName: 'ERP',
      usage: 'ACCOUNT_USAGE_SEND_ONLY',
      incoming: { username: MAILBOX, password: PASSWORD },
      outgoing: {
        host: SANDBOX_HOST,
        port: SMTP_PORT,
        security: 'CONNECTION_SECURITY_NONE',
        requiresAuthentication: true,
      },
    },
  });
  return accountId;
}

/** A draft (never sent) from the account. */
export async function createDraft(
  client: ErpmailClient,
  accountId: string,
  subject: string,
): Promise<string> {
  const { emails } = await client.emails.createEmail({
    email: { accountId, subject, to: [{ address: 'customer@example.com' }], textBody: 'Hello.' },
  });
  return emails[0].emailId;
}

/** One call as the interceptor saw it. */
export interface TappedCall {
  /** `/erpmail.v1.EmailService/CreateEmail`. */
  path: string;
  metadata?: grpc.Metadata;
  requests: any[];
  responses: any[];
  status?: grpc.StatusObject;
}

export interface Tap {
  /** Each call made, in order. */
  calls: TappedCall[];
  interceptor: grpc.Interceptor;
}

/**
 * An interceptor that records every call; `disturb` may change a call's final status (a reply
 * that is lost) or end it early by returning a status from `afterResponse` (a broken stream).
 */
export function tap(
  disturb: {
    status?: (call: TappedCall, index: number) => grpc.StatusObject | undefined;
    afterResponse?: (
      call: TappedCall,
      index: number,
    ) => { code: grpc.status; details: string } | undefined;
  } = {},
): Tap {
  const calls: TappedCall[] = [];
  const interceptor: grpc.Interceptor = (options, nextCall) => {
    const tapped: TappedCall = {
      path: options.method_definition.path,
      requests: [],
      responses: [],
    };
    calls.push(tapped);
    const index = calls.filter((c) => c.path === tapped.path).length - 1;
    const call: grpc.InterceptingCall = new grpc.InterceptingCall(
      nextCall(options),
      new grpc.RequesterBuilder()
        .withStart((metadata, listener, next) => {
          tapped.metadata = metadata;
          next(
            metadata,
            new grpc.ListenerBuilder()
              .withOnReceiveMessage((message, nextMessage) => {
                tapped.responses.push(message);
                nextMessage(message);
                const end = disturb.afterResponse?.(tapped, index);
                if (end) call.cancelWithStatus(end.code, end.details);
              })
              .withOnReceiveStatus((status, nextStatus) => {
                const changed = disturb.status?.(tapped, index) ?? status;
                tapped.status = changed;
                nextStatus(changed);
              })
              .build(),
          );
        })
        .withSendMessage((message, next) => {
          tapped.requests.push(message);
          next(message);
        })
        .build(),
    );
    return call;
  };
  return { calls, interceptor };
}

export function callsTo(tapped: Tap, method: string): TappedCall[] {
  return tapped.calls.filter((call) => call.path.endsWith(`/${method}`));
}
