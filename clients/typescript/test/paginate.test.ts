import assert from 'node:assert/strict';
import { test } from 'node:test';
import { callsTo, connect, createAccount, createDraft, tap, LIMIT } from './support';

test('paginate visits every item once over several pages', LIMIT, async () => {
  const wire = tap();
  const client = connect({ interceptors: [wire.interceptor] });
  try {
    const accountId = await createAccount(client);
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push(await createDraft(client, accountId, `Draft ${i}`));

    const seen: string[] = [];
    for await (const email of client.paginate(
      client.emails.listEmails,
      { accountId, pageSize: 3 },
      'emails',
    )) {
      seen.push(email.emailId);
    }
    assert.deepEqual([...seen].sort(), [...created].sort());
    assert.equal(new Set(seen).size, seen.length);
    const pages = callsTo(wire, 'ListEmails');
    assert.equal(pages.length, 3);
    assert.equal(pages[0].requests[0].pageToken, '');
    assert.notEqual(pages[1].requests[0].pageToken, '');
  } finally {
    client.close();
  }
});
