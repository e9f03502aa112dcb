// The client listener's protocol limits, each sent as the bad input over a raw socket: request
// smuggling shapes and malformed heads (400 bad_request, connection closed, nothing reaches the
// upstream), hop-by-hop headers (dropped), connection limits in total and per client address
// (503 too_many_connections), and slow clients (trickled heads, a stream read too slowly). After
// each, a normal request from another connection still succeeds.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  startMock,
  startRelay,
  relaySkip,
  relayFetch,
  parseHttp,
  checkErrorModel,
  nonce,
  sleep,
  MODELS,
} from './lib/harness.mjs';

const skip = relaySkip();

/**
 * Connects (optionally from `localAddress`), writes `chunks` (with `gapMs` between them), and
 * collects the reply until the relay closes or `ms` passes. Returns {status, headers, body, raw,
 * closed}.
 */
function exchange(port, chunks, { localAddress, gapMs = 0, ms = 8000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    let raw = Buffer.alloc(0);
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseHttp(raw), raw: raw.toString('latin1'), closed });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('data', (d) => (raw = Buffer.concat([raw, d])));
    sock.on('error', () => {});
    sock.on('close', () => finish(true));
    sock.on('connect', async () => {
      for (const c of [].concat(chunks)) {
        if (sock.destroyed) return;
        sock.write(c);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

/** Opens a connection and keeps it open, idle; resolves once connected. */
function idleConnection(port, localAddress) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    sock.on('error', () => {});
    sock.once('connect', () => resolve(sock));
    sock.once('error', reject);
  });
}

const requestBody = (text, extra = {}) => JSON.stringify({ model: 'gpt-5.5', input: text, ...extra });

/** A complete, valid request head for `body` (lines joined with CRLF, final blank line). */
function head(relay, body, lines = [], { length = true } = {}) {
  return [
    'POST /v1/responses HTTP/1.1',
    'host: 127.0.0.1',
    `authorization: Bearer ${relay.key}`,
    'content-type: application/json',
    ...(length ? [`content-length: ${Buffer.byteLength(body)}`] : []),
    ...lines,
    '',
    '',
  ].join('\r\n');
}

