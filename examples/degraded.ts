// A fallback answer is marked degraded, so the HTTP layer can say so and metrics can count it.
import { fallback, pipeline, retry, timeout } from 'breakwater';
import { degradationSignals } from 'breakwater/agent';

const cache = new Map([['What is breakwater?', 'An error-handling and resilience layer (cached answer).']]);
const answer = pipeline(
  fallback(
    { when: ['context_length'], use: () => 'Answer from the larger-context model.', reason: 'larger_context_model' },
    {
      when: ['overloaded', 'network', 'timeout', 'upstream_server'],
      use: (_e, ctx) => cache.get(ctx.key) ?? 'No answer.',
      reason: 'cache',
    },
  ),
  retry({ maxAttempts: 2 }),
  timeout(1_000),
);

const overloaded = async (): Promise<string> => {
  throw Object.assign(new Error('Overloaded'), { status: 529, headers: { 'retry-after': '0' } });
};
const { value, ctx } = await answer.executeWithContext(overloaded, { key: 'What is breakwater?' });
const { headers, field } = degradationSignals(ctx.degraded);
console.log(`answer: ${value}`);
console.log(`headers: ${JSON.stringify(headers)}`);
console.log(`body field: ${JSON.stringify(field)}`);
