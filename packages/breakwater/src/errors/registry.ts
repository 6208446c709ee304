import { Errors } from './codes.js';
import { userDefinedErrorCodes, type ErrorCodeDefinition } from './define-error.js';

/**
 * Every documented code: the built-in ones, read from the `Errors` table itself (not from a
 * registration that would depend on module side effects under `sideEffects: false`), then those
 * your code defined with `defineError`.
 */
export function definedErrorCodes(): ErrorCodeDefinition[] {
  const builtIn = Object.values(Errors).map((factory) => factory.definition);
  const known = new Set(builtIn.map((d) => d.code));
  return [...builtIn, ...userDefinedErrorCodes().filter((d) => !known.has(d.code))];
}

export function errorCodeDefinition(code: string): ErrorCodeDefinition | undefined {
  return definedErrorCodes().find((d) => d.code === code);
}
