import { tableEnvVar, tableNames } from '#shared/config/table-names.js';

// Unit tests run no engine: the code under test reads its configuration at first use, as on Lambda, so
// give it placeholder table names, a callback URL and credentials. Nothing listens at these addresses;
// a unit test that reaches one injects a fake client (aws-sdk-client-mock) or a local server of its own.
const placeholders: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'unit-test',
  AWS_SECRET_ACCESS_KEY: 'unit-test',
  WS_CALLBACK_URL: 'http://127.0.0.1:9/unit-test',
  ...Object.fromEntries(tableNames.map((name) => [tableEnvVar(name), `unit-${name}`])),
};
for (const [name, value] of Object.entries(placeholders)) process.env[name] ??= value;
