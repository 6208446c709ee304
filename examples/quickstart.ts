// The README's first command (until the gateway lands): a local "provider" that rate-limits once
// and then runs out of quota, and a client that classifies each failure and retries only what
// the classification says is retryable, exactly after the server's Retry-After.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { classifyResponse, toProblemDetails } from 'breakwater';

const answers = [
  {
    status: 429,
    headers: { 'retry-after-ms': '300' },
    body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } },
  },
  {
    status: 200,
    headers: {},
    body: { choices: [{ message: { role: 'assistant', content: 'Hello from the simulated provider' } }] },
  },
  {
    status: 429,
    headers: { 'retry-after': '1' },
    body: {
      error: { message: 'You exceeded your current quota', type: 'insufficient_quota', code: 'insufficient_quota' },
    },
  },
];
let received = 0;
const provider = createServer((_req, res) => {
  const answer = answers[Math.min(received++, answers.length - 1)]!;
  res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
  res.end(JSON.stringify(answer.body));
});
await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1/chat/completions`;

async function call(label: string): Promise<void> {
  for (let attempt = 1; attempt <= 3; attempt++) {
    const started = Date.now();
    const res = await fetch(url, { method: 'POST', body: '{}' });
    const body: unknown = await res.json();
    const error = classifyResponse(
      { status: res.status, headers: res.headers, url: res.url, body },
      { dependency: 'demo-llm', defaultDomain: 'LLM' },
    );
    if (!error) {
      console.log(`[${label}] attempt ${attempt}: ok -> ${JSON.stringify(body)}`);
      return;
    }
    console.log(
      `[${label}] attempt ${attempt}: ${error.code} (category ${error.category}, retryable ${error.retryable}, retry after ${error.retryAfterMs ?? '-'} ms)`,
    );
    if (!error.retryable || attempt === 3) {
      console.log(`[${label}] giving up; the client would see:`);
      console.log(JSON.stringify(toProblemDetails(error), null, 2));
      return;
    }
    await new Promise((r) => setTimeout(r, error.retryAfterMs ?? 100));
    console.log(`[${label}]   waited ${Date.now() - started} ms as the server asked`);
  }
}

await call('first call');
await call('second call');
console.log(`The provider received ${received} requests: the quota error was not retried.`);
provider.close();
