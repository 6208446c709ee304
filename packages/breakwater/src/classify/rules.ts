import type { Rule } from './rule.js';
import { HTTP_RULES } from './http-status.js';
import { FALLBACK_RULES } from './classify.js';
import { ABORT_RULES } from './sources/abort.js';
import { AWS_RULES } from './sources/aws.js';
import { RESPONSE_RULES } from './sources/invalid-response.js';
import { LLM_RULES } from './sources/llm.js';
import { NETWORK_RULES } from './sources/network.js';
import { PG_RULES } from './sources/postgres.js';
import { PROVIDER_RULES } from './sources/providers.js';
import { PROXY_RULES } from './sources/proxy.js';
import { SQLITE_RULES } from './sources/sqlite.js';
import { REDIS_RULES } from './sources/redis.js';
import { VERCEL_AI_RULES } from './sources/vercel-ai.js';

/** The rule tables by source, in the order docs/errors.md shows them. */
export const RULES = {
  llm: LLM_RULES,
  provider: PROVIDER_RULES,
  ai: VERCEL_AI_RULES,
  http: HTTP_RULES,
  net: NETWORK_RULES,
  abort: ABORT_RULES,
  aws: AWS_RULES,
  redis: REDIS_RULES,
  pg: PG_RULES,
  sqlite: SQLITE_RULES,
  response: RESPONSE_RULES,
  proxy: PROXY_RULES,
  unknown: FALLBACK_RULES,
} as const;

/** The whole classification table as one list. */
export const CLASSIFICATION_RULES: readonly Rule[] = Object.values(RULES).flatMap((table) => Object.values(table));
