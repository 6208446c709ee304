import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromRule } from './classify.js';
import { classifyStreamEvent } from './classify-stream-event.js';
import { RULES } from './rules.js';

test('error events inside a stream are classified by their body, never by an invented status', () => {
  const cases: Array<[unknown, string, string]> = [
    [
      { error: { type: 'insufficient_quota', code: 'insufficient_quota', message: 'quota' } },
      'llm.quota',
      'quota_exceeded',
    ],
    [{ error: { type: 'rate_limit_error', message: 'slow down' } }, 'http.too_many_requests', 'rate_limited'],
    [{ error: { type: 'overloaded_error', message: 'Overloaded' } }, 'llm.overloaded', 'overloaded'],
    [{ error: { type: 'server_error', message: 'The server had an error' } }, 'llm.stream_error', 'upstream_server'],
    [{ error: { code: 'context_length_exceeded', message: 'too long' } }, 'llm.context_length', 'context_length'],
    // Gemini: a Google RPC status name and the HTTP status as a number.
    [
      { error: { code: 503, message: 'The model is overloaded.', status: 'UNAVAILABLE' } },
      'http.unavailable',
      'overloaded',
    ],
    [
      { error: { code: 429, message: 'Quota', status: 'RESOURCE_EXHAUSTED' } },
      'http.too_many_requests',
      'rate_limited',
    ],
    [{ error: { code: 500, message: 'Internal error' } }, 'http.server_error', 'upstream_server'],
  ];
  for (const [event, rule, category] of cases) {
    const error = classifyStreamEvent(event, { dependency: 'openai:gpt' });
    assert.equal(error?.rule, rule, JSON.stringify(event));
    assert.equal(error?.category, category);
    assert.equal(error?.dependency, 'openai:gpt');
  }
  assert.equal(classifyStreamEvent({ choices: [{ delta: { content: 'hi' } }] }), undefined);
  assert.equal(classifyStreamEvent({ error: 'text' }), undefined);
});

test('fromRule: a detected failure carries its row, its redacted message and the row user message', () => {
  const error = fromRule(RULES.proxy.stream_cut, {
    domain: 'LLM',
    dependency: 'openai:gpt',
    message: 'stream from https://api.example.com/v1?key=sk-proj-abcdefghijklmnop1234 ended early',
  });
  assert.equal(error.rule, 'proxy.stream_cut');
  assert.equal(error.code, 'LLM_CONNECTION_FAILED');
  assert.equal(error.userMessage, 'The upstream ended the stream before the answer was complete.');
  assert.ok(!error.message.includes('sk-proj-abcdefghijklmnop1234'));
});
