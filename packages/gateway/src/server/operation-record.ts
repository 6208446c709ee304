import type { BreakwaterError, CallTrail, Cancellation } from 'breakwater';
import type { GatewayConfig } from '../config/schema.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { RequestObserver } from './request-outcome.js';
import { trailSummary } from './route.js';

/** What the journal keeps of each request, and the usage it reports: one policy for both endpoints. */
export interface RecordPolicy {
  onJournalUnavailable: 'degrade' | 'fail-closed';
  content: 'none' | 'redacted' | 'full';
  prices: GatewayConfig['prices'];
  metrics: GatewayMetrics;
  /** Told once how each request ended (metrics, spans, the console). */
  finished: RequestObserver;
  /** An outcome written after its answer that could not be recorded, nor kept in the outbox. */
  onRecordError: (error: BreakwaterError) => void;
}

export interface Usage {
  prompt_tokens?: number;
  completion_tokens?: number;
  total_tokens?: number;
}

/**
 * The journal options of a request's operation. Its metadata: the model asked for, and the prompt
 * itself only under `content: full`. In degrade mode nothing of the request waits for the journal:
 * the upstream call starts before the operation's row is written (the create shares a later commit
 * with other requests' writes, the journal's `successCommitDelayMs`, instead of an fsync of its own
 * before every call), and the request ends when its answer is sent, its outcome written after —
 * so its objects are garbage at once, not a commit or two later. Fail-closed runs nothing
 * unrecorded, so it waits for both.
 */
export function operationOptions(
  policy: RecordPolicy,
  body: Record<string, unknown>,
  stream: boolean,
  correlationId: string,
  controller: Cancellation,
) {
  const metadata: Record<string, unknown> = { model: body['model'], stream };
  if (policy.content === 'full' && body['messages'] !== undefined) metadata['messages'] = body['messages'];
  const failClosed = policy.onJournalUnavailable === 'fail-closed';
  // Built whole, not spread into the caller's literal: on Node 20 an object made by spread on the
  // request path kept young objects alive through young-generation collections (see the gateway
  // README, "Measured"), and each one a collection copies lengthens its pause.
  return {
    correlationId,
    controller,
    metadata,
    onJournalUnavailable: policy.onJournalUnavailable,
    durableStart: failClosed,
    waitForRecord: failClosed,
    onRecordError: policy.onRecordError,
  };
}

/**
 * A success: the attempt trail, and the usage and cost of the attempt that answered (failed
 * attempts are in the trail, never billed as completions), as `asUsage` read it. Counted in the
 * token and cost metrics.
 */
export function successRecord(policy: RecordPolicy, route: string, trail: CallTrail, tokens: Usage | undefined) {
  const target = trail.answeredBy;
  const cost = tokens && target ? costOf(policy.prices, target, tokens) : undefined;
  if (tokens && target) policy.metrics.usage(route, target, tokens, cost);
  const record = trailSummary(trail);
  record['usage'] = tokens ?? null;
  if (cost !== undefined) record['cost'] = cost;
  return record;
}

/** A failure: the attempt trail, and the partial answer only when the content policy keeps answers. */
export function failureRecord(policy: RecordPolicy, trail: CallTrail, partialContent?: string) {
  return {
    ...trailSummary(trail),
    ...(policy.content !== 'none' && partialContent !== undefined ? { content: partialContent } : {}),
  };
}

export function asUsage(value: unknown): Usage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { prompt_tokens, completion_tokens, total_tokens } = value as Usage;
  const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
  const usage = {
    prompt_tokens: n(prompt_tokens),
    completion_tokens: n(completion_tokens),
    total_tokens: n(total_tokens),
  };
  return usage.prompt_tokens === undefined && usage.completion_tokens === undefined ? undefined : usage;
}

/** Price by `provider:model`, else by the model name alone. */
function costOf(prices: RecordPolicy['prices'], target: string, usage: Usage): number | undefined {
  const price = prices[target] ?? prices[target.slice(target.indexOf(':') + 1)];
  if (!price) return undefined;
  const cost =
    ((usage.prompt_tokens ?? 0) * price.inputPerMillion + (usage.completion_tokens ?? 0) * price.outputPerMillion) /
    1_000_000;
  return Math.round(cost * 1e9) / 1e9;
}
