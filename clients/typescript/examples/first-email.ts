// The first email: an account on the sandbox, a template with a ((Name)) place-holder, one email
// sent from it, followed on WatchEmails until it is processed (exit 0) or failed (exit 1).
// Works against `./scripts/dev` with no settings; ERPMAIL_* variables point it elsewhere.
import * as grpc from '@grpc/grpc-js';
import { ErpmailClient, decodeError, isServiceError, toStruct } from '../src';

const env = process.env;
const sandboxHost = env.ERPMAIL_SANDBOX_HOST ?? '127.0.0.1';
const mailbox = env.ERPMAIL_SANDBOX_ADDRESS ?? 'erp@sandbox.test';
const ACCOUNT_ID = 'first-email';
const TEMPLATE_ID = 'first-email-welcome';

async function main(): Promise<number> {
  const client = new ErpmailClient({
    address: env.ERPMAIL_ADDRESS ?? '127.0.0.1:50051',
    apiKey: env.ERPMAIL_API_KEY || undefined,
  });
  try {
    const account = {
      accountId: ACCOUNT_ID,
      emailAddress: mailbox,
      displayName: 'ERP',
      incoming: {
        protocol: 'INCOMING_PROTOCOL_IMAP' as const,
        host: sandboxHost,
        port: Number(env.ERPMAIL_SANDBOX_IMAP_PORT ?? 3143),
        security: 'CONNECTION_SECURITY_NONE' as const, // the sandbox's plain ports
        username: mailbox,
        password: env.ERPMAIL_SANDBOX_PASSWORD ?? 'erp-sandbox',
      },
      outgoing: {
        host: sandboxHost,
        port: Number(env.ERPMAIL_SANDBOX_SMTP_PORT ?? 3025),
        security: 'CONNECTION_SECURITY_NONE' as const,
        requiresAuthentication: true,
      },
    };
    await createOrUpdate(
      () => client.accounts.createAccount({ account }),
      // A second run against the same server keeps the account but follows the sandbox's ports.
      () =>
        client.accounts.updateAccount({
          account,
          updateMask: {
            paths: ['incoming.host', 'incoming.port', 'outgoing.host', 'outgoing.port'],
          },
        }),
    );
    await createOrUpdate(
      () =>
        client.templates.createTemplate({
          template: {
            templateId: TEMPLATE_ID,
            description: 'Welcome email of the TypeScript first-email example',
            fromAccountId: ACCOUNT_ID,
            to: '((Email))',
            subject: 'Welcome, ((Name))',
            textBody: 'Dear ((Name)),\n\nwelcome to erpmail.\n',
          },
        }),
      async () => undefined, // the template is the same on every run
    );
    const { email } = await client.mailings.sendTemplateEmail({
      templateId: TEMPLATE_ID,
      data: toStruct({ Name: 'Ada Lovelace', Email: 'ada@customer.test' }),
    });
    const emailId = email?.emailId ?? '';
    console.log(`queued email ${emailId}: ${email?.subject}`);

    const signal = AbortSignal.timeout(Number(env.ERPMAIL_EXAMPLE_TIMEOUT_MS ?? 60_000));
    for await (const change of client.followEmails(
      { accountId: ACCOUNT_ID, includeCurrent: true },
      { signal },
    )) {
      if (change.email?.emailId !== emailId) continue;
      if (change.email.status === 'EMAIL_STATUS_PROCESSED') {
        console.log(
          `email ${emailId} PROCESSED: the sandbox accepted it (revision ${change.revision})`,
        );
        return 0;
      }
      if (change.email.status === 'EMAIL_STATUS_FAILED') {
        console.error(`email ${emailId} FAILED: ${change.email.error}`);
        return 1;
      }
      console.log(`email ${emailId} is ${change.email.status}`);
    }
    console.error(`email ${emailId} was not processed in time`);
    return 1;
  } finally {
    client.close();
  }
}

/** Runs `create`; when the thing already exists (a second run), runs `update` instead. */
async function createOrUpdate(
  create: () => Promise<unknown>,
  update: () => Promise<unknown>,
): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!isServiceError(error) || error.code !== grpc.status.ALREADY_EXISTS) throw error;
    await update();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (isServiceError(error)) {
      const details = decodeError(error);
      console.error(`${details.codeName}: ${details.message}`);
      for (const violation of details.fieldViolations) {
        console.error(`  ${violation.field}: ${violation.description}`);
      }
    } else {
      console.error(error);
    }
    process.exit(1);
  },
);
