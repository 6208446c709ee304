import cluster, { type Cluster, type Worker } from 'node:cluster';
import type { SessionChange, SessionReplication } from './sessions.js';

const KIND = 'bw-console-session';
/** As many as one process keeps (sessions.ts): the primary holds no more than a worker would. */
const MAX_SESSIONS = 64;

interface Envelope {
  bw: typeof KIND;
  change: SessionChange;
}

const isEnvelope = (message: unknown): message is Envelope =>
  typeof message === 'object' && message !== null && (message as { bw?: unknown }).bw === KIND;

/** In a worker of `server.workers`: session changes go to the primary, which tells the others. */
export function workerSessionReplication(): SessionReplication | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  return {
    send: (change) => {
      if (process.connected) process.send!({ bw: KIND, change } satisfies Envelope, undefined, undefined, () => {});
    },
    receive: (apply) => {
      process.on('message', (message: unknown) => {
        if (isEnvelope(message)) apply(message.change);
      });
    },
  };
}

/**
 * In the primary: passes each worker's console logins, activity and logouts to the other workers,
 * and gives a worker that starts (a replacement) the sessions that are live. Returns a function
 * that stops.
 */
export function relayConsoleSessions(workers: Cluster): () => void {
  const live = new Map<string, Envelope>();
  const send = (worker: Worker | undefined, envelope: Envelope): void => {
    if (worker?.isConnected()) worker.send(envelope, () => {});
  };
  const onMessage = (from: Worker, message: unknown): void => {
    if (!isEnvelope(message)) return;
    const { change } = message;
    if (change.kind === 'end') live.delete(change.id);
    else {
      live.delete(change.session.id);
      live.set(change.session.id, message);
      if (live.size > MAX_SESSIONS) live.delete(live.keys().next().value!);
    }
    for (const worker of Object.values(workers.workers ?? {})) if (worker !== from) send(worker, message);
  };
  const onOnline = (worker: Worker): void => {
    for (const envelope of live.values()) send(worker, envelope);
  };
  workers.on('message', onMessage);
  workers.on('online', onOnline);
  return () => {
    workers.off('message', onMessage);
    workers.off('online', onOnline);
  };
}
