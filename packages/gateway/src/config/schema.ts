import { z } from 'zod';
import { CATEGORIES } from 'breakwater';
import { PROVIDER_KINDS } from '../upstream/protocol.js';

const identifier = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'use letters, digits and . _ : - only');
const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the key (echo -n KEY | sha256sum), never the key itself');

const ms = z.number().int().positive();

/** Calls in flight to one upstream (`provider:model`), shared by every route that uses it. */
export const ConcurrencySchema = z.strictObject({
  /** Requests sent to the upstream at once. */
  max: z.number().int().min(1).default(128),
  /** Requests waiting for a slot; beyond it a target is skipped at once (the route moves on). */
  queue: z.number().int().min(0).default(64),
  /** Longest wait for a slot (ms). */
  queueTimeoutMs: ms.default(1_000),
});
const CONCURRENCY_DEFAULTS = { max: 128, queue: 64, queueTimeoutMs: 1_000 };

/**
 * The circuit breaker of one upstream (`provider:model`), shared by every route that uses it and
 * kept across config reloads while these settings stay the same.
 */
export const BreakerSchema = z.strictObject({
  /** Consecutive failures that open the circuit (unless `failureRate` is set). */
  failures: z.number().int().min(1).default(5),
  /** Open on the failure rate over a sliding window instead of consecutive failures. */
  failureRate: z
    .strictObject({
      /** Fraction of calls in the window that must fail (0–1]. */
      threshold: z.number().gt(0).max(1).default(0.5),
      windowMs: ms.default(30_000),
      /** No decision below this many calls in the window. */
      minimumThroughput: z.number().int().min(1).default(20),
    })
    .optional(),
  /** First break (ms); each reopening doubles it, up to `maxBreakMs`. */
  breakMs: ms.default(5_000),
  maxBreakMs: ms.default(20_000),
  /** Calls admitted at once while half-open (after a break, before it closes). */
  halfOpenProbes: z.number().int().min(1).default(1),
  /**
   * While the circuit is open the gateway probes the upstream in the background (`GET /models`) as
   * soon as a break ends, at most once per `intervalMs`, so recovery does not wait for a client to
   * pay for the probe. `false` turns it off.
   */
  probe: z.union([z.literal(false), z.strictObject({ intervalMs: ms.default(1_000) })]).default({ intervalMs: 1_000 }),
});
const BREAKER_DEFAULTS = {
  failures: 5,
  breakMs: 5_000,
  maxBreakMs: 20_000,
  halfOpenProbes: 1,
  probe: { intervalMs: 1_000 },
};

const category = z.enum(CATEGORIES);

/** Which failures are retried on the same target and which move on to the next one at once. */
export const RetrySchema = z.strictObject({
  /** Calls per target, the first included. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /**
   * Categories never retried on the same target: the route moves on to its next target at once.
   * Default `[timeout]`: a target that did not answer is not waited on twice.
   */
  moveOnImmediately: z.array(category).default(['timeout']),
});

