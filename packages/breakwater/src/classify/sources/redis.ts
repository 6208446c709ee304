import { BACKOFF, defineRules, NO_DELAY, type Rule, type Signal } from '../rule.js';
import { classNames, readString } from '../walk.js';

export const REDIS_RULES = defineRules('redis', 'ioredis, node-redis (redis)', {
  connection_lost: {
    signal:
      "ioredis 'Connection is closed.' (no code: message), MaxRetriesPerRequestError, ClusterAllFailedError; node-redis ClientClosedError, ClientOfflineError, SocketClosedUnexpectedlyError, DisconnectsClientError, ReconnectStrategyError",
    category: 'network',
    retryable: true,
    delay: BACKOFF,
    code: 'REDIS_CONNECTION_FAILED',
  },
  timeout: {
    signal:
      "ioredis 'Command timed out' (commandTimeout; no code: message); node-redis ConnectionTimeoutError, SocketTimeoutError (its plain TimeoutError: see abort.timed_out)",
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
  },
  busy: {
    signal: 'reply LOADING, BUSY (server loading data or running a script)',
    category: 'overloaded',
    retryable: true,
    delay: BACKOFF,
  },
  out_of_memory: { signal: 'reply OOM (maxmemory reached)', category: 'overloaded', retryable: true, delay: BACKOFF },
  failover: {
    signal: 'reply READONLY, MASTERDOWN, TRYAGAIN, CLUSTERDOWN (failover, replica, resharding)',
    category: 'network',
    retryable: true,
    delay: BACKOFF,
  },
  auth: { signal: 'reply NOAUTH, WRONGPASS', category: 'authentication', retryable: false, delay: NO_DELAY },
  permission: { signal: 'reply NOPERM (ACL)', category: 'permission', retryable: false, delay: NO_DELAY },
  watch_conflict: {
    signal: 'node-redis WatchError (a WATCHed key changed: retry the transaction)',
    category: 'conflict',
    retryable: true,
    delay: BACKOFF,
  },
  command_error: {
    signal: 'reply WRONGTYPE, ERR, EXECABORT, any other error reply (our command is wrong)',
    category: 'validation',
    retryable: false,
    delay: NO_DELAY,
  },
});

const PREFIX: ReadonlyMap<string, Rule> = new Map([
  ['LOADING', REDIS_RULES.busy],
  ['BUSY', REDIS_RULES.busy],
  ['OOM', REDIS_RULES.out_of_memory],
  ['READONLY', REDIS_RULES.failover],
  ['MASTERDOWN', REDIS_RULES.failover],
  ['TRYAGAIN', REDIS_RULES.failover],
  ['CLUSTERDOWN', REDIS_RULES.failover],
  ['NOAUTH', REDIS_RULES.auth],
  ['WRONGPASS', REDIS_RULES.auth],
  ['NOPERM', REDIS_RULES.permission],
]);

const CONNECTION_CLASSES = new Set([
  'MaxRetriesPerRequestError',
  'ClusterAllFailedError',
  'ClientClosedError',
  'ClientOfflineError',
  'SocketClosedUnexpectedlyError',
  'DisconnectsClientError',
  'ReconnectStrategyError',
]);
const TIMEOUT_CLASSES = new Set([
  'ConnectionTimeoutError',
  'SocketTimeoutError',
  'SocketTimeoutDuringMaintenanceError',
  'CommandTimeoutDuringMaintenanceError',
]);
const REPLY_CLASSES = new Set(['ReplyError', 'ErrorReply', 'SimpleError', 'BlobError']);
// ioredis raises these two as plain Errors with no code; the exact message is its only signal.
const IOREDIS_CLOSED = 'Connection is closed.';
const IOREDIS_TIMEOUT = 'Command timed out';

export function classifyRedis(value: unknown): Signal | undefined {
  const names = classNames(value);
  const message = readString(value, 'message') ?? '';
  const signal = (rule: Rule): Signal => ({ rule, domain: 'REDIS', dependency: 'redis' });
  if (names.some((n) => CONNECTION_CLASSES.has(n)) || message === IOREDIS_CLOSED)
    return signal(REDIS_RULES.connection_lost);
  if (names.some((n) => TIMEOUT_CLASSES.has(n)) || message === IOREDIS_TIMEOUT) return signal(REDIS_RULES.timeout);
  if (names.includes('WatchError')) return signal(REDIS_RULES.watch_conflict);
  if (!names.some((n) => REPLY_CLASSES.has(n))) return undefined;
  // The first word of an error reply is its code in the RESP protocol: structured, not prose.
  const prefix = message.split(' ', 1)[0] ?? '';
  return { ...signal(PREFIX.get(prefix) ?? REDIS_RULES.command_error), details: { reply: prefix } };
}
