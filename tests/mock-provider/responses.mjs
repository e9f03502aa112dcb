// POST /v1/responses: the event sequence of codex-protocol.md §3.2 (see
// shared/codex-samples/sample-sse-stream.txt), as a list of steps that server.mjs plays out.
//
// A step is one of:
//   {event: {type, ...}}   one SSE event (sequence_number is added by the player)
//   {sleep: ms}            pause
//   {destroy: true}        destroy the socket (no clean end of the chunked body)
//   {end: true}            clean end of the body

import { randomBytes } from 'node:crypto';
import { failedError } from './errors.mjs';
import { intArg } from './scenarios.mjs';

export const DEFAULT_TEXT = 'Hello from mock';
export const TOOL_CMD = 'echo relay-tool-ok';
export const REASONING_SUMMARY = '**Planning** the reply';
export const ENCRYPTED_CONTENT = 'gAAAAB' + 'mock'.repeat(16);

/** Fixed usage (same figures as the sample stream), so tests can assert accounting exactly. */
export const USAGE = Object.freeze({
  input_tokens: 2345,
  input_tokens_details: { cached_tokens: 1920 },
  output_tokens: 57,
  output_tokens_details: { reasoning_tokens: 32 },
  total_tokens: 2402,
});

const hex = (n) => randomBytes(n).toString('hex');

/** The usage of a reply: USAGE, or the figures of an `echo:TEXT:IN:CACHED:OUT:REASONING` marker. */
export function usageFor(sc) {
  if (sc.name !== 'echo' || sc.args.length < 5) return USAGE;
  const [input, cached, output, reasoning] = [1, 2, 3, 4].map((i) => intArg(sc, i, 0));
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: cached },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: reasoning },
    total_tokens: input + output,
  };
}

export function chunkText(text, size = 8) {
  const out = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

function ctxFor(body) {
  return {
    respId: `resp_${hex(12)}`,
    rsId: `rs_${hex(12)}`,
    msgId: `msg_${hex(12)}`,
    fcId: `fc_${hex(12)}`,
    callId: `call_${hex(12)}`,
    createdAt: Math.floor(Date.now() / 1000),
    model: (body && typeof body.model === 'string' && body.model) || 'gpt-5.5',
    body: body || {},
  };
}

function responseObject(ctx, status, output, extra = {}) {
  const b = ctx.body;
  return {
    id: ctx.respId,
    object: 'response',
    created_at: ctx.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model: ctx.model,
    output,
    parallel_tool_calls: b.parallel_tool_calls ?? true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: b.reasoning?.effort ?? null, summary: b.reasoning?.summary ?? null },
    store: b.store ?? true,
    temperature: 1,
    text: { format: { type: 'text' }, verbosity: b.text?.verbosity ?? 'medium' },
    tool_choice: b.tool_choice ?? 'auto',
    tools: [],
    top_p: 1,
    truncation: 'disabled',
    usage: null,
    user: null,
    metadata: {},
    ...extra,
  };
}

function reasoningItem(ctx) {
  return {
    id: ctx.rsId,
    type: 'reasoning',
    summary: [{ type: 'summary_text', text: REASONING_SUMMARY }],
    encrypted_content: ENCRYPTED_CONTENT,
  };
}

function messageItem(ctx, text, status = 'completed') {
  return {
    id: ctx.msgId,
    type: 'message',
    status,
    role: 'assistant',
    content: [{ type: 'output_text', text, annotations: [], logprobs: [] }],
  };
}

function functionCallItem(ctx, args, status = 'completed') {
  return {
    id: ctx.fcId,
    type: 'function_call',
    status,
    arguments: args,
    call_id: ctx.callId,
    name: 'exec_command',
  };
}

