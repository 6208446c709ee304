/** Every way the simulated upstream can fail, as real providers do. */
export const FAULTS = [
  'ok',
  'rate_limit',
  'quota',
  'overloaded',
  'unavailable',
  'server_error',
  'reset',
  'hang',
  'slow_headers',
  'slow_body',
  'endless_body',
  'slow_first_token',
  'stall_stream',
  'malformed_event',
  'no_done',
  'cut_stream',
  'stream_error',
  'malformed_json',
  'empty_choices',
  'context_length',
  'bad_request',
  'unauthorized',
] as const;

export type Fault = (typeof FAULTS)[number];

export function isFault(value: unknown): value is Fault {
  return typeof value === 'string' && (FAULTS as readonly string[]).includes(value);
}

/** Error bodies in OpenAI's shape, as the real API sends them. */
export const ERROR_BODIES: Partial<
  Record<Fault, { status: number; type: string; code: string | null; message: string; param?: string }>
> = {
  rate_limit: {
    status: 429,
    type: 'requests',
    code: 'rate_limit_exceeded',
    message: 'Rate limit reached for requests.',
  },
  quota: {
    status: 429,
    type: 'insufficient_quota',
    code: 'insufficient_quota',
    message: 'You exceeded your current quota, please check your plan and billing details.',
  },
  overloaded: { status: 529, type: 'overloaded_error', code: null, message: 'Overloaded' },
  unavailable: { status: 503, type: 'server_error', code: null, message: 'The server is overloaded or not ready yet.' },
  server_error: {
    status: 500,
    type: 'server_error',
    code: null,
    message: 'The server had an error while processing your request.',
  },
  context_length: {
    status: 400,
    type: 'invalid_request_error',
    code: 'context_length_exceeded',
    message: "This model's maximum context length is 8192 tokens.",
  },
  bad_request: {
    status: 400,
    type: 'invalid_request_error',
    code: 'decimal_above_max_value',
    message: "Invalid 'temperature': decimal above maximum value. Expected a value <= 2, but got 5 instead.",
    param: 'temperature',
  },
  unauthorized: {
    status: 401,
    type: 'invalid_request_error',
    code: 'invalid_api_key',
    message: 'Incorrect API key provided.',
  },
};
