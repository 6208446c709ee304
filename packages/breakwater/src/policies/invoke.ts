/**
 * Calls `fn(ctx)` so that a synchronous throw becomes a rejection and a plain value a promise: the
 * callee at the pipeline's core, and the rest of the pipeline (`next`) where a policy chains on it.
 */
export function invoke<C, T>(fn: (ctx: C) => PromiseLike<T> | T, ctx: C): Promise<T> {
  try {
    const result = fn(ctx);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}
