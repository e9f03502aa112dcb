// OpenAI-shaped HTTP error replies for the failure scenarios of codex-protocol.md §6.

import { intArg } from './scenarios.mjs';

export function errorBody(message, type, code, param = null) {
  return { error: { message, type, param, code } };
}

/** 401 returned when the mock's own API key is missing or wrong (like api.openai.com). */
export function unauthorized(provided) {
  const shown = provided ? `${String(provided).slice(0, 6)}***${String(provided).slice(-4)}` : '';
  const message = provided
    ? `Incorrect API key provided: ${shown}. You can find your API key at https://platform.openai.com/account/api-keys.`
    : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
  return { status: 401, json: errorBody(message, 'invalid_request_error', 'invalid_api_key') };
}

/**
 * The HTTP-level (before any body byte) failure for a scenario, or null.
 * Returns {status, headers?, json?|html?}.
 */
export function httpFailure(sc) {
  switch (sc.name) {
    case 'http_429':
      return {
        status: 429,
        headers: { 'retry-after': String(intArg(sc, 0, 1)) },
        json: errorBody(
          'Rate limit reached for gpt-5.5 in organization org-mock-secret on requests per min (RPM): Limit 5000, Used 5000, Requested 1. Please try again in 1s.',
          'requests',
          'rate_limit_exceeded',
        ),
      };
    case 'http_429_no_retry_after':
      return {
        status: 429,
        json: errorBody(
          'Rate limit reached for gpt-5.5 in organization org-mock-secret on tokens per min (TPM): Limit 30000, Used 30000, Requested 900. Please try again in 1.5s.',
          'tokens',
          'rate_limit_exceeded',
        ),
      };
    case 'insufficient_quota':
      return {
        status: 429,
        json: errorBody(
          'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.',
          'insufficient_quota',
          'insufficient_quota',
        ),
      };
    case 'http_500':
      return {
        status: 500,
        json: errorBody(
          'The server had an error while processing your request. Sorry about that!',
          'server_error',
          null,
        ),
      };
    case 'http_502_html':
      return {
        status: 502,
        html:
          '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n',
      };
    case 'http_503_overloaded':
      return {
        status: 503,
        json: errorBody(
          'The server is overloaded or not ready yet.',
          'server_error',
          'server_is_overloaded',
        ),
      };
    case 'http_503':
      return {
        status: 503,
        json: errorBody('Service temporarily unavailable (mock).', 'server_error', null),
      };
    case 'http_401':
      return {
        status: 401,
        json: errorBody(
          'Incorrect API key provided: sk-mock***0000. You can find your API key at https://platform.openai.com/account/api-keys.',
          'invalid_request_error',
          'invalid_api_key',
        ),
      };
    case 'context_length':
      return {
        status: 400,
        json: errorBody(
          'Your input exceeds the context window of this model. Please adjust your input and try again.',
          'invalid_request_error',
          'context_length_exceeded',
          'input',
        ),
      };
    default:
      return null;
  }
}

/** For non-streaming requests, the HTTP error that stands in for a stream-only failure. */
export function nonStreamFailure(sc) {
  switch (sc.name) {
    case 'error_event':
    case 'failed_server_error':
      return {
        status: 500,
        json: errorBody(
          'An error occurred while processing your request. (mock)',
          'server_error',
          'server_error',
        ),
      };
    case 'failed_rate_limit':
      return {
        status: 429,
        headers: { 'retry-after': '1' },
        json: errorBody('Rate limit reached. Please try again in 1s.', 'requests', 'rate_limit_exceeded'),
      };
    case 'failed_context_length':
      return httpFailure({ name: 'context_length', args: [] });
    case 'failed_insufficient_quota':
      return httpFailure({ name: 'insufficient_quota', args: [] });
    default:
      return null;
  }
}

/** The `response.error` object of a response.failed event. */
export function failedError(sc) {
  switch (sc.name) {
    case 'failed_server_error':
      return {
        code: 'server_error',
        message:
          'An error occurred while processing your request. You can retry your request, or contact us through our help center if the error persists. (mock)',
      };
    case 'failed_rate_limit': {
      const secs = sc.args[0] !== undefined ? sc.args[0] : '2.5';
      return {
        code: 'rate_limit_exceeded',
        message: `Rate limit reached for gpt-5.5 on tokens per min (TPM): Limit 30000, Used 30000, Requested 900. Please try again in ${secs}s.`,
      };
    }
    case 'failed_context_length':
      return {
        code: 'context_length_exceeded',
        message: 'Your input exceeds the context window of this model. Please adjust your input and try again.',
      };
    case 'failed_insufficient_quota':
      return {
        code: 'insufficient_quota',
        message: 'You exceeded your current quota, please check your plan and billing details.',
      };
    default:
      return null;
  }
}