function reasoningSteps(ctx, idx) {
  const item = reasoningItem(ctx);
  const parts = ['**Planning**', ' the reply'];
  const steps = [
    { event: { type: 'response.output_item.added', output_index: idx, item: { id: ctx.rsId, type: 'reasoning', summary: [] } } },
    {
      event: {
        type: 'response.reasoning_summary_part.added',
        item_id: ctx.rsId,
        output_index: idx,
        summary_index: 0,
        part: { type: 'summary_text', text: '' },
      },
    },
  ];
  for (const d of parts) {
    steps.push({
      event: { type: 'response.reasoning_summary_text.delta', item_id: ctx.rsId, output_index: idx, summary_index: 0, delta: d },
    });
  }
  steps.push(
    {
      event: {
        type: 'response.reasoning_summary_text.done',
        item_id: ctx.rsId,
        output_index: idx,
        summary_index: 0,
        text: REASONING_SUMMARY,
      },
    },
    {
      event: {
        type: 'response.reasoning_summary_part.done',
        item_id: ctx.rsId,
        output_index: idx,
        summary_index: 0,
        part: { type: 'summary_text', text: REASONING_SUMMARY },
      },
    },
    { event: { type: 'response.output_item.done', output_index: idx, item } },
  );
  return { steps, item };
}

/** Message item events. `deltas` is a list of strings; `gapMs` pauses between deltas. */
function messageSteps(ctx, idx, deltas, { gapMs = 0, finish = true, status = 'completed' } = {}) {
  const text = deltas.join('');
  const steps = [
    {
      event: {
        type: 'response.output_item.added',
        output_index: idx,
        item: { id: ctx.msgId, type: 'message', status: 'in_progress', role: 'assistant', content: [] },
      },
    },
    {
      event: {
        type: 'response.content_part.added',
        item_id: ctx.msgId,
        output_index: idx,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
      },
    },
  ];
  deltas.forEach((d, i) => {
    if (i > 0 && gapMs > 0) steps.push({ sleep: gapMs });
    steps.push({
      event: {
        type: 'response.output_text.delta',
        item_id: ctx.msgId,
        output_index: idx,
        content_index: 0,
        delta: d,
        logprobs: [],
      },
    });
  });
  const item = messageItem(ctx, text, status);
  if (finish) {
    steps.push(
      {
        event: { type: 'response.output_text.done', item_id: ctx.msgId, output_index: idx, content_index: 0, text, logprobs: [] },
      },
      {
        event: {
          type: 'response.content_part.done',
          item_id: ctx.msgId,
          output_index: idx,
          content_index: 0,
          part: { type: 'output_text', text, annotations: [], logprobs: [] },
        },
      },
      { event: { type: 'response.output_item.done', output_index: idx, item } },
    );
  }
  return { steps, item };
}

function functionCallSteps(ctx, idx, args) {
  const item = functionCallItem(ctx, args);
  const half = Math.ceil(args.length / 2);
  return {
    item,
    steps: [
      { event: { type: 'response.output_item.added', output_index: idx, item: functionCallItem(ctx, '', 'in_progress') } },
      { event: { type: 'response.function_call_arguments.delta', item_id: ctx.fcId, output_index: idx, delta: args.slice(0, half) } },
      { event: { type: 'response.function_call_arguments.delta', item_id: ctx.fcId, output_index: idx, delta: args.slice(half) } },
      { event: { type: 'response.function_call_arguments.done', item_id: ctx.fcId, output_index: idx, arguments: args } },
      { event: { type: 'response.output_item.done', output_index: idx, item } },
    ],
  };
}

function toolArgs(sc) {
  const cmd = sc.name === 'tool_call' && sc.arg ? sc.arg : TOOL_CMD;
  return JSON.stringify({ cmd });
}

function answerText(sc) {
  if (sc.name === 'tool_result') return `tool output was: ${sc.output}`;
  if (sc.name === 'echo') return `echo: ${sc.args[0] ?? ''}`;
  return DEFAULT_TEXT;
}

function pacedDeltas(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(`tok${i} `);
  return out;
}

