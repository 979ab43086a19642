import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeError } from '../src';
import { connect, uniqueId, LIMIT } from './support';

test('INVALID_ARGUMENT decodes to the offending fields', LIMIT, async () => {
  const client = connect();
  try {
    const error = await client.accounts
      .createAccount({
        account: {
          accountId: uniqueId('ts'),
          emailAddress: 'not an address',
          outgoing: { host: '127.0.0.1', port: 70000, security: 'CONNECTION_SECURITY_NONE' },
        },
      })
      .then(
        () => assert.fail('an invalid account was accepted'),
        (e: unknown) => e,
      );
    const details = decodeError(error);
    assert.equal(details.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(details.codeName, 'INVALID_ARGUMENT');
    const fields = details.fieldViolations.map((v) => v.field);
    assert.ok(fields.includes('account.outgoing.port'), `fields named: ${fields.join(', ')}`);
    assert.ok(fields.includes('account.email_address'), `fields named: ${fields.join(', ')}`);
    assert.ok(details.fieldViolations.every((v) => v.description !== ''));
  } finally {
    client.close();
  }
});

test('NOT_FOUND decodes to the resource that is missing', LIMIT, async () => {
  const client = connect();
  try {
    const error = await client.accounts.getAccount({ accountId: 'no-such-account' }).then(
      () => assert.fail('an unknown account was found'),
      (e: unknown) => e,
    );
    const details = decodeError(error);
    assert.equal(details.codeName, 'NOT_FOUND');
    assert.ok(details.resources.length > 0, 'no ResourceInfo');
    assert.match(details.resources[0].resourceName, /no-such-account/);
  } finally {
    client.close();
  }
});

test('decodeError rethrows what is not a gRPC error', LIMIT, () => {
  const bug = new TypeError('not from the server');
  assert.throws(() => decodeError(bug), bug);
});