async function assertServes(relay, ctx, localAddress) {
  const text = `ok ${nonce()}`;
  if (localAddress) {
    const body = requestBody(text);
    const r = await exchange(relay.port, head(relay, body, ['connection: close']) + body, { localAddress });
    assert.equal(r.status, 200, `${ctx}: a request from ${localAddress} got ${r.status}: ${r.raw.slice(0, 300)}`);
    return;
  }
  const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: text } });
  assert.equal(r.status, 200, `${ctx}: the next normal request got ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(r.json?.output?.at(-1)?.content?.[0]?.text, 'Hello from mock', `${ctx}: next normal request`);
}

function assertRefused(r, status, code, ctx) {
  assert.equal(r.status, status, `${ctx}: status; reply: ${JSON.stringify(r.raw.slice(0, 400))}`);
  checkErrorModel(assert, r.body, { code, status }, ctx);
  assert.equal(r.headers.connection, 'close', `${ctx}: connection header`);
  assert.ok(r.closed, `${ctx}: the relay should close the connection`);
}

describe('hardening: smuggling and malformed heads', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }] });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  // Each case: extra head lines (or a whole raw request) built around a valid body whose text
  // carries a tag; the tag must never reach the upstream. The smuggled second request too.
  const chunked = (s) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n0\r\n\r\n`;
  const cases = [
    ['Content-Length and Transfer-Encoding', (b, smuggled) => head(relay, b, ['transfer-encoding: chunked']) + chunked(b + smuggled)],
    ['Transfer-Encoding then Content-Length', (b) =>
      head(relay, b, ['transfer-encoding: chunked', `content-length: ${Buffer.byteLength(b)}`], { length: false }) + chunked(b)],
    ['two different Content-Lengths', (b) => head(relay, b, [`content-length: ${Buffer.byteLength(b) + 5}`]) + b + 'xxxxx'],
    ['two equal Content-Lengths', (b) => head(relay, b, [`content-length: ${Buffer.byteLength(b)}`]) + b],
    ['Transfer-Encoding gzip', (b, smuggled) => head(relay, b, ['transfer-encoding: gzip'], { length: false }) + b + smuggled],
    ['Transfer-Encoding gzip, chunked', (b) => head(relay, b, ['transfer-encoding: gzip, chunked'], { length: false }) + chunked(b)],
    ['two Transfer-Encoding headers', (b) =>
      head(relay, b, ['transfer-encoding: chunked', 'transfer-encoding: chunked'], { length: false }) + chunked(b)],
    ['obs-fold', (b) => head(relay, b, ['x-stainless-lang: js', ' folded-on']) + b],
    ['bare CR in a header value', (b) => head(relay, b, ['user-agent: a\rx-injected: 1']) + b],
    ['bare LF in a header value', (b) => head(relay, b, ['user-agent: a\nx-injected: 1']) + b],
    ['NUL in a header value', (b) => head(relay, b, ['user-agent: a\0b']) + b],
    ['space before the colon', (b) => head(relay, b, [], { length: false }).replace('content-type:', `content-length : ${Buffer.byteLength(b)}\r\ncontent-type:`) + b],
  ];

  it('the well-formed control request is served (so the refusals below mean something)', async () => {
    const tag = nonce('control');
    const body = requestBody(`hello ${tag}`);
    const r = await exchange(relay.port, head(relay, body, ['connection: close']) + body);
    assert.equal(r.status, 200, r.raw.slice(0, 300));
    assert.ok(await mock.waitFor((e) => e.last_user_text?.includes(tag)), 'the control request reached the mock');
  });

  for (const [name, build] of cases) {
    it(`refuses ${name}: 400 bad_request, closed, nothing forwarded`, async () => {
      const tag = nonce('smuggle');
      const body = requestBody(`hello ${tag}`);
      const innerBody = requestBody(`inner ${tag}`);
      const smuggled = head(relay, innerBody) + innerBody;
      const r = await exchange(relay.port, build(body, smuggled));
      assertRefused(r, 400, 'bad_request', name);
      await assertServes(relay, name);
      const log = await mock.log();
      assert.ok(!log.some((e) => e.last_user_text?.includes(tag)), `${name}: the request reached the upstream`);
    });
  }

  it('drops hop-by-hop headers and the headers the client names in Connection', async () => {
    const tag = nonce('hop');
    const body = requestBody(`hop ${tag}`);
    const lines = [
      'connection: close, X-Stainless-Secret, user-agent',
      'x-stainless-secret: s3cr3t',
      'user-agent: ua-hop-test',
      'x-stainless-os: linux',
      'keep-alive: timeout=5',
      'te: trailers',
      'trailer: x-later',
      'proxy-authorization: Basic Zm9vOmJhcg==',
    ];
    const r = await exchange(relay.port, head(relay, body, lines) + body, { ms: 3000 });
    assert.equal(r.status, 200, r.raw.slice(0, 300));
    const e = await mock.waitFor((x) => x.last_user_text?.includes(tag));
    assert.ok(e, 'the request reached the mock');
    assert.equal(e.headers['x-stainless-os'], 'linux', 'an allowed header not named in Connection is forwarded');
    assert.equal(e.headers['x-stainless-secret'], undefined, 'named in Connection');
    assert.notEqual(e.headers['user-agent'], 'ua-hop-test', 'named in Connection');
    for (const h of ['keep-alive', 'te', 'trailer', 'proxy-authorization'])
      assert.equal(e.headers[h], undefined, `${h} forwarded`);
    assert.ok(!String(e.headers.connection ?? '').toLowerCase().includes('stainless'), 'client Connection forwarded');
  });
});

describe('hardening: connection limits', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, {
      accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }],
      env: {
        CODEX_RELAY_SERVER_MAX_CONNECTIONS: '6',
        CODEX_RELAY_SERVER_MAX_CONNECTIONS_PER_IP: '3',
        // Idle connections hold their slots for the whole test.
        CODEX_RELAY_SERVER_HEADER_TIMEOUT_MS: '30000',
      },
    });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  /** Retries a request from `addr` until it is served (slots come back when sessions end). */
  async function servedEventually(addr, ctx) {
    let r;
    for (let i = 0; i < 30; ++i) {
      const body = requestBody(`again ${nonce()}`);
      r = await exchange(relay.port, head(relay, body, ['connection: close']) + body, { localAddress: addr });
      if (r.status === 200) return;
      await sleep(100);
    }
    assert.fail(`${ctx}: still refused: ${r.raw.slice(0, 300)}`);
  }

  it('per client address: the next connection gets 503 too_many_connections; other addresses are served', async () => {
    const idle = [];
    for (let i = 0; i < 3; ++i) idle.push(await idleConnection(relay.port, '127.0.0.1'));
    await sleep(200);  // accepted by the relay
    const body = requestBody(`over ${nonce()}`);
    const r = await exchange(relay.port, head(relay, body) + body, { localAddress: '127.0.0.1' });
    assertRefused(r, 503, 'too_many_connections', 'per-address limit');
    await assertServes(relay, 'per-address limit', '127.0.0.2');
    for (const s of idle) s.destroy();
    await servedEventually('127.0.0.1', 'after the idle connections closed');
  });

  it('in total: the next connection from a new address gets 503; a freed slot serves it', async () => {
    const idle = [];
    for (const a of ['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.3', '127.0.0.3', '127.0.0.3'])
      idle.push(await idleConnection(relay.port, a));
    await sleep(200);
    const body = requestBody(`total ${nonce()}`);
    const r = await exchange(relay.port, head(relay, body) + body, { localAddress: '127.0.0.4' });
    assertRefused(r, 503, 'too_many_connections', 'total limit');
    idle.pop().destroy();
    await servedEventually('127.0.0.4', 'after one idle connection closed');
    for (const s of idle) s.destroy();
    await servedEventually('127.0.0.1', 'after all idle connections closed');
  });

  it('the refusals are counted on /metrics', async () => {
    assert.ok(relay.adminUrl, 'serve started without its admin listener');
    const text = await (await fetch(`${relay.adminUrl}/metrics`)).text();
    const value = (name) => Number((text.match(new RegExp(`^${name} (\\S+)$`, 'm')) ?? [])[1]);
    assert.ok(value('codex_relay_connections_refused_address_total') >= 1, 'per-address refusals not counted');
    assert.ok(value('codex_relay_connections_refused_total') >= 1, 'total refusals not counted');
    assert.ok(value('codex_relay_connections_open') >= 0, 'open connections not reported');
  });
});

