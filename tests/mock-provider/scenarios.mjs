// Scenario selection for the mock provider.
//
// A relay forwards only allow-listed headers, so the scenario travels inside the request body:
// a marker `[[mock:NAME]]` or `[[mock:NAME:ARG]]` (ARG may itself contain colons, e.g.
// `[[mock:paced:8:200]]`) in the LAST user-authored text.
//   Responses API: the last input item with role "user" (or `input` itself when it is a string).
//   Chat Completions: the last message with role "user".
//   Embeddings: the last input string.
// Special rule (Responses API): when the LAST input item is a `function_call_output`, the
// scenario is `tool_result`, which answers "tool output was: <output>" and so completes a Codex
// tool round trip.
// Direct (non-relay) callers may also use the `x-mock-scenario: NAME[:ARG]` header; the body
// marker wins when both are present.

const MARKER = /\[\[mock:([a-z0-9_]+)(?::([^\]]*))?\]\]/gi;

/** Every scenario the mock understands, with a one-line description (used by the README test). */
export const SCENARIOS = {
  default: 'plain answer "Hello from mock" (reasoning item + message item, usage)',
  tool_call: 'function_call to exec_command with {"cmd":"echo relay-tool-ok"} (ARG overrides cmd)',
  tool_result: 'automatic when the last input item is a function_call_output: "tool output was: <output>"',
  echo: 'echo:TEXT[:IN:CACHED:OUT:REASONING] — answers "echo: TEXT", with that usage when given',
  paced: 'paced:N:MS — N output_text deltas MS ms apart',
  bulk: 'bulk:MIB — MIB mebibytes of 16 KiB text deltas, written only as fast as the reader drains them',
  silent: 'silent:MS — response.created, then nothing for MS ms, then the rest',
  slow_headers: 'slow_headers:MS — wait MS ms before sending the status line',
  http_429: '429 rate_limit_exceeded with Retry-After: 1 (ARG overrides seconds)',
  http_429_no_retry_after: '429 rate_limit_exceeded without Retry-After (body says "try again in 1.5s")',
  insufficient_quota: '429 insufficient_quota',
  http_500: '500 server_error, code null',
  http_502_html: '502 with a text/html body',
  http_503_overloaded: '503 code server_is_overloaded',
  http_503: '503 code null',
  http_401: '401 invalid_api_key (OpenAI-shaped)',
  context_length: '400 context_length_exceeded',
  cut_mid_stream: 'stream: socket destroyed after a few events',
  eof_before_completed: 'stream: clean EOF after some deltas, no response.completed',
  error_event: 'stream: `event: error` flat {type,code,message} then EOF (ARG "nested" for {error:{...}})',
  failed_server_error: 'stream: response.failed with error.code server_error',
  failed_rate_limit: 'stream: response.failed rate_limit_exceeded "try again in 2.5s" (ARG overrides seconds)',
  failed_context_length: 'stream: response.failed context_length_exceeded',
  failed_insufficient_quota: 'stream: response.failed insufficient_quota',
  incomplete: 'stream: some text, then response.incomplete reason max_output_tokens',
};

function textOfContent(content) {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (typeof p === 'string' ? p : p && typeof p.text === 'string' ? p.text : ''))
    .join('\n');
}

/** Last user-authored text of a Responses API body. */
export function lastUserTextResponses(body) {
  if (!body) return '';
  const input = body.input;
  if (typeof input === 'string') return input;
  if (!Array.isArray(input)) return '';
  for (let i = input.length - 1; i >= 0; i--) {
    const item = input[i];
    if (item && item.role === 'user' && (item.type === undefined || item.type === 'message')) {
      return textOfContent(item.content);
    }
  }
  return '';
}

/** Last user message text of a Chat Completions body. */
export function lastUserTextChat(body) {
  const msgs = body && Array.isArray(body.messages) ? body.messages : [];
  for (let i = msgs.length - 1; i >= 0; i--) {
    if (msgs[i] && msgs[i].role === 'user') return textOfContent(msgs[i].content);
  }
  return '';
}

export function lastTextEmbeddings(body) {
  const input = body && body.input;
  if (typeof input === 'string') return input;
  if (Array.isArray(input) && input.length && typeof input[input.length - 1] === 'string') {
    return input[input.length - 1];
  }
  return '';
}

/** Parses the LAST marker in `text`; returns {name, arg, args} or null. */
export function parseMarker(text) {
  if (typeof text !== 'string' || !text) return null;
  let last = null;
  for (const m of text.matchAll(MARKER)) last = m;
  if (!last) return null;
  return fromParts(last[1], last[2]);
}

function fromParts(name, arg) {
  name = String(name).toLowerCase();
  const a = arg === undefined || arg === '' ? null : String(arg);
  return { name, arg: a, args: a === null ? [] : a.split(':') };
}

function fromHeader(h) {
  if (!h || typeof h !== 'string') return null;
  const i = h.indexOf(':');
  return i < 0 ? fromParts(h.trim()) : fromParts(h.slice(0, i).trim(), h.slice(i + 1).trim());
}

/**
 * Chooses the scenario for a request.
 * @param {'responses'|'chat'|'embeddings'|'models'} kind
 */
export function selectScenario(kind, body, headers) {
  if (kind === 'responses' && body && Array.isArray(body.input) && body.input.length) {
    const last = body.input[body.input.length - 1];
    if (last && last.type === 'function_call_output') {
      const out = typeof last.output === 'string' ? last.output : JSON.stringify(last.output);
      return { name: 'tool_result', arg: null, args: [], output: out };
    }
  }
  let text = '';
  if (kind === 'responses') text = lastUserTextResponses(body);
  else if (kind === 'chat') text = lastUserTextChat(body);
  else if (kind === 'embeddings') text = lastTextEmbeddings(body);
  const sc = parseMarker(text) || fromHeader(headers && headers['x-mock-scenario']) || fromParts('default');
  if (!(sc.name in SCENARIOS)) sc.unknown = true;
  return sc;
}

export function intArg(sc, i, dflt) {
  const v = sc.args[i];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  return Number.isFinite(n) ? n : dflt;
}
