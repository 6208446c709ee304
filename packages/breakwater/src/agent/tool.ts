import { classify } from '../classify/classify.js';
import type { BreakwaterError } from '../errors/breakwater-error.js';
import { fromZodError, validationError } from '../errors/validation.js';
import { redact } from '../redact/redactor.js';
import { Emitter } from '../policies/events.js';
import { pipeline as makePipeline, type Pipeline } from '../policies/pipeline.js';
import { timeout } from '../policies/timeout.js';
import type { CallView, Degradation } from '../policies/context.js';
import type { Journal } from '../journal/journal.js';
import { runOperation } from '../journal/run-operation.js';
import { messageForModel } from './model-message.js';

/** Anything with zod's `safeParse` (zod 3 or 4, or your own). */
export interface InputSchema<I> {
  safeParse(value: unknown): { success: true; data: I } | { success: false; error: unknown };
}

export type ToolResult<O> =
  | { ok: true; data: O; durationMs: number; degraded?: Degradation }
  | { ok: false; code: string; category: string; message: string; retryable: boolean; retryAfterMs?: number };

export interface ToolDefinition<I, O> {
  name: string;
  description?: string;
  /** Validates the model's arguments; every invalid field is reported back to the model at once. */
  input?: InputSchema<I>;
  /** Per-call time limit (ms). Default 30,000. */
  timeoutMs?: number;
  /** Policies to run the tool under (retry, breaker…); the timeout is added inside it. */
  pipeline?: Pipeline;
  /** Journal each call as an operation of kind `tool:<name>`. */
  journal?: Journal<unknown>;
  /** Throw the classified error into the agent loop instead of returning `{ ok: false }`. */
  throwOnError?: boolean;
  execute(input: I, ctx: CallView): Promise<O> | O;
}

export interface ToolEvents extends Record<string, unknown> {
  /** The full classified error, for logs, metrics and traces (the model sees only the safe result). */
  toolError: { tool: string; error: BreakwaterError; durationMs: number };
}

declare module '../policies/telemetry-events.js' {
  interface TelemetryEvents {
    'tool.toolError': ToolEvents['toolError'];
  }
}

export interface Tool<O> {
  readonly name: string;
  readonly description: string | undefined;
  readonly events: Emitter<ToolEvents>;
  /** Runs the tool on the model's arguments (an object, or the JSON string the openai SDK gives). */
  run(args: unknown, options?: { signal?: AbortSignal; correlationId?: string }): Promise<ToolResult<O>>;
}

/**
 * Wraps a function an LLM agent calls as a tool: arguments validated, a timeout and the usual
 * policies, and every failure turned into a structured result the model can act on — with a
 * message written for the model and no secrets or internals. The full error goes to `events`.
 */
export function defineTool<I, O>(definition: ToolDefinition<I, O>): Tool<O> {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(definition.name)) {
    throw new TypeError(
      `Expected \`name\` to be 1-64 letters, digits, _ or - (what model APIs accept), got ${JSON.stringify(definition.name)}.`,
    );
  }
  const events = new Emitter<ToolEvents>('tool');
  const limit = timeout(definition.timeoutMs ?? 30_000);
  const policies = definition.pipeline
    ? makePipeline(definition.pipeline, limit, { clock: definition.pipeline.clock })
    : makePipeline(limit);

  const call = async (
    input: I,
    options: { signal?: AbortSignal; correlationId?: string },
  ): Promise<{ value: O; degraded: Degradation | undefined }> => {
    const work = async (signal: AbortSignal | undefined) => {
      const { value, ctx } = await policies.executeWithContext((ctx) => definition.execute(input, ctx), {
        key: `tool:${definition.name}`,
        correlationId: options.correlationId,
        signal,
      });
      return { value, degraded: ctx.degraded };
    };
    if (!definition.journal) return work(options.signal);
    let degraded: Degradation | undefined;
    const value = await runOperation(
      definition.journal,
      `tool:${definition.name}`,
      async (op) => {
        const outcome = await work(op.signal);
        degraded = outcome.degraded;
        return outcome.value;
      },
      { correlationId: options.correlationId, metadata: { tool: definition.name }, signal: options.signal },
    );
    return { value, degraded };
  };

  return {
    name: definition.name,
    description: definition.description,
    events,
    async run(args, options = {}) {
      const started = performance.now();
      try {
        const input = parseInput(definition, args);
        const { value, degraded } = await call(input, options);
        return {
          ok: true,
          data: value,
          durationMs: Math.round(performance.now() - started),
          ...(degraded ? { degraded } : {}),
        };
      } catch (thrown) {
        const error = classify(thrown, { correlationId: options.correlationId });
        const durationMs = Math.round(performance.now() - started);
        events.emit('toolError', { tool: definition.name, error, durationMs });
        if (definition.throwOnError) throw error;
        return {
          ok: false,
          code: error.code,
          category: error.category,
          message: redact.string(messageForModel(definition.name, error)),
          retryable: error.retryable,
          ...(error.retryAfterMs !== undefined && error.retryable ? { retryAfterMs: error.retryAfterMs } : {}),
        };
      }
    },
  };
}

function parseInput<I>(definition: ToolDefinition<I, unknown>, args: unknown): I {
  let value = args;
  if (typeof args === 'string') {
    try {
      value = args.trim() === '' ? {} : (JSON.parse(args) as unknown);
    } catch {
      throw validationError([{ path: '', message: 'Arguments are not valid JSON.', code: 'invalid_json' }]);
    }
  }
  if (!definition.input) return value as I;
  const parsed = definition.input.safeParse(value);
  if (parsed.success) return parsed.data;
  throw fromZodError(parsed.error) ?? validationError([{ path: '', message: 'Arguments do not match the schema.' }]);
}
