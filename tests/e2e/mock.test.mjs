// Tests of the mock provider itself, with the real clients pointed DIRECTLY at it (no relay).
// They prove the mock is faithful to what Codex CLI 0.169.0 and the openai SDK 6.49.0 expect,
// independently of the relay, so a relay test failure points at the relay.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import OpenAI from 'openai';
import { startMock, runCodex, curlStream, sleep, nowMs } from './lib/harness.mjs';
import { SCENARIOS } from '../mock-provider/scenarios.mjs';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ACCOUNT_HEADERS = [
  'openai-organization',
  'openai-project',
  'set-cookie',
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-request-id',
  'openai-processing-ms',
];

let mock;
let client;

before(async () => {
  mock = await startMock({ tls: true });
  client = new OpenAI({ apiKey: mock.apiKey, baseURL: mock.httpBase, maxRetries: 0, timeout: 20000 });
});
after(async () => {
  await mock?.stop();
});

async function post(pathname, body, { key = mock.apiKey, headers = {} } = {}) {
  const r = await fetch(`${mock.httpBase}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return r;
}

describe('mock provider: protocol', () => {
  it('requires the API key (OpenAI-shaped 401)', async () => {
    for (const key of [null, 'wrong']) {
      const r = await post('/responses', { model: 'gpt-5.5', input: 'hi' }, { key });
      assert.equal(r.status, 401);
      const j = await r.json();
      assert.equal(j.error.code, 'invalid_api_key');
      assert.equal(j.error.type, 'invalid_request_error');
      assert.equal(j.error.param, null);
      assert.ok(j.error.message.length > 0);
    }
  });

  it('every /v1 response carries the account-revealing headers', async () => {
    for (const r of [
      await post('/responses', { model: 'gpt-5.5', input: 'hi' }),
      await post('/responses', { model: 'gpt-5.5', input: 'hi', stream: true }),
      await post('/responses', { model: 'gpt-5.5', input: 'hi [[mock:http_500]]' }),
      await fetch(`${mock.httpBase}/models`, { headers: { authorization: `Bearer ${mock.apiKey}` } }),
    ]) {
      for (const h of ACCOUNT_HEADERS) assert.ok(r.headers.get(h), `missing ${h} on ${r.url} ${r.status}`);
      assert.match(r.headers.get('x-request-id'), /^req_mock_/);
      await r.arrayBuffer();
    }
  });

  it('streams the full §3.2 sequence with consecutive sequence numbers and usage', async () => {
    const r = await post('/responses', { model: 'gpt-5.5', input: 'hi', stream: true });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type'), /^text\/event-stream/);
    const text = await r.text();
    const evs = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)));
    const types = evs.map((e) => e.type);
    assert.deepEqual(types.slice(0, 9), [
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
    ]);
    assert.deepEqual(types.slice(-4), [
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    evs.forEach((e, i) => assert.equal(e.sequence_number, i));
    const reasoning = evs[8].item;
    assert.equal(reasoning.type, 'reasoning');
    assert.ok(reasoning.encrypted_content.length > 0);
    const done = evs.at(-1).response;
    assert.equal(done.status, 'completed');
    assert.equal(done.usage.input_tokens_details.cached_tokens, 1920);
    assert.equal(done.usage.output_tokens_details.reasoning_tokens, 32);
    const msg = evs.at(-2).item;
    assert.equal(msg.type, 'message');
    assert.equal(msg.content[0].text, 'Hello from mock');
    // event: lines precede data: lines, as in the real API
    assert.match(text, /^event: response\.created\ndata: /);
  });

  it('serves the same over HTTPS with the test certificate', async () => {
    const body = JSON.stringify({ model: 'gpt-5.5', input: 'hi' });
    const res = await new Promise((resolve, reject) => {
      const req = https.request(
        `${mock.httpsBase}/responses`,
        {
          method: 'POST',
          ca: fs.readFileSync(mock.tls.ca),
          headers: { authorization: `Bearer ${mock.apiKey}`, 'content-type': 'application/json' },
        },
        (res) => {
          let d = '';
          res.on('data', (c) => (d += c));
          res.on('end', () => resolve({ status: res.statusCode, body: d }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).output.at(-1).content[0].text, 'Hello from mock');
    const log = await mock.log();
    assert.equal(log.at(-1).scheme, 'https');
  });

  it('HTTP failure shapes of §6 (status, code, Retry-After)', async () => {
    const cases = [
      ['http_429', 429, 'rate_limit_exceeded', '1'],
      ['http_429_no_retry_after', 429, 'rate_limit_exceeded', null],
      ['insufficient_quota', 429, 'insufficient_quota', null],
      ['http_500', 500, null, null],
      ['http_503_overloaded', 503, 'server_is_overloaded', null],
      ['http_503', 503, null, null],
      ['http_401', 401, 'invalid_api_key', null],
      ['context_length', 400, 'context_length_exceeded', null],
    ];
    for (const [sc, status, code, ra] of cases) {
      const r = await post('/responses', { model: 'gpt-5.5', stream: true, input: `x [[mock:${sc}]]` });
      assert.equal(r.status, status, sc);
      assert.equal(r.headers.get('retry-after'), ra, sc);
      const j = await r.json();
      assert.equal(j.error.code, code, sc);
    }
    const r = await post('/chat/completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: '[[mock:http_502_html]]' }] });
    assert.equal(r.status, 502);
    assert.match(r.headers.get('content-type'), /text\/html/);
    assert.match(await r.text(), /<html>/);
  });

  it('stream failure shapes of §6', async () => {
    const evs = async (sc) => {
      const r = await post('/responses', { model: 'gpt-5.5', stream: true, input: `x [[mock:${sc}]]` });
      assert.equal(r.status, 200, sc);
      const t = await r.text();
      return t
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => JSON.parse(l.slice(6)));
    };
    let e = await evs('eof_before_completed');
    assert.ok(e.length > 2 && !e.some((x) => x.type === 'response.completed'));
    e = await evs('error_event');
    assert.equal(e.at(-1).type, 'error');
    assert.equal(e.at(-1).code, 'server_error');
    e = await evs('error_event:nested');
    assert.equal(e.at(-1).error.code, 'server_error');
    e = await evs('failed_server_error');
    assert.equal(e.at(-1).type, 'response.failed');
    assert.equal(e.at(-1).response.error.code, 'server_error');
    e = await evs('failed_rate_limit');
    assert.match(e.at(-1).response.error.message, /try again in 2\.5s/);
    e = await evs('incomplete');
    assert.equal(e.at(-1).type, 'response.incomplete');
    assert.equal(e.at(-1).response.incomplete_details.reason, 'max_output_tokens');
    // cut_mid_stream: the body errors (chunked encoding never terminated)
    const r = await post('/responses', { model: 'gpt-5.5', stream: true, input: 'x [[mock:cut_mid_stream]]' });
    assert.equal(r.status, 200);
    await assert.rejects(r.text());
  });

  it('silent and slow_headers delay as asked', async () => {
    let t0 = Date.now();
    let r = await post('/responses', { model: 'gpt-5.5', stream: true, input: 'x [[mock:slow_headers:400]]' });
    assert.ok(Date.now() - t0 >= 380, 'slow_headers did not delay the status line');
    await r.text();
    t0 = Date.now();
    r = await post('/responses', { model: 'gpt-5.5', stream: true, input: 'x [[mock:silent:500]]' });
    assert.ok(Date.now() - t0 < 300, 'silent delayed the headers');
    await r.text();
    assert.ok(Date.now() - t0 >= 480, 'silent did not pause');
    const last = (await mock.log()).at(-1);
    const gap = last.events[1].sent_at_ms - last.events[0].sent_at_ms;
    assert.ok(gap >= 480, `gap after response.created ${gap}`);
  });

  it('paced events leave one by one and the log records sent_at_ms; client hang-up is recorded', async () => {
    await mock.reset();
    const s = curlStream(`${mock.httpBase}/responses`, {
      headers: { authorization: `Bearer ${mock.apiKey}`, 'content-type': 'application/json' },
      body: { model: 'gpt-5.5', stream: true, input: '[[mock:paced:5:150]]' },
    });
    await s.done;
    const deltas = s.events.filter((e) => e.json?.type === 'response.output_text.delta');
    assert.equal(deltas.length, 5);
    for (let i = 1; i < deltas.length; i++) assert.ok(deltas[i].at - deltas[i - 1].at > 100);
    const [entry] = await mock.log();
    for (const d of deltas) {
      const sent = entry.events.find((e) => e.seq === d.json.sequence_number);
      const lat = d.at - sent.sent_at_ms;
      assert.ok(lat > -5 && lat < 100, `direct latency ${lat}`);
    }
    assert.equal(entry.aborted, false);

    // hang up after two deltas: the mock sees the close and stops
    await mock.reset();
    let killedAt = 0;
    const s2 = curlStream(`${mock.httpBase}/responses`, {
      headers: { authorization: `Bearer ${mock.apiKey}`, 'content-type': 'application/json' },
      body: { model: 'gpt-5.5', stream: true, input: '[[mock:paced:50:100]]' },
      onEvent: (ev, all) => {
        if (!killedAt && all.filter((e) => e.json?.type === 'response.output_text.delta').length === 2) {
          killedAt = nowMs();
          s2.kill();
        }
      },
    });
    await s2.done;
    await sleep(300);
    const [e2] = await mock.log();
    assert.equal(e2.aborted, true);
    assert.ok(e2.closed_at_ms - killedAt < 200, `close seen ${e2.closed_at_ms - killedAt} ms after kill`);
    assert.ok(e2.events.length < 20);
  });

  it('scenario markers: the last user message wins; function_call_output ends a tool round trip', async () => {
    const r = await client.responses.create({
      model: 'gpt-5.5',
      input: [
        { role: 'user', content: 'first [[mock:http_500]]' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: [{ type: 'input_text', text: 'second, plain' }] },
      ],
    });
    assert.equal(r.output_text, 'Hello from mock');
    const r2 = await client.responses.create({
      model: 'gpt-5.5',
      input: [
        { role: 'user', content: 'run [[mock:tool_call]]' },
        { type: 'function_call', call_id: 'call_1', name: 'exec_command', arguments: '{"cmd":"echo relay-tool-ok"}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'relay-tool-ok' },
      ],
    });
    assert.equal(r2.output_text, 'tool output was: relay-tool-ok');
    const tc = await client.responses.create({ model: 'gpt-5.5', input: 'run [[mock:tool_call]]' });
    const fc = tc.output.find((o) => o.type === 'function_call');
    assert.equal(fc.name, 'exec_command');
    assert.deepEqual(JSON.parse(fc.arguments), { cmd: 'echo relay-tool-ok' });
  });

  it('README lists every scenario', () => {
    const readme = fs.readFileSync(
      path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'mock-provider', 'README.md'),
      'utf8',
    );
    for (const name of Object.keys(SCENARIOS)) assert.ok(readme.includes(`\`${name}`), `README lacks ${name}`);
  });
});

