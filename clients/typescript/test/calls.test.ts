import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_KEY, callsTo, connect, createAccount, tap, uniqueId, LIMIT } from './support';

test(
  'every unary call carries the key and the acting user, and the server records the actor',
  LIMIT,
  async () => {
    const wire = tap();
    const actor = uniqueId('clerk');
    const client = connect({ actor, interceptors: [wire.interceptor] });
    try {
      const accountId = await createAccount(client);
      const { emails } = await client.emails.createEmail({
        email: { accountId, subject: 'Invoice 42', to: [{ address: 'customer@example.com' }] },
      });
      assert.equal(emails.length, 1);
      assert.equal(emails[0].status, 'EMAIL_STATUS_DRAFT');
      assert.equal(emails[0].createdBy, actor);

      const { email } = await client.emails.getEmail({ emailId: emails[0].emailId });
      assert.equal(email?.subject, emails[0].subject);
      for (const call of wire.calls) {
        assert.deepEqual(call.metadata?.get('x-erpmail-actor'), [actor]);
        assert.deepEqual(call.metadata?.get('authorization'), API_KEY ? [`Bearer ${API_KEY}`] : []);
      }
      assert.equal(callsTo(wire, 'GetEmail').length, 1);
    } finally {
      client.close();
    }
  },
);

test('int64 values arrive as decimal strings and enums as their names', LIMIT, async () => {
  const client = connect();
  try {
    const accountId = await createAccount(client);
    const { emails } = await client.emails.createEmail({
      email: {
        accountId,
        to: [{ address: 'customer@example.com' }],
        attachments: [{ fileName: 'a.txt', content: Buffer.from('12345') }],
      },
    });
    const { email } = await client.emails.getEmail({ emailId: emails[0].emailId });
    assert.equal(email?.attachments[0].size, '5');
    assert.equal(email?.direction, 'EMAIL_DIRECTION_OUTGOING');
  } finally {
    client.close();
  }
});
