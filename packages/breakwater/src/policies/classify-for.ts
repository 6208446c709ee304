import { classify } from '../classify/classify.js';
import { isBreakwaterError, type BreakwaterError } from '../errors/breakwater-error.js';
import { Errors } from '../errors/codes.js';
import type { CallContext } from './context.js';

/** Classifies a rejection in the light of the call: after our own deadline fired, it is a timeout. */
export function classifyFor(thrown: unknown, ctx: CallContext): BreakwaterError {
  if (ctx.innerTimeout && !isBreakwaterError(thrown) && !ctx.cancelledByCaller) {
    return Errors.timeout({ cause: thrown, correlationId: ctx.correlationId, message: 'A breakwater timeout fired.' });
  }
  return classify(thrown, { correlationId: ctx.correlationId });
}
