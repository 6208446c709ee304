// Many items, bounded concurrency, successes and failures side by side, a failure budget.
import { pipeline, retry, timeout } from 'breakwater';
import { runBatch } from 'breakwater/batch';

const documents = Array.from({ length: 12 }, (_, i) => `doc-${i}`);
const result = await runBatch(
  documents,
  async (doc) => {
    if (doc === 'doc-3') throw Object.assign(new Error('bad request: document too long'), { status: 400, headers: {} });
    if (doc === 'doc-7')
      throw Object.assign(new Error('rate limited'), { status: 429, headers: { 'retry-after': '60' } });
    return { doc, embedding: [0.1, 0.2] };
  },
  {
    concurrency: 4,
    // 10 s per item in all, 5 s per attempt: the 429 asks for 60 s, more than is left, so it fails
    // at once (carrying retryAfterMs) instead of waiting for a retry that could not happen.
    pipeline: pipeline(timeout(10_000), retry({ maxAttempts: 2 }), timeout(5_000)),
    maxFailureRatio: 0.5,
  },
);
console.log(`succeeded: ${result.succeeded.map((s) => s.item).join(', ')}`);
for (const failure of result.failed)
  console.log(`failed: ${failure.item} -> ${failure.error.code} (retryable ${failure.error.retryable})`);
console.log(`summary: ${JSON.stringify(result.summary)}`);
