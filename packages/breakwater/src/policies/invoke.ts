import type { CallContext } from './context.js';
import type { Callee } from './policy.js';

/** Calls the callee so that a synchronous throw becomes a rejection and a plain value a promise. */
export function invoke<T>(fn: Callee<T>, ctx: CallContext): Promise<T> {
  try {
    const result = fn(ctx);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}