describe('mock provider: openai SDK 6.49.0 pointed directly at it', () => {
  it('responses.create, stream, responses.stream()', async () => {
    const r = await client.responses.create({ model: 'gpt-5.5', input: 'hi' });
    assert.equal(r.output_text, 'Hello from mock');
    assert.equal(r.usage.total_tokens, 2402);

    const stream = await client.responses.create({ model: 'gpt-5.5', input: 'hi', stream: true });
    let text = '';
    let completed = null;
    for await (const ev of stream) {
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      if (ev.type === 'response.completed') completed = ev;
    }
    assert.equal(text, 'Hello from mock');
    assert.ok(completed);

    const helper = client.responses.stream({ model: 'gpt-5.5', input: 'hi' });
    const final = await helper.finalResponse();
    assert.equal(final.output_text, 'Hello from mock');

    const tool = client.responses.stream({ model: 'gpt-5.5', input: 'x [[mock:tool_call]]' });
    const tf = await tool.finalResponse();
    assert.equal(tf.output.find((o) => o.type === 'function_call').arguments, '{"cmd":"echo relay-tool-ok"}');
  });

  it('chat.completions with stream + include_usage, non-stream, models, embeddings', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage = null;
    for await (const c of stream) {
      assert.equal(c.object, 'chat.completion.chunk');
      if (c.choices[0]?.delta?.content) text += c.choices[0].delta.content;
      if (c.usage) usage = { usage: c.usage, choices: c.choices };
    }
    assert.equal(text, 'Hello from mock');
    assert.equal(usage.choices.length, 0);
    assert.equal(usage.usage.total_tokens, 29);

    const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0].message.content, 'Hello from mock');

    const models = [];
    for await (const m of client.models.list()) models.push(m.id);
    assert.ok(models.includes('gpt-5.5'));

    const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b'] });
    assert.equal(e.data.length, 2);
    assert.equal(e.data[0].embedding.length, 8);
    assert.ok(e.data[0].embedding.every((x) => Number.isFinite(x)));
  });

  it('bad key gives AuthenticationError invalid_api_key', async () => {
    const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: mock.httpBase, maxRetries: 0 });
    await assert.rejects(bad.responses.create({ model: 'gpt-5.5', input: 'hi' }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, String(err));
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
  });
});

