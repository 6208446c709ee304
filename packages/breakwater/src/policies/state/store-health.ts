export interface StateStoreHealth {
  status: 'pass' | 'warn';
  /** Decisions taken from local state because the shared store was slow or out of reach. */
  fallbacks: number;
  lastError?: string;
}

/** How recently a shared store failed: `warn` for 10 s after a fallback, and while unreachable. */
export class StoreHealth {
  fallbacks = 0;
  reachable = true;
  private lastError: string | undefined;
  private lastFallbackAt = -Infinity;

  constructor(private readonly onFallback?: (operation: string, error: Error) => void) {}

  fellBack(operation: string, error: unknown): void {
    this.fallbacks++;
    this.reachable = false;
    this.lastFallbackAt = Date.now();
    const err = error instanceof Error ? error : new Error(String(error));
    this.lastError = `${operation}: ${err.message}`;
    this.onFallback?.(operation, err);
  }

  succeeded(): void {
    this.reachable = true;
  }

  readonly noteError = (error: unknown): void => {
    this.lastError = error instanceof Error ? error.message : String(error);
  };

  report(connected: boolean): StateStoreHealth {
    const recent = Date.now() - this.lastFallbackAt < 10_000;
    return {
      status: connected && !recent ? 'pass' : 'warn',
      fallbacks: this.fallbacks,
      ...(this.lastError ? { lastError: this.lastError } : {}),
    };
  }
}
