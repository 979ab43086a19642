import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { toStruct, type ErpmailClient } from '../src';
import { callsTo, connect, createAccount, tap, uniqueId, LIMIT } from './support';

/** A mailing of a fresh template to `count` recipients; returns its id. */
async function startMailing(client: ErpmailClient, count: number): Promise<string> {
  const accountId = await createAccount(client);
  const templateId = uniqueId('ts-mailing');
  await client.templates.createTemplate({
    template: {
      templateId,
      description: 'A mailing the TypeScript client follows',
      fromAccountId: accountId,
      to: '((Email))',
      subject: 'News for ((Name))',
      textBody: 'Dear ((Name)),\n\nthe news.\n',
    },
  });
  const { massMailing } = await client.mailings.startMassMailing({
    templateId,
    recipients: Array.from({ length: count }, (_, i) => ({
      recipientKey: `member-${i}`,
      data: toStruct({ Name: `Member ${i}`, Email: `member${i}@customer.test` }),
    })),
  });
  return massMailing?.massMailingId ?? '';
}

test(
  'followMassMailing yields snapshots and ends by itself when the mailing is DONE',
  LIMIT,
  async () => {
    const client = connect();
    try {
      const massMailingId = await startMailing(client, 3);
      const snapshots = [];
      for await (const mailing of client.followMassMailing(massMailingId, {
        signal: AbortSignal.timeout(15_000),
      })) {
        snapshots.push(mailing);
      }
      assert.ok(snapshots.length >= 1);
      assert.ok(snapshots.every((s) => s.massMailingId === massMailingId && s.total === 3));
      const last = snapshots[snapshots.length - 1];
      assert.equal(last.status, 'MASS_MAILING_STATUS_DONE');
      assert.equal(last.queued, 3);
      assert.equal(last.failed, 0);
      assert.ok(snapshots.slice(0, -1).every((s) => s.status === 'MASS_MAILING_STATUS_RUNNING'));
    } finally {
      client.close();
    }
  },
);

// The break: the test's interceptor ends the first WatchMassMailing call with UNAVAILABLE right
// after its first snapshot, before the server could end it.
test(
  'followMassMailing reconnects after a break and still follows the mailing to DONE',
  LIMIT,
  async () => {
    const wire = tap({
      afterResponse: (call, index) =>
        call.path.endsWith('/WatchMassMailing') && index === 0 && call.responses.length === 1
          ? { code: grpc.status.UNAVAILABLE, details: 'connection broken by the test' }
          : undefined,
    });
    const client = connect({ interceptors: [wire.interceptor] });
    try {
      const massMailingId = await startMailing(client, 2);
      let last;
      for await (const mailing of client.followMassMailing(massMailingId, {
        signal: AbortSignal.timeout(15_000),
      })) {
        last = mailing;
      }
      assert.equal(last?.status, 'MASS_MAILING_STATUS_DONE');
      assert.equal(last?.queued, 2);

      const watches = callsTo(wire, 'WatchMassMailing');
      assert.equal(watches.length, 2);
      assert.equal(watches[0].status?.code, grpc.status.UNAVAILABLE);
      assert.equal(watches[1].requests[0].massMailingId, massMailingId);
      assert.equal(watches[1].status?.code, grpc.status.OK);
    } finally {
      client.close();
    }
  },
);

test(
  'followMassMailing throws NOT_FOUND for an unknown mailing instead of reconnecting',
  LIMIT,
  async () => {
    const wire = tap();
    const client = connect({ interceptors: [wire.interceptor] });
    try {
      await assert.rejects(
        async () => {
          for await (const _ of client.followMassMailing('999999999', {
            signal: AbortSignal.timeout(15_000),
          })) {
            assert.fail('an unknown mailing has no snapshot');
          }
        },
        (error: grpc.ServiceError) => error.code === grpc.status.NOT_FOUND,
      );
      assert.equal(callsTo(wire, 'WatchMassMailing').length, 1);
    } finally {
      client.close();
    }
  },
);