describe('hardening: slow clients', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, {
      accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }],
      env: {
        // Each write may wait long; only the minimum rate ends a slow reader's stream.
        CODEX_RELAY_SERVER_BODY_TIMEOUT_MS: '60000',
        CODEX_RELAY_SERVER_MIN_SEND_RATE: String(4 * 1024 * 1024),
        CODEX_RELAY_SERVER_SEND_RATE_GRACE_MS: '1000',
      },
    });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  it('a head trickled one byte at a time gets 408 (header_timeout is a total)', async () => {
    const body = requestBody(`trickle ${nonce()}`);
    const bytes = [...head(relay, body)];
    const pending = exchange(relay.port, bytes, { gapMs: 150, ms: 8000 });
    await sleep(300);
    await assertServes(relay, 'during a trickled head');
    const r = await pending;
    assertRefused(r, 408, 'request_timeout', 'trickled head');
  });

  it('a keep-alive connection trickling its next head gets 408', async () => {
    const sock = net.connect(relay.port, '127.0.0.1');
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    let raw = Buffer.alloc(0);
    let closed = false;
    sock.on('data', (d) => (raw = Buffer.concat([raw, d])));
    sock.on('close', () => (closed = true));
    const body = requestBody(`first ${nonce()}`);
    sock.write(head(relay, body) + body);
    for (let i = 0; i < 100 && !parseHttp(raw).complete; ++i) await sleep(50);
    assert.equal(parseHttp(raw).status, 200, 'the first request on the connection');
    raw = Buffer.alloc(0);
    const next = head(relay, body);
    for (let i = 0; i < next.length && !closed; ++i) {
      sock.write(next[i]);
      await sleep(150);
    }
    for (let i = 0; i < 40 && !closed; ++i) await sleep(50);
    const r = { ...parseHttp(raw), raw: raw.toString('latin1'), closed };
    sock.destroy();
    assertRefused(r, 408, 'request_timeout', 'keep-alive trickle');
    await assertServes(relay, 'after a keep-alive trickle');
  });

  it('a stream read too slowly is cut and its upstream request cancelled', async () => {
    const tag = nonce('slowread');
    const MIB = 256;
    const body = JSON.stringify({ model: 'gpt-5.5', stream: true, input: `[[mock:bulk:${MIB}]] ${tag}` });
    const sock = net.connect(relay.port, '127.0.0.1');
    await new Promise((r, j) => sock.once('connect', r).once('error', j));
    sock.write(head(relay, body, ['connection: close']) + body);
    const BYTES_PER_MS = 512; // 512 KB/s, far below the 4 MiB/s floor
    const started = Date.now();
    let received = 0;
    let tail = '';
    let normalServed = false;
    try {
      for await (const chunk of sock) {
        received += chunk.length;
        tail = (tail + chunk.toString('latin1')).slice(-64);
        if (!normalServed && received > 1 << 20) {
          await assertServes(relay, 'during a slow reader');
          normalServed = true;
        }
        const ahead = received / BYTES_PER_MS - (Date.now() - started);
        if (ahead > 0) await sleep(ahead);
        if (received > MIB * 1024 * 1024) break;
      }
    } catch {
      // a reset is a cut too
    }
    sock.destroy();
    assert.ok(received < MIB * 1024 * 1024, `the slow reader got the whole stream (${received} bytes)`);
    assert.ok(!tail.endsWith('0\r\n\r\n'), 'the stream ended cleanly instead of being cut');
    const e = await mock.waitFor((x) => x.last_user_text?.includes(tag) && x.closed_at_ms, 10000);
    assert.ok(e, 'the upstream request was not closed');
    assert.notEqual(e.finished, true, 'the upstream stream ran to its end');
    await assertServes(relay, 'after a slow reader');
  });
});
