import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../testing/fake-clock.js';
import { watchdog } from './watchdog.js';

test('expires after idleMs of silence; activity keeps it alive; the deadline ends it regardless', async () => {
  const clock = new FakeClock();
  const expired: string[] = [];
  const dog = watchdog({
    clock,
    idleMs: 100,
    deadline: 1_000,
    onExpire: (reason) => expired.push(`${reason}@${clock.now()}`),
  });
  for (let i = 0; i < 5; i++) {
    await clock.tick(90);
    dog.touch();
  }
  assert.deepEqual(expired, [], 'touched every 90 ms: never idle for 100');
  await clock.tick(100);
  assert.deepEqual(expired, ['idle@550']);

  const ended: string[] = [];
  const busy = watchdog({ clock, idleMs: 100, deadline: clock.now() + 250, onExpire: (reason) => ended.push(reason) });
  for (let i = 0; i < 10; i++) {
    await clock.tick(50);
    busy.touch();
  }
  assert.deepEqual(ended, ['deadline']);
});

test('stop() cancels it', async () => {
  const clock = new FakeClock();
  let fired = false;
  const dog = watchdog({ clock, idleMs: 10, onExpire: () => (fired = true) });
  dog.stop();
  await clock.tick(100);
  assert.equal(fired, false);
});
