import { classify } from '../classify/classify.js';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { Errors } from '../errors/codes.js';
import type { Journal } from '../journal/journal.js';
import { runOperation } from '../journal/run-operation.js';
import type { CallView, Degradation } from '../policies/context.js';
import type { Pipeline } from '../policies/pipeline.js';

export interface BatchOptions {
  /** Items running at once. Default 8. */
  concurrency?: number;
  /** Policies for each item (retry, breaker, timeout…). */
  pipeline?: Pipeline;
  /**
   * Stop starting new items once this fraction of the finished ones failed (e.g. 0.2), counted
   * after `minFinished` items (default 10). Items not started are reported cancelled.
   */
  maxFailureRatio?: number;
  minFinished?: number;
  /** Stop starting new items after this many failures. */
  maxFailures?: number;
  /** Cancels the rest: running items see their signal abort; items not started are reported cancelled. */
  signal?: AbortSignal;
  /** Journal each item as an operation of `kind` (default `batch-item`). */
  journal?: Journal<unknown>;
  kind?: string;
  /** Pipeline key for an item (default `batch`). */
  keyOf?: (item: unknown, index: number) => string;
}

export interface BatchSuccess<T, R> {
  item: T;
  index: number;
  value: R;
  degraded?: Degradation;
}

export interface BatchFailure<T> {
  item: T;
  index: number;
  error: BreakwaterError;
}

export interface BatchResult<T, R> {
  succeeded: Array<BatchSuccess<T, R>>;
  /** Failures, including cancelled items (category `cancelled`). */
  failed: Array<BatchFailure<T>>;
  summary: {
    total: number;
    succeeded: number;
    failed: number;
    cancelled: number;
    byCategory: Record<string, number>;
    byCode: Record<string, number>;
    /** Why the batch stopped starting items early, if it did. */
    stoppedBy: 'failure_budget' | 'signal' | undefined;
  };
}

/**
 * Runs many items with bounded concurrency and returns successes and failures side by side:
 * every item is reported exactly once, in `succeeded` or `failed`, never thrown.
 */
export async function runBatch<T, R>(
  items: Iterable<T>,
  fn: (item: T, ctx: { index: number; signal: AbortSignal; call: CallView | undefined }) => Promise<R> | R,
  options: BatchOptions = {},
): Promise<BatchResult<T, R>> {
  const list = [...items];
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new TypeError(`Expected \`concurrency\` to be an integer ≥ 1, got ${options.concurrency}.`);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(options.signal!.reason);
  if (options.signal?.aborted) stop.abort(options.signal.reason);
  else options.signal?.addEventListener('abort', onAbort, { once: true });

  const succeeded: Array<BatchSuccess<T, R>> = [];
  const failed: Array<BatchFailure<T>> = [];
  let stoppedBy: BatchResult<T, R>['summary']['stoppedBy'];
  let next = 0;

  const overBudget = (): boolean => {
    const finished = succeeded.length + failed.length;
    if (options.maxFailures !== undefined && failed.length >= options.maxFailures) return true;
    return (
      options.maxFailureRatio !== undefined &&
      finished >= (options.minFinished ?? 10) &&
      failed.length / finished > options.maxFailureRatio
    );
  };

  const runOne = async (index: number): Promise<void> => {
    const item = list[index]!;
    let degraded: Degradation | undefined;
    const attempt = async (signal: AbortSignal): Promise<R> => {
      if (!options.pipeline) return fn(item, { index, signal, call: undefined });
      const { value, ctx } = await options.pipeline.executeWithContext(
        (call) => fn(item, { index, signal: call.signal, call }),
        {
          key: options.keyOf?.(item, index) ?? 'batch',
          signal,
        },
      );
      degraded = ctx.degraded;
      return value;
    };
    try {
      const value = options.journal
        ? await runOperation(options.journal, options.kind ?? 'batch-item', (op) => attempt(op.signal), {
            signal: stop.signal,
            metadata: { index },
          })
        : await attempt(stop.signal);
      succeeded.push({ item, index, value, ...(degraded ? { degraded } : {}) });
    } catch (thrown) {
      failed.push({ item, index, error: classify(thrown) });
      if (!stoppedBy && overBudget()) stoppedBy = 'failure_budget';
    }
  };

  const worker = async (): Promise<void> => {
    while (next < list.length && !stoppedBy && !stop.signal.aborted) await runOne(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
  options.signal?.removeEventListener('abort', onAbort);
  if (!stoppedBy && stop.signal.aborted) stoppedBy = 'signal';

  // Items never started: reported once each, as cancelled.
  for (let index = next; index < list.length; index++) {
    const reason = stoppedBy === 'failure_budget' ? 'the failure budget was exceeded' : 'the batch was cancelled';
    failed.push({
      item: list[index]!,
      index,
      error: Errors.cancelled({
        message: `Item ${index} not started: ${reason}.`,
        details: { index, reason: stoppedBy },
      }),
    });
  }
  failed.sort((a, b) => a.index - b.index);
  succeeded.sort((a, b) => a.index - b.index);
  return { succeeded, failed, summary: summarise(list.length, succeeded.length, failed, stoppedBy) };
}

function summarise<T>(
  total: number,
  ok: number,
  failed: Array<BatchFailure<T>>,
  stoppedBy: BatchResult<T, unknown>['summary']['stoppedBy'],
): BatchResult<T, unknown>['summary'] {
  const byCategory: Record<string, number> = {};
  const byCode: Record<string, number> = {};
  for (const { error } of failed) {
    byCategory[error.category] = (byCategory[error.category] ?? 0) + 1;
    byCode[error.code] = (byCode[error.code] ?? 0) + 1;
  }
  const cancelled = byCategory['cancelled'] ?? 0;
  return { total, succeeded: ok, failed: failed.length - cancelled, cancelled, byCategory, byCode, stoppedBy };
}
