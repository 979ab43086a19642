import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadErpmailPackage } from '../src';
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

test('every erpmail service but the sandbox is a property of the client', LIMIT, async () => {
  const erpmail = (loadErpmailPackage().erpmail as grpc.GrpcObject).v1 as grpc.GrpcObject;
  const services = Object.entries(erpmail)
    .filter(([name, value]) => typeof value === 'function' && 'service' in value)
    .map(([name]) => name)
    .filter((name) => name !== 'SandboxService');
  const client = connect();
  try {
    const offered = Object.values(client).filter((value) => value && typeof value === 'object');
    assert.ok(services.length >= 13);
    for (const name of services) {
      const method = Object.keys((erpmail[name] as grpc.ServiceClientConstructor).service)[0];
      const camel = method.charAt(0).toLowerCase() + method.slice(1);
      assert.ok(
        offered.some((service) => typeof (service as Record<string, unknown>)[camel] === 'function'),
        `${name} (${method}) is not on the client`,
      );
    }
  } finally {
    client.close();
  }
});
