import type { BreakwaterError, CallTrail } from 'breakwater';
import type { ProviderKind } from '../upstream/protocol.js';
import type { Usage } from './operation-record.js';

/** How one request through the gateway ended: what every observer of requests is told, once. */
export interface RequestOutcome {
  /** The model alias the client asked for. */
  route: string;
  operation: 'chat' | 'embeddings';
  stream: boolean;
  /** `provider:model` that answered, or failed last; undefined when none was tried. */
  target: string | undefined;
  /** The protocol of that target. */
  kind: ProviderKind | undefined;
  outcome: 'success' | 'failure' | 'cancelled';
  error: BreakwaterError | undefined;
  trail: CallTrail;
  usage: Usage | undefined;
  /** From the request's arrival (ms since the epoch). */
  startedAt: number;
  durationMs: number;
  /** Streams: until the first byte reached the client. */
  timeToFirstTokenMs: number | undefined;
}

export type RequestObserver = (outcome: RequestOutcome) => void;

/** Tells every observer; one that throws is not allowed to fail the request or the others. */
export function notifyAll(observers: readonly RequestObserver[]): RequestObserver {
  return (outcome) => {
    for (const observe of observers) {
      try {
        observe(outcome);
      } catch {
        // Observability must never change what the client gets.
      }
    }
  };
}

/** The outcome of a request along `route`, from its trail. */
export function requestOutcome(
  route: { alias: string; byKey: ReadonlyMap<string, { protocol: { kind: ProviderKind } }> },
  trail: CallTrail,
  fields: {
    operation: RequestOutcome['operation'];
    stream: boolean;
    elapsedMs: number;
    error?: BreakwaterError;
    usage?: Usage | undefined;
    timeToFirstTokenMs?: number | undefined;
  },
): RequestOutcome {
  const target = trail.lastTried;
  const { error } = fields;
  return {
    route: route.alias,
    operation: fields.operation,
    stream: fields.stream,
    target,
    kind: target === undefined ? undefined : route.byKey.get(target)?.protocol.kind,
    outcome: !error ? 'success' : error.category === 'cancelled' ? 'cancelled' : 'failure',
    error,
    trail,
    usage: fields.usage,
    startedAt: Date.now() - fields.elapsedMs,
    durationMs: fields.elapsedMs,
    timeToFirstTokenMs: fields.timeToFirstTokenMs,
  };
}
