import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { callsTo, connect, createAccount, createDraft, tap, LIMIT } from './support';

// The break: the test's interceptor ends the first WatchEmails call with UNAVAILABLE right after
// its third message (the current email, the progress message that ends the current state, the
// second email), cancelling the call on the server too, as a dropped connection would.
test('followEmails resumes after a break without losing or repeating a change', LIMIT, async () => {
  const wire = tap({
    afterResponse: (call, index) =>
      call.path.endsWith('/WatchEmails') && index === 0 && call.responses.length === 3
        ? { code: grpc.status.UNAVAILABLE, details: 'connection broken by the test' }
        : undefined,
  });
  const client = connect({ interceptors: [wire.interceptor] });
  const writer = connect();
  try {
    const accountId = await createAccount(writer);
    const first = await createDraft(writer, accountId, 'first');
    const expected = [first];
    const seen: { emailId: string; revision: string }[] = [];
    for await (const change of client.followEmails(
      { accountId, includeCurrent: true },
      { signal: AbortSignal.timeout(15_000) },
    )) {
      seen.push({ emailId: change.email?.emailId ?? '', revision: change.revision });
      if (seen.length === 1) expected.push(await createDraft(writer, accountId, 'second'));
      // Written while the stream is broken and the client waits to reconnect.
      if (seen.length === 2) expected.push(await createDraft(writer, accountId, 'third'));
      if (seen.length === 3) expected.push(await createDraft(writer, accountId, 'fourth'));
      if (seen.length === 4) break;
    }
    assert.deepEqual(
      seen.map((s) => s.emailId),
      expected,
    );
    const revisions = seen.slice(1).map((s) => BigInt(s.revision));
    assert.ok(
      revisions.every((r, i) => i === 0 || r > revisions[i - 1]),
      `revisions not increasing: ${revisions.join(', ')}`,
    );

    const watches = callsTo(wire, 'WatchEmails');
    assert.equal(watches.length, 2);
    assert.equal(watches[0].status?.code, grpc.status.UNAVAILABLE);
    assert.equal(watches[0].requests[0].includeCurrent, true);
    assert.equal(watches[1].requests[0].includeCurrent, false);
    assert.equal(String(watches[1].requests[0].afterRevision), seen[1].revision);
  } finally {
    client.close();
    writer.close();
  }
});

test('followEmails stops when its signal is aborted', LIMIT, async () => {
  const client = connect();
  try {
    const accountId = await createAccount(client);
    await createDraft(client, accountId, 'only');
    const controller = new AbortController();
    let changes = 0;
    for await (const change of client.followEmails(
      { accountId, includeCurrent: true },
      { signal: controller.signal },
    )) {
      assert.equal(change.email?.subject.startsWith('only'), true);
      changes += 1;
      controller.abort();
    }
    assert.equal(changes, 1);
  } finally {
    client.close();
  }
});
