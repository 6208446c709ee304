// breakwater/http: the framework-neutral HTTP layer (the integrations are breakwater/fastify,
// breakwater/express and breakwater/hono).
export { errorResponse, type ErrorResponse, type ErrorFormat, type HttpErrorOptions } from './error-response.js';
export { toHttpError } from './framework-errors.js';
export { allowedMethods } from './route-methods.js';
export { CORRELATION_HEADER, type HttpIntegrationOptions } from './options.js';
export { writeClientError, installClientErrorHandler } from './client-error.js';
export { jsonNestingExceeds, DEFAULT_MAX_JSON_DEPTH } from './json-depth.js';
export { withTopLevel } from './json-text.js';
