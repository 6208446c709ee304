import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../packages/gateway/src/simulator/simulator.js';

// The simulator is the built-in upstream of a gateway started with no provider key, and a
// benchmark's: it serves for as long as it runs, so what it records of each request is bounded.
test("the simulator counts every request but keeps only the last 20 requests' details", async () => {
  const simulator = await startSimulator();
  try {
    const ids = Array.from({ length: 25 }, (_, i) => `sim-${i}`);
    for (const id of ids) {
      const response = await fetch(`${simulator.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer key-${id}`, 'x-request-id': id },
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
      });
      assert.equal(response.status, 200);
      await response.text();
    }
    const stats = simulator.stats();
    assert.equal(stats.received, 25);
    assert.deepEqual(stats.requestIds, ids.slice(5));
    assert.deepEqual(
      stats.authorizations,
      ids.slice(5).map((id) => `Bearer key-${id}`),
    );
    assert.equal(stats.lastBodies.length, 20);
  } finally {
    await simulator.close();
  }
});
