import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { needService } from '../support/services.js';

// The README's second example, run for real against Redis and Postgres.
const skip = (await needService('redis')) || (await needService('postgres'));

test(
  'examples/llm-service.ts --demo: retries, cache, 422, degraded fallback, readiness, journal with the joined write',
  { skip },
  () => {
    const file = fileURLToPath(new URL('../../examples/llm-service.ts', import.meta.url));
    const run = spawnSync(process.execPath, ['--conditions=breakwater-source', '--import', 'tsx', file, '--demo'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const out = run.stdout;
    assert.match(
      out,
      /summary \(the provider rate-limits once, then answers\): 200 \{"summary":"Classify once; decide by category.","cached":false\}/,
    );
    assert.match(out, /same text again \(from the Redis cache\): 200 .*"cached":true/);
    assert.match(out, /invalid input \(every field at once\): 422 .*"detail":"2 fields are invalid."/);
    assert.match(
      out,
      /provider down \(fallback, marked degraded\): 200 \(degraded: first_sentence\) .*"code":"LLM_OVERLOADED"/,
    );
    assert.match(out, /readiness: 200 \{"status":"pass"/);
    assert.match(out, /journal: succeeded\(attempts 3\), succeeded\(attempts 2\)/);
    assert.match(out, /summaries written with the journal: 2/);
    assert.match(out, /provider received 5 requests/);
  },
);
