import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import type { ErpmailClient } from '../src';
import { callsTo, connect, createAccount, createDraft, tap, LIMIT } from './support';

/** Asks the ERP for a task from the email; returns the id of the entity request made. */
async function askForTask(client: ErpmailClient, emailId: string): Promise<string> {
  const { entityRequestIds } = await client.emails.createFromEmails({
    emailIds: [emailId],
    kind: 'CREATE_FROM_EMAILS_KIND_TASK',
  });
  return entityRequestIds[0];
}

// The break: the test's interceptor ends the first WatchEntityRequests call with UNAVAILABLE
// right after its first message, cancelling the call on the server too.
test(
  'followEntityRequests resumes after a break after the last request seen, without repeating one',
  LIMIT,
  async () => {
    const wire = tap({
      afterResponse: (call, index) =>
        call.path.endsWith('/WatchEntityRequests') && index === 0 && call.responses.length === 1
          ? { code: grpc.status.UNAVAILABLE, details: 'connection broken by the test' }
          : undefined,
    });
    const client = connect({ interceptors: [wire.interceptor] });
    const writer = connect();
    try {
      const accountId = await createAccount(writer);
      const drafts = [
        await createDraft(writer, accountId, 'first'),
        await createDraft(writer, accountId, 'second'),
        await createDraft(writer, accountId, 'third'),
      ];
      const expected = [await askForTask(writer, drafts[0])];
      const seen: { entityRequestId: string; emailId: string; kind: string }[] = [];
      for await (const request of client.followEntityRequests(
        { accountId },
        { signal: AbortSignal.timeout(15_000) },
      )) {
        seen.push({
          entityRequestId: request.entityRequestId,
          emailId: request.emailId,
          kind: request.kind,
        });
        // Asked while the stream is broken and the client waits to reconnect.
        if (seen.length === 1) expected.push(await askForTask(writer, drafts[1]));
        if (seen.length === 2) expected.push(await askForTask(writer, drafts[2]));
        if (seen.length === 3) break;
      }
      assert.deepEqual(
        seen.map((s) => s.entityRequestId),
        expected,
      );
      assert.deepEqual(
        seen.map((s) => s.emailId),
        drafts,
      );
      assert.ok(seen.every((s) => s.kind === 'ENTITY_REQUEST_KIND_CREATE_TASK'));

      const watches = callsTo(wire, 'WatchEntityRequests');
      assert.equal(watches.length, 2);
      assert.equal(watches[0].status?.code, grpc.status.UNAVAILABLE);
      assert.equal(watches[0].responses.length, 1);
      assert.equal(String(watches[1].requests[0].afterEntityRequestId), expected[0]);
      assert.equal(watches[1].requests[0].accountId, accountId);
    } finally {
      client.close();
      writer.close();
    }
  },
);

test('followEntityRequests stops when its signal is aborted', LIMIT, async () => {
  const client = connect();
  try {
    const accountId = await createAccount(client);
    const requested = await askForTask(client, await createDraft(client, accountId, 'only'));
    const controller = new AbortController();
    const seen: string[] = [];
    for await (const request of client.followEntityRequests(
      { accountId },
      { signal: controller.signal },
    )) {
      seen.push(request.entityRequestId);
      controller.abort();
    }
    assert.deepEqual(seen, [requested]);
  } finally {
    client.close();
  }
});