/** Output items (and their steps) of a successful response for this scenario. */
function successBody(ctx, sc) {
  const r = reasoningSteps(ctx, 0);
  if (sc.name === 'tool_call') {
    const f = functionCallSteps(ctx, 1, toolArgs(sc));
    return { steps: [...r.steps, ...f.steps], output: [r.item, f.item] };
  }
  if (sc.name === 'paced') {
    const n = Math.max(1, intArg(sc, 0, 8));
    const ms = Math.max(0, intArg(sc, 1, 200));
    const m = messageSteps(ctx, 1, pacedDeltas(n), { gapMs: ms });
    return { steps: [...r.steps, ...m.steps], output: [r.item, m.item] };
  }
  if (sc.name === 'bulk') {
    // MIB mebibytes of text in 16 KiB deltas, written as fast as the reader takes them.
    const mib = Math.max(1, intArg(sc, 0, 16));
    const piece = 'x'.repeat(16 * 1024);
    const deltas = new Array(mib * 64).fill(piece);
    const m = messageSteps(ctx, 1, deltas, { finish: false });
    // The closing item names the size instead of repeating MIB of text three more times.
    const item = messageItem(ctx, `(bulk ${mib} MiB)`);
    const done = { event: { type: 'response.output_item.done', output_index: 1, item } };
    return { steps: [...r.steps, ...m.steps, done], output: [r.item, item] };
  }
  const m = messageSteps(ctx, 1, chunkText(answerText(sc)));
  return { steps: [...r.steps, ...m.steps], output: [r.item, m.item] };
}

/** Steps of a streaming reply. */
export function streamSteps(sc, body) {
  const ctx = ctxFor(body);
  const head = [
    { event: { type: 'response.created', response: responseObject(ctx, 'in_progress', []) } },
  ];
  if (sc.name === 'silent') head.push({ sleep: Math.max(0, intArg(sc, 0, 1500)) });
  head.push({ event: { type: 'response.in_progress', response: responseObject(ctx, 'in_progress', []) } });

  switch (sc.name) {
    case 'cut_mid_stream': {
      const m = messageSteps(ctx, 0, chunkText(DEFAULT_TEXT), { finish: false });
      return [...head, ...m.steps, { sleep: 50 }, { destroy: true }];
    }
    case 'eof_before_completed': {
      const m = messageSteps(ctx, 0, chunkText(DEFAULT_TEXT), { finish: false });
      return [...head, ...m.steps, { end: true }];
    }
    case 'error_event': {
      const nested = sc.arg === 'nested';
      const message = 'The server had an error processing your request. (mock error event)';
      const ev = nested
        ? { type: 'error', error: { type: 'server_error', code: 'server_error', message, param: null } }
        : { type: 'error', code: 'server_error', message, param: null };
      return [...head, { event: ev }, { end: true }];
    }
    case 'failed_server_error':
    case 'failed_rate_limit':
    case 'failed_context_length':
    case 'failed_insufficient_quota': {
      const error = failedError(sc);
      return [
        ...head,
        { event: { type: 'response.failed', response: responseObject(ctx, 'failed', [], { error }) } },
        { end: true },
      ];
    }
    case 'incomplete': {
      const m = messageSteps(ctx, 0, chunkText('Partial answer from mock, cut by max_output_tokens'), {
        status: 'incomplete',
      });
      return [
        ...head,
        ...m.steps,
        {
          event: {
            type: 'response.incomplete',
            response: responseObject(ctx, 'incomplete', [m.item], {
              incomplete_details: { reason: 'max_output_tokens' },
              usage: USAGE,
            }),
          },
        },
        { end: true },
      ];
    }
    default: {
      const s = successBody(ctx, sc);
      return [
        ...head,
        ...s.steps,
        { event: { type: 'response.completed', response: responseObject(ctx, 'completed', s.output, { usage: usageFor(sc) }) } },
        { end: true },
      ];
    }
  }
}

/** JSON object of a non-streaming reply (success and `incomplete` only). */
export function nonStreamResponse(sc, body) {
  const ctx = ctxFor(body);
  if (sc.name === 'incomplete') {
    const item = messageItem(ctx, 'Partial answer from mock, cut by max_output_tokens', 'incomplete');
    return responseObject(ctx, 'incomplete', [item], {
      incomplete_details: { reason: 'max_output_tokens' },
      usage: USAGE,
    });
  }
  const s = successBody(ctx, sc);
  const obj = responseObject(ctx, 'completed', s.output, { usage: usageFor(sc) });
  return obj;
}
