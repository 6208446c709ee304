import { z } from 'zod';

const identifier = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/, 'use letters, digits and . _ : - only');
const sha256 = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'must be the hex SHA-256 of the key (echo -n KEY | sha256sum), never the key itself');

export const ProviderSchema = z.strictObject({
  /** Any OpenAI-compatible base URL, e.g. https://api.openai.com/v1. */
  baseUrl: z.url({ message: 'must be a full URL such as https://api.openai.com/v1' }),
  /** Name of the environment variable that holds the key; the key itself never goes in the file. */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name such as OPENAI_API_KEY')
    .optional(),
});

export const TargetSchema = z.strictObject({
  provider: identifier,
  model: z.string().min(1),
  /** Tokens the model accepts: a context_length failure falls back only to a larger target. */
  contextWindow: z.number().int().positive().optional(),
});

export const RouteSchema = z.strictObject({
  targets: z.array(TargetSchema).min(1, 'a route needs at least one target'),
  retry: z.strictObject({ maxAttempts: z.number().int().min(1).max(10).default(3) }).default({ maxAttempts: 3 }),
  /** Per-attempt timeout until the response headers (ms). */
  attemptTimeoutMs: z.number().int().positive().default(30_000),
  /** The whole request, all attempts and fallbacks (ms). */
  totalTimeoutMs: z.number().int().positive().default(120_000),
  breaker: z
    .strictObject({ failures: z.number().int().min(1).default(5), breakMs: z.number().int().positive().default(5_000) })
    .default({ failures: 5, breakMs: 5_000 }),
  stream: z
    .strictObject({
      idleTimeoutMs: z.number().int().positive().default(30_000),
      totalTimeoutMs: z.number().int().positive().default(600_000),
    })
    .default({ idleTimeoutMs: 30_000, totalTimeoutMs: 600_000 }),
});

export const ConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      bodyLimitBytes: z.number().int().positive().default(2_000_000),
    })
    .default({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 2_000_000 }),
  providers: z.record(identifier, ProviderSchema),
  /** Model alias (what clients send as `model`) → ordered targets. */
  routes: z.record(z.string().min(1), RouteSchema),
  /** Client keys (SHA-256 hex). None configured: the gateway is open (bind it to loopback). */
  clients: z.array(z.strictObject({ name: identifier, keySha256: sha256 })).default([]),
  admin: z.strictObject({ keySha256: sha256 }).optional(),
  retryBudget: z
    .strictObject({ ratio: z.number().min(0).max(1).default(0.1), minPerSecond: z.number().min(0).default(3) })
    .default({ ratio: 0.1, minPerSecond: 3 }),
  journal: z
    .union([
      z.strictObject({ sqlite: z.string().min(1) }),
      z.strictObject({ postgres: z.string().min(1) }),
      z.strictObject({ memory: z.literal(true) }),
    ])
    .default({ sqlite: 'breakwater.db' }),
});

export type GatewayConfig = z.infer<typeof ConfigSchema>;
export type RouteConfig = z.infer<typeof RouteSchema>;
export type TargetConfig = z.infer<typeof TargetSchema>;
