import type { CircuitRecord, RetryCreditSettings, TokenRate } from '../state-store.js';

/** The id of a message that wants no answer. */
export const NO_ANSWER = 0;

/** A worker's question to the primary (`id` for those that wait for an answer; NO_ANSWER for the rest). */
export type StateRequest = { bw: 'state'; id: number } & (
  | { op: 'takeToken'; bucket: string; rate: TokenRate }
  | { op: 'withdrawRetry'; budget: string; settings: RetryCreditSettings; credit: number }
  | { op: 'depositRetryCredit'; budget: string; settings: RetryCreditSettings; amount: number }
  | { op: 'publishCircuit'; space: string; key: string; record: CircuitRecord }
  | { op: 'claimProbe'; space: string; key: string; ttlMs: number }
  | { op: 'countFailure'; space: string; key: string; windowMs: number }
  | { op: 'clearFailures'; space: string; key: string }
  | { op: 'circuits'; space: string }
);

export interface StateReply {
  bw: 'state-reply';
  id: number;
  value: unknown;
}

/** A transition, sent by the primary to every worker. */
export interface CircuitBroadcast {
  bw: 'state-circuit';
  space: string;
  key: string;
  record: CircuitRecord;
}

export function isStateRequest(message: unknown): message is StateRequest {
  return typeof message === 'object' && message !== null && (message as { bw?: unknown }).bw === 'state';
}

export function isStateReply(message: unknown): message is StateReply {
  return typeof message === 'object' && message !== null && (message as { bw?: unknown }).bw === 'state-reply';
}

export function isCircuitBroadcast(message: unknown): message is CircuitBroadcast {
  return typeof message === 'object' && message !== null && (message as { bw?: unknown }).bw === 'state-circuit';
}