export const ProviderSchema = z.strictObject({
  /**
   * The API the upstream speaks: `openai` (OpenAI and every OpenAI-compatible server, the default),
   * `anthropic` (the Messages API) or `gemini` (generateContent). Clients always speak OpenAI's.
   */
  kind: z.enum(PROVIDER_KINDS).default('openai'),
  /**
   * The API's base URL: https://api.openai.com/v1, https://api.anthropic.com/v1,
   * https://generativelanguage.googleapis.com/v1beta, or any OpenAI-compatible server's.
   */
  baseUrl: z
    .url({ message: 'must be a full URL such as https://api.openai.com/v1' })
    // Without its trailing slash once here, so request paths are appended as they are.
    .transform((url) => url.replace(/\/$/, '')),
  /** Name of the environment variable that holds the key; the key itself never goes in the file. */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as OPENAI_API_KEY')
    .optional(),
  /**
   * With `apiKeyEnv` set but the variable missing the gateway refuses to start; `true` starts anyway
   * and this provider's upstreams fail readiness (never a silent unauthenticated upstream).
   */
  apiKeyOptional: z.boolean().default(false),
  /**
   * Static headers sent with every request (Azure `api-key`, OpenRouter `HTTP-Referer`); use
   * `${ENV_VAR}` for secret values. Their values are redacted everywhere, like keys.
   */
  headers: z
    .record(z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an HTTP header name'), z.string().max(4_096))
    .default({}),
  /**
   * Bedrock: the AWS region to sign for (default: read from a bedrock-runtime.<region>.amazonaws.com
   * baseUrl). Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or
   * `apiKeyEnv` names a Bedrock API key (sent as a bearer token).
   */
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-1')
    .optional(),
  /**
   * `max_tokens` sent when a client sets none, for APIs that require one (Anthropic). OpenAI-
   * compatible and Gemini upstreams get the client's value or none.
   */
  defaultMaxTokens: z.number().int().positive().default(4_096),
  /** Bounds per upstream model of this provider. */
  concurrency: ConcurrencySchema.default(CONCURRENCY_DEFAULTS),
  /** The breaker of each upstream model of this provider. */
  breaker: BreakerSchema.default(BREAKER_DEFAULTS),
});

export const TargetSchema = z.strictObject({
  provider: identifier,
  model: z.string().min(1),
  /** Tokens the model accepts: a context_length failure falls back only to a larger target. */
  contextWindow: z.number().int().positive().optional(),
  /**
   * What the target can do. A request that needs tools or images is never sent to a target that
   * declares it cannot handle them (the route skips it, in every fallback too).
   */
  capabilities: z
    .strictObject({
      /** Continues an assistant message given as the last message (used to resume a cut stream). */
      prefill: z.boolean().default(false),
      /** Function calling (`tools`). */
      tools: z.boolean().default(true),
      /** Images in user messages. */
      images: z.boolean().default(true),
    })
    .default({ prefill: false, tools: true, images: true }),
  /** Overrides the route's retry settings for this target. */
  retry: RetrySchema.partial().optional(),
});

export const RouteSchema = z.strictObject({
  targets: z.array(TargetSchema).min(1, 'a route needs at least one target'),
  retry: RetrySchema.default({ maxAttempts: 3, moveOnImmediately: ['timeout'] }),
  /** Per-attempt timeout until the response headers (ms). */
  attemptTimeoutMs: z.number().int().positive().default(30_000),
  /** The whole request, all attempts and fallbacks (ms). */
  totalTimeoutMs: z.number().int().positive().default(120_000),
  /**
   * Hedging: when the first target has not answered after this long (ms) — for a stream, not sent
   * its first token — the second target starts beside it; the first answer wins and the other is
   * cancelled. Costs a second upstream call on slow requests (the loser may be billed for what it
   * read). Default: off.
   */
  hedgeAfterMs: z.number().int().positive().optional(),
  /**
   * Requests per second this route admits, from all clients together; more get 429 + Retry-After
   * before any upstream call. With `state.redis` the limit holds across every replica. Default: none.
   */
  rateLimit: z.strictObject({ perSecond: z.number().positive(), burst: z.number().int().min(1).optional() }).optional(),
  /** Moved: a breaker belongs to the upstream (`providers.<name>.breaker`), not to a route. */
  breaker: z
    .never({ error: 'breakers belong to the upstream now: move this to providers.<provider>.breaker' })
    .optional(),
  stream: z
    .strictObject({
      /**
       * Per attempt, until the first content token (not just the headers): a slow target is left
       * for the next while nothing has reached the client. Default: `attemptTimeoutMs`.
       */
      firstTokenTimeoutMs: ms.optional(),
      /** After the first byte: the longest silence, and the whole stream (ms). */
      idleTimeoutMs: ms.default(30_000),
      totalTimeoutMs: ms.default(600_000),
      /**
       * A stream cut or stalled after the first byte: `error` ends it with an error event;
       * `continue` asks the next target that declares `capabilities.prefill` to continue from the
       * partial answer, and streams only the continuation.
       */
      resume: z.enum(['error', 'continue']).default('error'),
      /** Malformed events are skipped and counted; more than this ends the stream with an error. */
      maxMalformedEvents: z.number().int().min(0).default(3),
    })
    .default({ idleTimeoutMs: 30_000, totalTimeoutMs: 600_000, resume: 'error', maxMalformedEvents: 3 }),
});

/** What one client connection may cost: every size and duration a client controls has a bound. */
export const ServerSchema = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  bodyLimitBytes: z.number().int().positive().default(2_000_000),
  /** JSON bodies nested deeper than this are a 400. */
  maxJsonDepth: z.number().int().min(2).max(1_000).default(64),
  /** Time to receive the request headers (ms); past it the client gets a 408 and the socket closes. */
  headersTimeoutMs: ms.default(10_000),
  /** Time to receive the whole request, body included (ms); 408 past it. */
  requestTimeoutMs: ms.default(30_000),
  /** An idle keep-alive connection is closed after this (ms). */
  keepAliveTimeoutMs: ms.default(5_000),
  /** Open client connections; more are refused by the server socket. */
  maxConnections: z.number().int().min(1).default(1_024),
  /** Requests handled at once by the gateway; more wait in a short queue, then get 503 + Retry-After. */
  maxInFlight: z.number().int().min(1).default(512),
  maxQueue: z.number().int().min(0).default(256),
  queueTimeoutMs: ms.default(2_000),
  /** A streaming client that reads nothing for this long is cut (ms); memory held for it is bounded too. */
  slowClientTimeoutMs: ms.default(10_000),
  /** Bytes buffered for a streaming client that does not read, before it is cut. */
  maxClientBufferBytes: z.number().int().min(16_384).default(1_048_576),
  /** Largest upstream response body (bytes, streams included); an endless body is cut at this cap. */
  maxUpstreamResponseBytes: z.number().int().min(1_024).default(33_554_432),
  /** On SIGTERM, how long requests in flight may take to finish (ms). */
  shutdownGraceMs: ms.default(10_000),
  /**
   * Processes serving the port (node:cluster): a number, or `auto` for one per core. Breakers, rate
   * limits and the retry budget are shared through `state.redis` when set, else through the primary.
   */
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).default(1),
});

