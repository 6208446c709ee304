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
  'content_filter',
  'tpm_too_large',
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
  content_filter: {
    status: 400,
    type: 'invalid_request_error',
    code: 'content_filter',
    message: "The response was filtered due to the prompt triggering OpenAI's usage policy.",
  },
  tpm_too_large: {
    status: 429,
    type: 'tokens',
    code: 'rate_limit_exceeded',
    message:
      'Request too large for gpt-4o-mini on tokens per min (TPM): Limit 30000, Requested 342389. The input or output tokens must be reduced in order to run successfully.',
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

/** An error answer exactly as one provider sends it: status, headers and the raw body. */
export interface PersonaAnswer {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/**
 * Provider personas: the same fault in each provider's own words (bodies taken from the rows of
 * breakwater's provider table, where their sources are named). A fault a persona does not word
 * differently falls back to OpenAI's body.
 */
export const PERSONAS = {
  vllm: {
    context_length: {
      status: 400,
      body: {
        object: 'error',
        message:
          "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4488 in the messages, 512 in the completion). Please reduce the length of the messages or completion.",
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    },
  },
  llamacpp: {
    context_length: {
      status: 400,
      body: {
        error: {
          code: 400,
          message: 'request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it',
          type: 'exceed_context_size_error',
          n_prompt_tokens: 5000,
          n_ctx: 4096,
        },
      },
    },
  },
  gemini: {
    context_length: {
      status: 400,
      body: {
        error: {
          code: 400,
          message: 'The input token count (5000) exceeds the maximum number of tokens allowed (4096).',
          status: 'INVALID_ARGUMENT',
        },
      },
    },
  },
  openrouter: {
    quota: {
      status: 402,
      body: { error: { code: 402, message: 'Insufficient credits. Add more using https://openrouter.ai/credits' } },
    },
  },
  deepseek: {
    quota: {
      status: 402,
      body: {
        error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' },
      },
    },
  },
  groq: {
    tpm_too_large: {
      status: 413,
      body: {
        error: {
          message:
            'Request too large for model `llama-3.3-70b-versatile` in organization `org_sim` service tier `on_demand` on tokens per minute (TPM): Limit 12000, Requested 14137, please reduce your message size and try again.',
          type: 'tokens',
          code: 'rate_limit_exceeded',
        },
      },
    },
  },
  azure: {
    content_filter: {
      status: 400,
      body: {
        error: {
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
          type: null,
          param: 'prompt',
          code: 'content_filter',
          status: 400,
          innererror: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_result: {
              hate: { filtered: false, severity: 'safe' },
              jailbreak: { filtered: true, detected: true },
              violence: { filtered: true, severity: 'medium' },
            },
          },
        },
      },
    },
  },
} as const satisfies Record<string, Partial<Record<Fault, PersonaAnswer>>>;

export type Persona = keyof typeof PERSONAS;

export function isPersona(value: unknown): value is Persona {
  return typeof value === 'string' && value in PERSONAS;
}