describe('mock provider: Codex CLI 0.169.0 pointed directly at it', () => {
  it('plain turn', async () => {
    await mock.reset();
    const r = await runCodex({ baseUrl: mock.httpBase, key: mock.apiKey, prompt: 'Say hello' });
    assert.equal(r.code, 0, `codex exit ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /Hello from mock/);
    const log = await mock.log();
    const turns = log.filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 1);
    assert.equal(turns[0].headers.authorization, `Bearer ${mock.apiKey}`);
    assert.match(turns[0].headers['session-id'], /^[0-9a-f-]{36}$/);
    assert.equal(turns[0].headers.originator, 'codex_exec');
  });

  it('tool round trip', async () => {
    await mock.reset();
    const r = await runCodex({ baseUrl: mock.httpBase, key: mock.apiKey, prompt: 'Run it [[mock:tool_call]]' });
    assert.equal(r.code, 0, `codex exit ${r.code}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /tool output was:/);
    assert.match(r.stdout, /relay-tool-ok/);
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 2);
    assert.equal(turns[0].scenario, 'tool_call');
    assert.equal(turns[1].scenario, 'tool_result');
    assert.match(turns[1].function_call_outputs.join('\n'), /relay-tool-ok/);
  });

  it('a silent gap longer than stream_idle_timeout_ms fails the turn (baseline for the relay heartbeat test)', async () => {
    const r = await runCodex({
      baseUrl: mock.httpBase,
      key: mock.apiKey,
      prompt: 'x [[mock:silent:2500]]',
      extraArgs: ['-c', 'model_providers.relay.stream_idle_timeout_ms=1000', '-c', 'model_providers.relay.stream_max_retries=0'],
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /idle timeout waiting for SSE/);
  });

  it('response.failed server_error is retried by Codex and reported', async () => {
    await mock.reset();
    const r = await runCodex({
      baseUrl: mock.httpBase,
      key: mock.apiKey,
      prompt: 'x [[mock:failed_server_error]]',
      extraArgs: ['-c', 'model_providers.relay.stream_max_retries=1'],
    });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /An error occurred while processing your request/);
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 2);
  });
});