/** Wrong client keys from one address: after `burst` failures, one more every `perMinute`th of a minute. */
export const AuthThrottleSchema = z.strictObject({
  burst: z.number().int().min(1).default(10),
  perMinute: z.number().positive().default(10),
});

/** How requests treat a journal that fails or stalls; the same for every store. */
const JOURNAL_POLICY = {
  /**
   * `degrade` (default): requests are served and their outcomes kept in a bounded outbox until the
   * store is back (readiness `warn`). `fail-closed`: no request runs unrecorded (503, readiness fails).
   */
  onUnavailable: z.enum(['degrade', 'fail-closed']).default('degrade'),
  /** Longest wait for one journal write (ms); a stalled store cannot hold a request longer. */
  writeTimeoutMs: ms.default(1_000),
  /**
   * A running operation's lease (ms), renewed while it runs. When its process dies, the sweeper of
   * any replica records the operation failed (OPERATION_ABANDONED) once the lease has expired.
   */
  leaseMs: ms.default(30_000),
  /**
   * What an operation keeps of the conversation: `none` (default: metadata, usage, the attempt
   * trail, errors — no prompts, no answers), `redacted` (also the partial answer of a failed stream),
   * `full` (also the request's messages). Every stored string passes the redactor, whatever this says.
   */
  content: z.enum(['none', 'redacted', 'full']).default('none'),
  /** How long finished operations are kept (ms), pruned in small batches by the sweeper. */
  retention: z
    .strictObject({
      succeededMs: ms.default(86_400_000),
      failedMs: ms.default(14 * 86_400_000),
      cancelledMs: ms.default(14 * 86_400_000),
    })
    .default({ succeededMs: 86_400_000, failedMs: 14 * 86_400_000, cancelledMs: 14 * 86_400_000 }),
};

