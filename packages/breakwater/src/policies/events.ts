import { channel } from 'node:diagnostics_channel';

/**
 * Every policy event is also published here (as undici publishes on `undici:*`): producers do not
 * know their consumers, and a consumer subscribed once sees each event once, however many
 * pipelines share the policy that emitted it. See `subscribeTelemetry` (breakwater) for sinks.
 */
export const TELEMETRY_CHANNEL = 'breakwater:events';
const bus = channel(TELEMETRY_CHANNEL);

/** What the telemetry channel carries: which kind of emitter, which event, and the event itself. */
export interface PublishedEvent {
  source: string;
  name: string;
  event: unknown;
}

type AnyListener = (name: string, event: unknown) => void;

/**
 * A minimal typed emitter. Emitting with no listener and no channel subscriber costs two property
 * reads, so policies can announce every decision without slowing the happy path.
 */
export class Emitter<Events extends Record<string, unknown>> {
  private listeners: { [K in keyof Events]?: Array<(event: Events[K]) => void> } = {};
  private anyListeners: AnyListener[] = [];
  /** Listeners of any kind: while 0, `hasListeners` reads no table (a keyed lookup per event). */
  private listening = 0;

  /** `source` names the emitter's kind on the channel (`retry`, `breaker`, `pipeline`…). */
  constructor(readonly source: string) {}

  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    (this.listeners[name] ??= []).push(listener);
    this.listening++;
    return () => this.forget(this.listeners[name], listener);
  }

  /** Every event of this emitter, whatever its name (for generic sinks). */
  onAny(listener: AnyListener): () => void {
    this.anyListeners.push(listener);
    this.listening++;
    return () => this.forget(this.anyListeners, listener);
  }

  hasListeners(name: keyof Events): boolean {
    if (this.listening === 0) return bus.hasSubscribers;
    return (this.listeners[name]?.length ?? 0) > 0 || this.anyListeners.length > 0 || bus.hasSubscribers;
  }

  /** Unsubscribes one listener (a second call does nothing). */
  private forget<T>(list: T[] | undefined, listener: T): void {
    if (remove(list, listener)) this.listening--;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    for (const listener of this.listeners[name] ?? []) guarded(() => listener(event));
    for (const listener of this.anyListeners) guarded(() => listener(name as string, event));
    if (bus.hasSubscribers)
      guarded(() => bus.publish({ source: this.source, name: name as string, event } satisfies PublishedEvent));
  }
}

function remove<T>(list: T[] | undefined, item: T): boolean {
  const index = list?.indexOf(item) ?? -1;
  if (list && index >= 0) list.splice(index, 1);
  return index >= 0;
}

function guarded(fn: () => void): void {
  try {
    fn();
  } catch {
    // A broken listener (a logger, a metric) must never change the outcome of a call.
  }
}
