import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';

/**
 * Real servers, never mocks. On a machine without them a suite skips with a loud message; CI sets
 * BREAKWATER_REQUIRE_SERVICES=1, which turns that skip into a failure.
 */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A few probes before calling a service down: on a loaded 2-core CI machine, with test files running
 * in parallel, one loopback connect has been seen to miss a 1 s window while the server was up.
 */
async function reachable(host: string, port: number): Promise<boolean> {
  for (let probe = 0; probe < 4; probe++) {
    if (await portOpen(host, port, 2000)) return true;
  }
  return false;
}

/** Returns a skip reason (string) for node:test's `skip` option, or false when the service is up. */
export async function needService(name: 'redis' | 'postgres'): Promise<string | false> {
  const url = new URL(name === 'redis' ? REDIS_URL : POSTGRES_URL);
  if (await reachable(url.hostname, Number(url.port))) return false;
  const message = `${name} is not reachable at ${url.host}: the ${name} suite is SKIPPED`;
  if (process.env.BREAKWATER_REQUIRE_SERVICES === '1') {
    throw new Error(`${message}, and BREAKWATER_REQUIRE_SERVICES=1 forbids skipping.`);
  }
  console.error(`\n!!! ${message} !!!\n`);
  return message;
}

/** Debian's Chromium, installed by .ci/run (`apt-get install -y chromium`). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A skip reason when there is no Chromium to drive, false when there is (a failure in CI). */
export function needChromium(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  const message = `no Chromium at ${CHROMIUM_PATH}: the browser suite is SKIPPED`;
  if (process.env.BREAKWATER_REQUIRE_SERVICES === '1')
    throw new Error(`${message}, and BREAKWATER_REQUIRE_SERVICES=1 forbids skipping.`);
  console.error(`\n!!! ${message} !!!\n`);
  return message;
}
