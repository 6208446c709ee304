import type { Cluster, Worker } from 'node:cluster';
import { LocalStateStore } from '../local-state-store.js';
import type { CircuitRecord } from '../state-store.js';
import { isStateRequest, NO_ANSWER, type CircuitBroadcast, type StateReply, type StateRequest } from './messages.js';

/**
 * The primary of a node:cluster holds the state its workers share when there is no Redis: token
 * buckets, retry budgets, the last transition of every circuit (for workers that start later)
 * and probe claims. Workers ask over IPC (`clusterState()`); transitions go out to every worker.
 * Returns a function that stops answering.
 */
export function serveClusterState(cluster: Cluster): () => void {
  const local = new LocalStateStore();
  /** Per space and key: the last transition and when (wall clock) its break ends. */
  const circuits = new Map<string, Map<string, { record: CircuitRecord; until: number }>>();
  const claims = new Map<string, number>();

  const answer = (request: StateRequest): unknown => {
    switch (request.op) {
      case 'takeToken':
        return local.takeToken(request.bucket, request.rate);
      case 'withdrawRetry':
        local.depositRetryCredit(request.budget, request.credit, request.settings);
        return [
          local.withdrawRetry(request.budget, request.settings),
          local.retryCreditAvailable(request.budget, request.settings),
        ];
      case 'depositRetryCredit':
        local.depositRetryCredit(request.budget, request.amount, request.settings);
        return local.retryCreditAvailable(request.budget, request.settings);
      case 'claimProbe': {
        const claim = `${request.space}\n${request.key}`;
        if ((claims.get(claim) ?? 0) > Date.now()) return false;
        claims.set(claim, Date.now() + request.ttlMs);
        return true;
      }
      case 'countFailure':
        return local.countFailure(request.space, request.key, request.windowMs);
      case 'clearFailures':
        return local.clearFailures(request.space, request.key);
      case 'publishCircuit':
        remember(request.space, request.key, request.record);
        local.clearFailures(request.space, request.key);
        claims.delete(`${request.space}\n${request.key}`);
        broadcast({ bw: 'state-circuit', space: request.space, key: request.key, record: request.record });
        return true;
      case 'circuits':
        return [...(circuits.get(request.space) ?? [])].map(([key, { record, until }]) => [
          key,
          { ...record, remainingMs: Math.max(0, until - Date.now()) },
        ]);
    }
  };

  const remember = (space: string, key: string, record: CircuitRecord): void => {
    let known = circuits.get(space);
    if (!known) circuits.set(space, (known = new Map()));
    known.set(key, { record, until: Date.now() + record.remainingMs });
  };

  const broadcast = (message: CircuitBroadcast): void => {
    for (const worker of Object.values(cluster.workers ?? {})) if (worker) send(worker, message);
  };

  const onMessage = (worker: Worker, message: unknown): void => {
    if (!isStateRequest(message)) return;
    const value = answer(message);
    // Id 0: told, not asked (a transition, a reset count): nobody waits for an answer.
    if (message.id === NO_ANSWER) return;
    const reply: StateReply = { bw: 'state-reply', id: message.id, value };
    send(worker, reply);
  };
  cluster.on('message', onMessage);
  return () => cluster.off('message', onMessage);
}

/** A worker that is exiting cannot take messages; that is not the primary's problem. */
function send(worker: Worker, message: unknown): void {
  if (!worker.isConnected()) return;
  worker.send(message as object, () => {});
}
