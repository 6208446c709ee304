/**
 * A minimal typed emitter. Emitting with no listener costs one property read, so policies can
 * announce every decision without slowing the happy path.
 */
export class Emitter<Events extends Record<string, unknown>> {
  private listeners: { [K in keyof Events]?: Array<(event: Events[K]) => void> } = {};

  on<K extends keyof Events>(name: K, listener: (event: Events[K]) => void): () => void {
    (this.listeners[name] ??= []).push(listener);
    return () => {
      const list = this.listeners[name];
      const index = list?.indexOf(listener) ?? -1;
      if (list && index >= 0) list.splice(index, 1);
    };
  }

  hasListeners(name: keyof Events): boolean {
    return (this.listeners[name]?.length ?? 0) > 0;
  }

  emit<K extends keyof Events>(name: K, event: Events[K]): void {
    const list = this.listeners[name];
    if (!list) return;
    for (const listener of list) {
      try {
        listener(event);
      } catch {
        // A broken listener (a logger, a metric) must never change the outcome of a call.
      }
    }
  }
}
