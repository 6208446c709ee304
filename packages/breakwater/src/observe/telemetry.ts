import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { TELEMETRY_CHANNEL, type Emitter, type PublishedEvent } from '../policies/events.js';
import type { TelemetryEvents } from '../policies/telemetry-events.js';

/**
 * Where typed events go: a logger, a metrics registry, a tracer. A sink handles the events it
 * cares about, by name (`'retry.retry'`, `'breaker.stateChange'`, `'pipeline.call'` …).
 */
export type TelemetrySink = { [K in keyof TelemetryEvents]?: (event: TelemetryEvents[K]) => void };

type Handler = (event: unknown) => void;

function dispatch(sinks: readonly TelemetrySink[], source: string, name: string, event: unknown): void {
  const key = `${source}.${name}`;
  for (const sink of sinks) {
    const handler = (sink as Record<string, Handler | undefined>)[key];
    if (handler === undefined) continue;
    try {
      handler.call(sink, event);
    } catch {
      // A sink that throws must never change a call's outcome.
    }
  }
}

/**
 * Every breakwater event in the process, once each, to `sinks` (through the `breakwater:events`
 * diagnostics channel). A policy shared by many pipelines — one breaker per upstream used by
 * every route — is reported once per event, not once per pipeline. Returns the unsubscribe.
 */
export function subscribeTelemetry(...sinks: TelemetrySink[]): () => void {
  const listener = (message: unknown): void => {
    const { source, name, event } = message as PublishedEvent;
    dispatch(sinks, source, name, event);
  };
  subscribe(TELEMETRY_CHANNEL, listener);
  return () => void unsubscribe(TELEMETRY_CHANNEL, listener);
}

interface Observable {
  events?: Emitter<Record<string, unknown>>;
  policies?: readonly unknown[];
}

/**
 * The events of one target only — a pipeline (with its policies, nested pipelines and branches),
 * a policy or a tool — to `sinks`. Each emitter is wired once even if it appears twice. Returns a
 * function that disconnects.
 */
export function instrument(target: object, ...sinks: TelemetrySink[]): () => void {
  const emitters = new Set<Emitter<Record<string, unknown>>>();
  const collect = (node: unknown): void => {
    const { events, policies } = (node ?? {}) as Observable;
    if (events && typeof events.onAny === 'function') emitters.add(events);
    for (const child of policies ?? []) collect(child);
  };
  collect(target);
  const off = [...emitters].map((emitter) =>
    emitter.onAny((name, event) => dispatch(sinks, emitter.source, name, event)),
  );
  return () => off.forEach((disconnect) => disconnect());
}
