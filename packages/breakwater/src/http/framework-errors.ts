import type { BreakwaterError } from '../errors/breakwater-error.js';
import { Errors } from '../errors/codes.js';
import { fromZodError, validationError, zodIssues } from '../errors/validation.js';
import { classify } from '../classify/classify.js';
import { read, readNumber, readString } from '../classify/walk.js';

/**
 * What a web framework throws about the *request* (bad JSON, wrong content type, too large, schema
 * validation) is the caller's error; anything else a handler throws is classified as usual, so an
 * upstream 401 stays a 502 for the client.
 */
export function toHttpError(thrown: unknown, correlationId?: string): BreakwaterError {
  const error = requestError(thrown) ?? classify(thrown);
  if (correlationId !== undefined && error.correlationId === undefined) error.correlationId = correlationId;
  return error;
}

function requestError(thrown: unknown): BreakwaterError | undefined {
  // Request validation: zod in a handler, fastify's schema validation.
  if (zodIssues(thrown)) return fromZodError(thrown);
  const fastifyValidation = read(thrown, 'validation');
  if (Array.isArray(fastifyValidation) && readString(thrown, 'code') === 'FST_ERR_VALIDATION') {
    const context = readString(thrown, 'validationContext') ?? 'body';
    return validationError(
      fastifyValidation.map(
        (v: { instancePath?: string; message?: string; keyword?: string; params?: { missingProperty?: string } }) => ({
          path: [
            context,
            ...(v.instancePath ?? '').split('/').filter(Boolean),
            ...(v.params?.missingProperty ? [v.params.missingProperty] : []),
          ].join('.'),
          message: v.message ?? 'is invalid',
          code: v.keyword ?? 'invalid',
        }),
      ),
    );
  }
  const status = readNumber(thrown, 'statusCode') ?? readNumber(thrown, 'status');
  const code = readString(thrown, 'code') ?? '';
  const type = readString(thrown, 'type') ?? ''; // body-parser (Express)
  const name = readString(thrown, 'name') ?? '';
  const fromFramework =
    code.startsWith('FST_ERR_') ||
    type.startsWith('entity.') ||
    type.endsWith('.unsupported') ||
    name === 'HTTPException' ||
    type === 'request.aborted';
  if (!fromFramework || status === undefined) {
    // fastify and body-parser both raise a SyntaxError with a 400 status for malformed JSON.
    if (name === 'SyntaxError' && status === 400)
      return Errors.malformedBody({ message: readString(thrown, 'message'), cause: thrown });
    return undefined;
  }
  if (type === 'request.aborted') return Errors.cancelled({ cause: thrown });
  if (status === 413) return Errors.payloadTooLarge({ cause: thrown });
  if (status === 415) return Errors.unsupportedMediaType({ cause: thrown });
  if (status === 404) return Errors.notFound({ cause: thrown });
  if (status === 405) return Errors.methodNotAllowed({ cause: thrown });
  if (status === 401) return Errors.unauthenticated({ cause: thrown });
  if (status === 403) return Errors.forbidden({ cause: thrown });
  if (status >= 400 && status < 500)
    return Errors.malformedBody({ message: readString(thrown, 'message'), cause: thrown });
  return undefined;
}
