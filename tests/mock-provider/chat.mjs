// POST /v1/chat/completions (stream and non-stream), GET /v1/models, POST /v1/embeddings.
// Steps use the same format as responses.mjs, plus {raw, type} for `data: [DONE]`.

import { randomBytes } from 'node:crypto';
import { DEFAULT_TEXT, TOOL_CMD, chunkText } from './responses.mjs';
import { intArg } from './scenarios.mjs';

const hex = (n) => randomBytes(n).toString('hex');

/** CHAT_USAGE, or the figures of an `echo:TEXT:IN:CACHED:OUT:REASONING` marker. */
function chatUsageFor(sc) {
  if (sc.name !== 'echo' || sc.args.length < 5) return CHAT_USAGE;
  const [input, cached, output, reasoning] = [1, 2, 3, 4].map((i) => intArg(sc, i, 0));
  return {
    ...CHAT_USAGE,
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    completion_tokens_details: { ...CHAT_USAGE.completion_tokens_details, reasoning_tokens: reasoning },
  };
}

const chatText = (sc) => (sc.name === 'echo' ? `echo: ${sc.args[0] ?? ''}` : DEFAULT_TEXT);

export const CHAT_USAGE = Object.freeze({
  prompt_tokens: 19,
  completion_tokens: 10,
  total_tokens: 29,
  prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
  completion_tokens_details: {
    reasoning_tokens: 0,
    audio_tokens: 0,
    accepted_prediction_tokens: 0,
    rejected_prediction_tokens: 0,
  },
});

function ctxFor(body) {
  return {
    id: `chatcmpl-${hex(12)}`,
    created: Math.floor(Date.now() / 1000),
    model: (body && typeof body.model === 'string' && body.model) || 'gpt-4o-mini',
    fingerprint: 'fp_mock0001',
    callId: `call_${hex(12)}`,
  };
}

function chunk(ctx, choices, usage) {
  const c = {
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    service_tier: 'default',
    system_fingerprint: ctx.fingerprint,
    choices,
  };
  if (usage !== undefined) c.usage = usage;
  return c;
}

function toolCallArgs(sc) {
  return JSON.stringify({ cmd: sc.arg || TOOL_CMD });
}

export function chatStreamSteps(sc, body) {
  const ctx = ctxFor(body);
  const includeUsage = !!(body && body.stream_options && body.stream_options.include_usage);
  const u = includeUsage ? null : undefined; // OpenAI sends "usage":null on every chunk when asked
  const steps = [];
  const ch = (choices) => ({ event: chunk(ctx, choices, u) });

  if (sc.name === 'tool_call') {
    const args = toolCallArgs(sc);
    steps.push(
      ch([
        {
          index: 0,
          delta: {
            role: 'assistant',
            content: null,
            tool_calls: [{ index: 0, id: ctx.callId, type: 'function', function: { name: 'exec_command', arguments: '' } }],
            refusal: null,
          },
          logprobs: null,
          finish_reason: null,
        },
      ]),
    );
    for (const part of chunkText(args, 10)) {
      steps.push(ch([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: part } }] }, logprobs: null, finish_reason: null }]));
    }
    steps.push(ch([{ index: 0, delta: {}, logprobs: null, finish_reason: 'tool_calls' }]));
  } else {
    steps.push(ch([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }]));
    if (sc.name === 'silent') steps.push({ sleep: Math.max(0, intArg(sc, 0, 1500)) });
    let parts = chunkText(chatText(sc));
    let gap = 0;
    if (sc.name === 'paced') {
      parts = [];
      for (let i = 0; i < Math.max(1, intArg(sc, 0, 8)); i++) parts.push(`tok${i} `);
      gap = Math.max(0, intArg(sc, 1, 200));
    }
    parts.forEach((p, i) => {
      if (i > 0 && gap) steps.push({ sleep: gap });
      steps.push(ch([{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }]));
      if (i === 1 && sc.name === 'cut_mid_stream') steps.push({ sleep: 50 }, { destroy: true });
    });
    if (sc.name === 'cut_mid_stream') return steps;
    if (sc.name === 'eof_before_completed') return [...steps, { end: true }];
    if (['error_event', 'failed_server_error', 'failed_rate_limit', 'failed_context_length', 'failed_insufficient_quota'].includes(sc.name)) {
      steps.push({
        event: { error: { message: 'The server had an error while processing your request. (mock)', type: 'server_error', param: null, code: 'server_error' } },
      });
      return [...steps, { end: true }];
    }
    const finish = sc.name === 'incomplete' ? 'length' : 'stop';
    steps.push(ch([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }]));
  }
  if (includeUsage) steps.push({ event: chunk(ctx, [], chatUsageFor(sc)) });
  steps.push({ raw: 'data: [DONE]\n\n', type: '[DONE]' }, { end: true });
  return steps;
}

export function chatNonStream(sc, body) {
  const ctx = ctxFor(body);
  const message =
    sc.name === 'tool_call'
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: ctx.callId, type: 'function', function: { name: 'exec_command', arguments: toolCallArgs(sc) } }],
          refusal: null,
          annotations: [],
        }
      : { role: 'assistant', content: chatText(sc), refusal: null, annotations: [] };
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: sc.name === 'tool_call' ? 'tool_calls' : sc.name === 'incomplete' ? 'length' : 'stop',
      },
    ],
    usage: chatUsageFor(sc),
    service_tier: 'default',
    system_fingerprint: ctx.fingerprint,
  };
}

export function modelsList(models) {
  return {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created: 1700000000, owned_by: 'openai' })),
  };
}

/** Deterministic pseudo-embedding of `text` with `dims` dimensions. */
function embed(text, dims) {
  const v = new Float32Array(dims);
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  for (let i = 0; i < dims; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    v[i] = (h / 4294967296) * 2 - 1;
  }
  return v;
}

export function embeddings(body) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 ? Math.min(body.dimensions, 3072) : 8;
  const b64 = body.encoding_format === 'base64';
  let tokens = 0;
  const data = inputs.map((inp, index) => {
    const text = typeof inp === 'string' ? inp : JSON.stringify(inp);
    tokens += Math.max(1, Math.ceil(text.length / 4));
    const v = embed(text, dims);
    return {
      object: 'embedding',
      index,
      embedding: b64 ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : Array.from(v),
    };
  });
  return {
    object: 'list',
    data,
    model: body.model || 'text-embedding-3-small',
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}
