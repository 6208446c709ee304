import { BACKOFF, defineRules, NO_DELAY, type Rule, type Signal } from '../rule.js';
import { readString } from '../walk.js';
import { ABORT_RULES } from './abort.js';

export const NETWORK_RULES = defineRules('net', 'Node.js sockets / fetch (undici)', {
  connection_failed: {
    signal:
      'code ECONNREFUSED, ECONNRESET, EPIPE, EHOSTUNREACH, ENETUNREACH, ENETDOWN, ECONNABORTED, EAI_AGAIN, UND_ERR_SOCKET, UND_ERR_CLOSED, ERR_STREAM_PREMATURE_CLOSE',
    category: 'network',
    retryable: true,
    delay: BACKOFF,
  },
  dns_not_found: {
    signal: 'code ENOTFOUND (the host name does not resolve: a configuration error more often than a blip)',
    category: 'network',
    retryable: false,
    delay: NO_DELAY,
  },
  tls_failed: {
    signal:
      'TLS certificate codes (CERT_HAS_EXPIRED, DEPTH_ZERO_SELF_SIGNED_CERT, ERR_TLS_CERT_ALTNAME_INVALID, UNABLE_TO_VERIFY_LEAF_SIGNATURE, EPROTO)',
    category: 'network',
    retryable: false,
    delay: NO_DELAY,
  },
  connect_timeout: {
    signal: 'code ETIMEDOUT, ESOCKETTIMEDOUT, UND_ERR_CONNECT_TIMEOUT',
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
  },
  response_timeout: {
    signal: 'code UND_ERR_HEADERS_TIMEOUT, UND_ERR_BODY_TIMEOUT (undici headersTimeout/bodyTimeout)',
    category: 'timeout',
    retryable: true,
    delay: BACKOFF,
  },
  response_too_large: {
    signal: 'code UND_ERR_RES_EXCEEDED_MAX_SIZE (undici maxResponseSize: an endless or oversized body, cut at the cap)',
    category: 'invalid_response',
    retryable: false,
    delay: NO_DELAY,
  },
});

const BY_CODE = new Map<string, Rule>();
const assign = (rule: Rule, codes: string[]): void => codes.forEach((code) => BY_CODE.set(code, rule));
assign(NETWORK_RULES.connection_failed, [
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ECONNABORTED',
  'EAI_AGAIN',
  'ENOTCONN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);
assign(NETWORK_RULES.dns_not_found, ['ENOTFOUND']);
assign(NETWORK_RULES.tls_failed, [
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'EPROTO',
]);
assign(NETWORK_RULES.connect_timeout, ['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT']);
assign(NETWORK_RULES.response_timeout, ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
assign(NETWORK_RULES.response_too_large, ['UND_ERR_RES_EXCEEDED_MAX_SIZE']);
assign(ABORT_RULES.aborted, ['UND_ERR_ABORTED', 'ABORT_ERR']);

/** Socket and undici failures, by their stable `code` (never by message). */
export function classifyNetwork(value: unknown): Signal | undefined {
  const code = readString(value, 'code');
  const rule = code === undefined ? undefined : BY_CODE.get(code);
  return rule && { rule, domain: 'UPSTREAM', details: { errno: code } };
}