describe('mock provider: several API keys and per-account faults', () => {
  let pm;
  const LABELS = ['acct-a', 'acct-b', 'acct-c'];
  before(async () => {
    pm = await startMock({ tls: false, apiKeys: LABELS.map((label) => ({ label })) });
  });
  after(async () => {
    await pm?.stop();
  });

  const call = (label, body = { model: 'gpt-5.5', input: 'hi' }, { path: p = '/responses', method = 'POST', signal } = {}) =>
    fetch(`${pm.httpBase}${p}`, {
      method,
      headers: { authorization: `Bearer ${pm.keys[label] ?? label}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
      body: method === 'POST' ? JSON.stringify(body) : undefined,
      signal,
    });
  const sseTypes = (text) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)));

  it('each key authenticates; the log names its label (never the key); unknown keys get 401', async () => {
    await pm.reset();
    for (const l of LABELS) {
      const r = await call(l);
      assert.equal(r.status, 200, l);
      await r.arrayBuffer();
    }
    const bad = await call('sk-not-a-key');
    assert.equal(bad.status, 401);
    assert.equal((await bad.json()).error.code, 'invalid_api_key');
    const log = await pm.log();
    assert.deepEqual(
      log.map((e) => e.account_label),
      [...LABELS, null],
    );
    for (const e of log.slice(0, 3)) {
      assert.match(e.key_sha256, /^[0-9a-f]{8}$/);
      const { headers, raw_headers, ...rest } = e;
      assert.ok(!JSON.stringify(rest).includes(pm.keys[e.account_label]), 'a key is in the log outside the headers');
    }
    const f = await pm.faults();
    assert.deepEqual(
      f.accounts.map((a) => a.label),
      LABELS,
    );
    assert.ok(!JSON.stringify(f).includes('sk-'), 'GET /__mock/faults shows a key');
  });

  it('--api-keys and unlabelled keys: labels are the indexes', async () => {
    const { spawn } = await import('node:child_process');
    const { MOCK_SERVER } = await import('./lib/harness.mjs');
    const child = spawn(process.execPath, [MOCK_SERVER, '--http-port', '0', '--api-keys', 'sk-k0,named=sk-k1', '--api-key', 'sk-k2'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const line = await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
      const base = `http://127.0.0.1:${JSON.parse(line).http}`;
      for (const k of ['sk-k0', 'sk-k1', 'sk-k2']) {
        const r = await fetch(`${base}/v1/models`, { headers: { authorization: `Bearer ${k}` } });
        assert.equal(r.status, 200, k);
        await r.arrayBuffer();
      }
      const log = await (await fetch(`${base}/__mock/log`)).json();
      assert.deepEqual(
        log.map((e) => e.account_label),
        ['0', 'named', '2'],
      );
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('http_500 / http_429 / http_401 hit only the faulted key, for `count` requests, and win over the marker', async () => {
    await pm.reset();
    let s = await pm.setFault('acct-a', 'http_500', { count: 2 });
    assert.equal(s.faults[0].remaining, 2);
    const since = s.next_id;
    const statuses = [];
    for (const l of ['acct-a', 'acct-b', 'acct-a', 'acct-a']) {
      const r = await call(l, { model: 'gpt-5.5', input: 'x [[mock:context_length]]' });
      statuses.push(r.status);
      if (r.status === 500) assert.equal((await r.json()).error.type, 'server_error');
      else await r.arrayBuffer();
    }
    // acct-b has no fault: its marker (400) plays; acct-a: two 500s, then the marker again.
    assert.deepEqual(statuses, [500, 400, 500, 400]);
    const log = await pm.logSince(since);
    assert.deepEqual(
      log.map((e) => [e.account_label, e.fault, e.scenario]),
      [
        ['acct-a', 'http_500', 'fault:http_500'],
        ['acct-b', null, 'context_length'],
        ['acct-a', 'http_500', 'fault:http_500'],
        ['acct-a', null, 'context_length'],
      ],
    );
    assert.deepEqual((await pm.faults()).faults, [], 'a count-limited fault should be gone');

    await pm.setFault('acct-b', 'http_429', { arg: 2 });
    await pm.setFault(pm.keys['acct-c'], 'http_401'); // by key works too
    for (let i = 0; i < 3; i++) {
      const r = await call('acct-b');
      assert.equal(r.status, 429);
      assert.equal(r.headers.get('retry-after'), '2');
      assert.equal((await r.json()).error.code, 'rate_limit_exceeded');
      const u = await call('acct-c', { model: 'gpt-5.5', input: 'hi', stream: true });
      assert.equal(u.status, 401);
      assert.equal((await u.json()).error.code, 'invalid_api_key');
    }
    const ok = await call('acct-a');
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const list = (await pm.faults()).faults;
    assert.deepEqual(
      list.map((f) => [f.label, f.fault, f.arg, f.remaining, f.hits]),
      [
        ['acct-b', 'http_429', 2, null, 3],
        ['acct-c', 'http_401', null, null, 3],
      ],
    );
    await pm.setFault('acct-b', 'none');
    const r = await call('acct-b');
    assert.equal(r.status, 200, 'fault "none" did not clear it');
    await r.arrayBuffer();
    await pm.reset();
    assert.deepEqual((await pm.faults()).faults, [], 'reset did not clear the faults');
    const r2 = await call('acct-c');
    assert.equal(r2.status, 200);
    await r2.arrayBuffer();
  });

  it('failed_before_output: 200 then created, in_progress, response.failed server_error and nothing else', async () => {
    await pm.reset();
    await pm.setFault('acct-a', 'failed_before_output');
    const r = await call('acct-a', { model: 'gpt-5.5', input: 'hi', stream: true });
    assert.equal(r.status, 200);
    const evs = sseTypes(await r.text());
    assert.deepEqual(
      evs.map((e) => e.type),
      ['response.created', 'response.in_progress', 'response.failed'],
    );
    assert.equal(evs[2].response.error.code, 'server_error');
    assert.equal(evs[2].response.status, 'failed');
    // Non-stream and the models route (a relay's health probe) get a 500 instead.
    const ns = await call('acct-a');
    assert.equal(ns.status, 500);
    assert.equal((await ns.json()).error.code, 'server_error');
    const m = await call('acct-a', undefined, { path: '/models', method: 'GET' });
    assert.equal(m.status, 500);
    await m.arrayBuffer();
    const other = await call('acct-b', { model: 'gpt-5.5', input: 'hi', stream: true });
    assert.match(await other.text(), /response\.completed/);
    await pm.clearFaults();
  });

  it('timeout: no status line until the client goes away; slow_first_byte delays, then the marker plays', async () => {
    await pm.reset();
    await pm.setFault('acct-b', 'timeout');
    const t0 = Date.now();
    await assert.rejects(call('acct-b', undefined, { signal: AbortSignal.timeout(600) }), /abort|timeout/i);
    assert.ok(Date.now() - t0 >= 550);
    const e = await pm.waitFor((x) => x.account_label === 'acct-b' && x.closed_at_ms !== null, 2000);
    assert.ok(e, 'the mock did not see the client go away');
    assert.equal(e.status, null);
    assert.equal(e.aborted, true);
    assert.equal(e.fault, 'timeout');
    assert.ok(e.closed_at_ms - e.received_at_ms >= 500);

    await pm.setFault('acct-b', 'slow_first_byte', { arg: 400 });
    const t1 = Date.now();
    const r = await call('acct-b', { model: 'gpt-5.5', input: 'x [[mock:http_503]]' });
    assert.ok(Date.now() - t1 >= 380, `slow_first_byte answered after ${Date.now() - t1} ms`);
    assert.equal(r.status, 503);
    await r.arrayBuffer();
    // "NAME:ARG" form
    await pm.setFault('acct-b', 'slow_first_byte:300');
    assert.equal((await pm.faults()).faults[0].arg, 300);
    await pm.clearFaults();
  });

  it('"*" with a path and a count hits the next request of any key on that path only', async () => {
    await pm.reset();
    await pm.setFault('*', 'http_500', { count: 1, path: '/v1/responses' });
    const m = await call('acct-c', undefined, { path: '/models', method: 'GET' });
    assert.equal(m.status, 200, 'the path filter did not spare /v1/models');
    await m.arrayBuffer();
    const a = await call('acct-c');
    assert.equal(a.status, 500);
    await a.arrayBuffer();
    const b = await call('acct-a');
    assert.equal(b.status, 200);
    await b.arrayBuffer();
    // a key's own fault wins over "*"
    await pm.setFault('*', 'http_500');
    await pm.setFault('acct-a', 'http_429', { arg: 3 });
    const c = await call('acct-a');
    assert.equal(c.status, 429);
    await c.arrayBuffer();
    const d = await call('acct-b');
    assert.equal(d.status, 500);
    await d.arrayBuffer();
    await pm.clearFaults();
  });

  it('bad fault requests get 400 and change nothing', async () => {
    for (const body of [
      { label: 'nobody', fault: 'http_500' },
      { key: 'sk-unknown', fault: 'http_500' },
      { label: 'acct-a', fault: 'explode' },
      { label: 'acct-a', fault: 'http_500', count: 0 },
      { label: 'acct-a', fault: 'http_429', arg: 'soon' },
      { fault: 'http_500' },
    ]) {
      const r = await fetch(`http://127.0.0.1:${pm.ports.http}/__mock/faults`, { method: 'POST', body: JSON.stringify(body) });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok((await r.json()).error);
    }
    assert.deepEqual((await pm.faults()).faults, []);
  });

  it('Codex baseline: a 500 or a response.failed before output, pointed directly at the mock, shows "Reconnecting"', async () => {
    // What the relay's failover hides (pool.test.mjs asserts no "Reconnecting" through the relay).
    for (const fault of ['http_500', 'failed_before_output']) {
      await pm.reset();
      await pm.setFault('*', fault, { count: 1, path: '/v1/responses' });
      const r = await runCodex({
        baseUrl: pm.httpBase,
        key: pm.keys['acct-a'],
        prompt: 'Say hello',
        extraArgs: ['-c', 'model_providers.relay.request_max_retries=0'],
      });
      assert.equal(r.code, 0, `${fault}: codex exit ${r.code}\n${r.stderr.slice(-2000)}`);
      assert.match(r.stdout, /Hello from mock/);
      assert.match(r.stderr + r.stdout, /Reconnecting\.\.\. 1\//, `${fault}: no Reconnecting line\n${r.stderr.slice(-2000)}`);
      const turns = (await pm.log()).filter((e) => e.path === '/v1/responses');
      assert.deepEqual(
        turns.map((e) => e.fault),
        [fault, null],
      );
    }
  });
});
