import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeError } from '../src';
import { callsTo, connect, createAccount, tap, LIMIT } from './support';

const LOST = (call: { status?: grpc.StatusObject }): grpc.StatusObject => ({
  code: grpc.status.UNAVAILABLE,
  details: 'reply lost by the test',
  metadata: new grpc.Metadata(),
});

// The server handles the first CreateEmail, but the interceptor turns its reply into
// UNAVAILABLE, as a connection lost after the work was done.
test('a retried create with the filled-in request_id returns the same email', LIMIT, async () => {
  const wire = tap({
    status: (call, index) =>
      call.path.endsWith('/CreateEmail') && index === 0 ? LOST(call) : undefined,
  });
  const client = connect({ interceptors: [wire.interceptor] });
  try {
    const accountId = await createAccount(client);
    const { emails } = await client.emails.createEmail({
      email: { accountId, subject: 'Order 7', to: [{ address: 'customer@example.com' }] },
    });

    const attempts = callsTo(wire, 'CreateEmail');
    assert.equal(attempts.length, 2);
    const [firstId, secondId] = attempts.map((a) => a.requests[0].requestId as string);
    assert.match(firstId, /^[0-9a-f-]{36}$/);
    assert.equal(secondId, firstId);
    assert.equal(emails[0].emailId, attempts[0].responses[0].emails[0].emailId);
    const { emails: stored } = await client.emails.listEmails({ accountId });
    assert.deepEqual(
      stored.map((e) => e.emailId),
      [emails[0].emailId],
    );
  } finally {
    client.close();
  }
});

test('a call that is neither a read nor carries a request_id is not retried', LIMIT, async () => {
  const wire = tap({
    status: (call) => (call.path.endsWith('/DeleteAccount') ? LOST(call) : undefined),
  });
  const client = connect({ interceptors: [wire.interceptor] });
  try {
    const accountId = await createAccount(client);
    const error = await client.accounts.deleteAccount({ accountId }).then(
      () => assert.fail('the lost reply was not reported'),
      (e: unknown) => e,
    );
    assert.equal(decodeError(error).codeName, 'UNAVAILABLE');
    assert.equal(callsTo(wire, 'DeleteAccount').length, 1);
  } finally {
    client.close();
  }
});

test('a read is retried on UNAVAILABLE a bounded number of times', LIMIT, async () => {
  const wire = tap({
    status: (call) => (call.path.endsWith('/GetAccount') ? LOST(call) : undefined),
  });
  const client = connect({
    interceptors: [wire.interceptor],
    retry: { maxAttempts: 3, initialBackoffMs: 10 },
  });
  try {
    const error = await client.accounts.getAccount({ accountId: 'any' }).then(
      () => assert.fail('a lost reply was reported as success'),
      (e: unknown) => e,
    );
    assert.equal(decodeError(error).codeName, 'UNAVAILABLE');
    assert.equal(callsTo(wire, 'GetAccount').length, 3);
  } finally {
    client.close();
  }
});
