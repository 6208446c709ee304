import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COOKIE, ConsoleSessions, type SessionChange, type SessionReplication } from './sessions.js';

/** Processes wired as the primary wires workers: each change reaches every other one. */
function wired(count: number, now: () => number) {
  const inboxes: Array<(change: SessionChange) => void> = [];
  const sent: SessionChange[] = [];
  return Array.from({ length: count }, (_, i) => {
    const replication: SessionReplication = {
      send: (change) => {
        sent.push(change);
        inboxes.forEach((apply, j) => j !== i && apply(structuredClone(change)));
      },
      receive: (apply) => void (inboxes[i] = apply),
    };
    return Object.assign(new ConsoleSessions(now, replication), { sent });
  });
}

test('a login on one process is known to the others; a logout anywhere ends it everywhere', () => {
  const now = 0;
  const [a, b] = wired(2, () => now);
  const session = a!.create('Ada (127.0.0.1)');
  const cookie = `${COOKIE}=${session.id}`;
  assert.equal(b!.fromCookie(cookie)?.actor, 'Ada (127.0.0.1)');
  assert.equal(b!.fromCookie(cookie)?.csrf, session.csrf);
  b!.end(session.id);
  assert.equal(a!.fromCookie(cookie), undefined);
});

test('activity on one process keeps the session alive on the others, told once a minute at most', () => {
  let now = 0;
  const [a, b] = wired(2, () => now);
  const { id } = a!.create('Ada');
  const cookie = `${COOKIE}=${id}`;
  const sentAfterLogin = a!.sent.length;
  for (let minute = 1; minute <= 40; minute++) {
    now = minute * 60_000;
    assert.ok(a!.fromCookie(cookie));
    a!.fromCookie(cookie); // a second request in the same minute tells nobody
  }
  assert.equal(a!.sent.length - sentAfterLogin, 40, 'one message a minute, not one per request');
  assert.ok(b!.fromCookie(cookie), 'B saw the activity: 40 minutes on, still alive there');
  now += 31 * 60_000;
  assert.equal(b!.fromCookie(cookie), undefined, 'idle 31 minutes: gone');
});