/** State shared with other replicas: breakers, route rate limits and the retry budget. */
export const StateSchema = z.strictObject({
  redis: z
    .strictObject({
      /** `redis://[user:password@]host:port[/db]` (or `rediss://`); the password is redacted everywhere. */
      url: z
        .string()
        .regex(/^rediss?:\/\//, 'must start with redis:// or rediss://')
        .optional(),
      /** Or the name of the environment variable that holds the URL (keeps a password out of the file). */
      urlEnv: z.string().min(1).optional(),
      /** Key and channel prefix: replicas with the same prefix share state. */
      prefix: z.string().min(1).default('breakwater'),
      /** Longest wait for Redis on a decision (ms); past it the replica decides alone and health warns. */
      timeoutMs: ms.default(5),
    })
    .refine((redis) => (redis.url === undefined) !== (redis.urlEnv === undefined), 'set exactly one of url and urlEnv')
    .optional(),
});

export const ConfigSchema = z.strictObject({
  server: ServerSchema.default(ServerSchema.parse({})),
  providers: z.record(identifier, ProviderSchema),
  /** Model alias (what clients send as `model`) → ordered targets. */
  routes: z.record(z.string().min(1), RouteSchema),
  /** Client keys (SHA-256 hex). None configured: the gateway is open (bind it to loopback). */
  clients: z.array(z.strictObject({ name: identifier, keySha256: sha256 })).default([]),
  admin: z.strictObject({ keySha256: sha256 }).optional(),
  authThrottle: AuthThrottleSchema.default({ burst: 10, perMinute: 10 }),
  retryBudget: z
    .strictObject({ ratio: z.number().min(0).max(1).default(0.1), minPerSecond: z.number().min(0).default(3) })
    .default({ ratio: 0.1, minPerSecond: 3 }),
  state: StateSchema.default({}),
  journal: z
    .union([
      z
        .strictObject({
          sqlite: z.string().min(1),
          /**
           * `FULL` (default): every commit survives a power loss. `NORMAL` (WAL): commits survive a
           * crash or kill -9 of the process but the last ones can be lost on power loss, for far
           * less time blocked in fsync.
           */
          synchronous: z.enum(['FULL', 'NORMAL']).default('FULL'),
          /**
           * How long the write recording a request's success may wait to share the next commit (ms;
           * 0: none). Under steady traffic it rides with the next request's create: one fsync per
           * request instead of two. The answer never waits for it (it is sent first); a crash of the
           * process in that window loses the outcome (the sweeper records the operation abandoned).
           * Failures are recorded before the error response, never deferred. Below `writeTimeoutMs`.
           */
          successCommitDelayMs: z.number().int().min(0).max(1_000).default(20),
          ...JOURNAL_POLICY,
        })
        .refine((sqlite) => sqlite.successCommitDelayMs < sqlite.writeTimeoutMs, {
          message: 'successCommitDelayMs must be below writeTimeoutMs (a deferred write would time out)',
          path: ['successCommitDelayMs'],
        }),
      z.strictObject({
        postgres: z.string().min(1),
        /** The table (created if missing): replicas that share it share one journal. */
        table: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'use lower-case letters, digits and _ only')
          .default('breakwater_operations'),
        ...JOURNAL_POLICY,
      }),
      z.strictObject({ memory: z.literal(true), ...JOURNAL_POLICY }),
    ])
    .default({
      sqlite: 'breakwater.db',
      synchronous: 'FULL',
      successCommitDelayMs: 20,
      onUnavailable: 'degrade',
      writeTimeoutMs: 1_000,
      leaseMs: 30_000,
      content: 'none',
      retention: { succeededMs: 86_400_000, failedMs: 14 * 86_400_000, cancelledMs: 14 * 86_400_000 },
    }),
  /**
   * Prices per upstream (`provider:model`) or per model name, in currency units per million tokens:
   * the journal and `/metrics` then carry the cost of the attempt that answered.
   */
  prices: z
    .record(
      z.string().min(1),
      z.strictObject({ inputPerMillion: z.number().min(0), outputPerMillion: z.number().min(0) }),
    )
    .default({}),
});

export type GatewayConfig = z.infer<typeof ConfigSchema>;
export type RouteConfig = z.infer<typeof RouteSchema>;
export type TargetConfig = z.infer<typeof TargetSchema>;
export type ServerConfig = z.infer<typeof ServerSchema>;
export type ProviderConfig = z.infer<typeof ProviderSchema>;
