import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { RULES } from 'breakwater/rules';
import { conformance, thrownBy } from '../support/conformance.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

// The real AWS S3 client (one attempt) against a local server answering S3's XML errors.
const proof = conformance([RULES.aws]);
let server: ScriptedServer;
let s3: S3Client;

const xmlError = (code: string, message: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>R1</RequestId><HostId>H1</HostId></Error>`;
const get = (client = s3) => client.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'key' }));
const answer = (status: number, code: string, headers: Record<string, string> = {}) =>
  server.script({
    status,
    headers: { 'content-type': 'application/xml', ...headers },
    body: xmlError(code, `${code} happened`),
  });

before(async () => {
  server = await startScriptedServer();
  s3 = new S3Client({
    endpoint: server.url,
    region: 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
  });
});
after(() => server.close());

describe('AWS SDK v3 errors', () => {
  test('503 SlowDown and 400 ThrottlingException are throttling (rate_limited, retryable)', async () => {
    answer(503, 'SlowDown', { 'retry-after': '2' });
    const error = proof.expect(await thrownBy(get), {
      rule: RULES.aws.throttling,
      code: 'AWS_RATE_LIMITED',
      retryAfterMs: 2000,
      dependency: 'aws',
    });
    assert.equal(error.details?.['awsErrorName'], 'SlowDown');
    answer(400, 'ThrottlingException');
    proof.expect(await thrownBy(get), { rule: RULES.aws.throttling });
  });

  test('500 InternalError is an upstream server error; 404 NoSuchKey is not found', async () => {
    answer(500, 'InternalError');
    proof.expect(await thrownBy(get), { rule: RULES.http.server_error, code: 'AWS_SERVER_ERROR' });
    answer(404, 'NoSuchKey');
    proof.expect(await thrownBy(get), { rule: RULES.http.not_found, code: 'AWS_NOT_FOUND', status: 502 });
  });

  test('a bad access key is authentication even though S3 answers 403', async () => {
    answer(403, 'InvalidAccessKeyId');
    const error = proof.expect(await thrownBy(get), {
      rule: RULES.aws.credentials,
      code: 'AWS_AUTH_FAILED',
      status: 502,
    });
    assert.ok(!JSON.stringify(error).includes('wJalrXUtnFEMI'));
  });

  test('a request timeout in the HTTP handler is a timeout', async () => {
    server.script({ hang: true });
    const impatient = new S3Client({
      endpoint: server.url,
      region: 'us-east-1',
      forcePathStyle: true,
      maxAttempts: 1,
      credentials: { accessKeyId: 'AKIAABCDEFGHIJKLMNOP', secretAccessKey: 'secret' },
      requestHandler: new NodeHttpHandler({ requestTimeout: 100, throwOnRequestTimeout: true }),
    });
    proof.expect(await thrownBy(() => get(impatient)), { rule: RULES.aws.timeout, code: 'AWS_TIMEOUT' });
  });

  test('every AWS row reachable from S3 is proven here', () => {
    // No S3 error carries smithy's retryable trait ($retryable without throttling); that row is
    // exercised by DynamoDB-style errors in the unit tests.
    proof.assertCovered([RULES.aws.transient]);
  });
});
