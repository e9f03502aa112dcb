// Relay-made errors, with raw sockets and fetch: each has the right status and code, the
// error model body and an x-request-id, and the relay keeps serving afterwards.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  startMock,
  startRelay,
  relaySkip,
  relayFetch,
  rawRequest,
  checkErrorModel,
  pollUntil,
  nonce,
  MODELS,
  RELAY_ENV,
} from './lib/harness.mjs';

const skip = relaySkip();
const HEADER_TIMEOUT = Number(RELAY_ENV.CODEX_RELAY_SERVER_HEADER_TIMEOUT_MS);
const BODY_TIMEOUT = Number(RELAY_ENV.CODEX_RELAY_SERVER_BODY_TIMEOUT_MS);
const MAX_BODY = Number(RELAY_ENV.CODEX_RELAY_SERVER_MAX_BODY_BYTES);

describe('relay errors', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, {
      accounts: [
        { name: 'acc-main', scheme: 'http', models: MODELS },
        { name: 'acc-solo', scheme: 'http', models: ['solo-model'] },
      ],
    });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  /** First column of every `key list` line (the key ids, plus the header). */
  const keyIds = () =>
    new Set(
      relay
        .cli(['key', 'list'])
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0])
        .filter(Boolean),
    );

  /** A normal request with the main key succeeds. */
  async function assertHealthy(ctx) {
    const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: `ok ${nonce()}` } });
    assert.equal(r.status, 200, `${ctx}: next normal request got ${r.status} ${r.text.slice(0, 300)}`);
    assert.equal(r.json?.output?.at(-1)?.content?.[0]?.text, 'Hello from mock', `${ctx}: next normal request`);
  }

  /** Checks status, error model, code and x-request-id of a fetch or raw reply. */
  function assertError(r, status, code, ctx) {
    const hdr = r.headers instanceof Headers ? (k) => r.headers.get(k) : (k) => r.headers[k];
    const body = r.text ?? r.body;
    assert.equal(r.status, status, `${ctx}: status (body ${String(body).slice(0, 300)})`);
    checkErrorModel(assert, body, { code, status }, ctx);
    assert.ok(hdr('x-request-id'), `${ctx}: no x-request-id header`);
    assert.match(hdr('content-type') || '', /application\/json/, `${ctx}: content-type`);
  }

  const reqHead = (method, path, extra = [], key = relay.key) =>
    [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${relay.port}`, `Authorization: Bearer ${key}`, ...extra].join('\r\n') + '\r\n\r\n';

  it('malformed JSON → 400 invalid_json', async () => {
    const r = await relayFetch(relay, '/v1/responses', { body: '{"model":"gpt-5.5","input":' });
    assertError(r, 400, 'invalid_json', 'malformed JSON');
    await assertHealthy('invalid_json');
  });

  it(`body over the limit (${MAX_BODY} B) → 413 request_too_large`, async () => {
    const size = MAX_BODY + 256 * 1024;
    const pad = 'a'.repeat(size);
    const body = `{"model":"gpt-5.5","input":"${pad}"}`;
    const r = await rawRequest(relay.port, [reqHead('POST', '/v1/responses', ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]), body], { ms: 10000 });
    assertError(r, 413, 'request_too_large', 'content-length body');
    await assertHealthy('413');
  });

  it('chunked body over the limit → 413 request_too_large', async () => {
    const piece = 'a'.repeat(64 * 1024);
    const chunks = [reqHead('POST', '/v1/responses', ['Content-Type: application/json', 'Transfer-Encoding: chunked']), `${(12).toString(16)}\r\n{"input":"aa\r\n`];
    for (let sent = 0; sent <= MAX_BODY + 128 * 1024; sent += piece.length) chunks.push(`${piece.length.toString(16)}\r\n${piece}\r\n`);
    chunks.push('0\r\n\r\n');
    const r = await rawRequest(relay.port, chunks, { ms: 10000 });
    assertError(r, 413, 'request_too_large', 'chunked body');
    assert.equal((await mock.log()).filter((e) => e.body_bytes > MAX_BODY).length, 0, 'an oversized body reached upstream');
    await assertHealthy('413 chunked');
  });

  it('headers over 32 KiB → 431 headers_too_large', async () => {
    const r = await rawRequest(relay.port, reqHead('POST', '/v1/responses', [`X-Big: ${'b'.repeat(40 * 1024)}`, 'Content-Length: 2']) + '{}', { ms: 5000 });
    assertError(r, 431, 'headers_too_large', 'big header');
    await assertHealthy('431');
  });

  it(`headers that never finish → 408 request_timeout within the header timeout (${HEADER_TIMEOUT} ms)`, async () => {
    const r = await rawRequest(relay.port, `POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${relay.key}\r\n`, { ms: HEADER_TIMEOUT + 4000 });
    assertError(r, 408, 'request_timeout', 'partial header');
    assert.ok(r.elapsed >= HEADER_TIMEOUT - 100, `408 after ${r.elapsed} ms, before the header timeout`);
    assert.ok(r.elapsed < HEADER_TIMEOUT + 1500, `408 after ${r.elapsed} ms`);
    await assertHealthy('408 header');
  });

  it('a slowloris trickling header lines is cut at the header timeout (total, not idle)', async () => {
    const lines = [`POST /v1/responses HTTP/1.1\r\n`];
    for (let i = 0; i < 30; i++) lines.push(`X-Trickle-${i}: x\r\n`);
    const r = await rawRequest(relay.port, lines, { ms: HEADER_TIMEOUT + 5000, gapMs: 200 });
    assert.equal(r.status, 408, `status ${r.status} after ${r.elapsed} ms`);
    assert.ok(r.elapsed < HEADER_TIMEOUT + 1500, `trickled headers held the connection ${r.elapsed} ms`);
    checkErrorModel(assert, r.body, { code: 'request_timeout' }, 'slowloris');
  });

  it(`a body that never finishes → 408 request_timeout within the body timeout (${BODY_TIMEOUT} ms)`, async () => {
    const r = await rawRequest(relay.port, reqHead('POST', '/v1/responses', ['Content-Type: application/json', 'Content-Length: 100']) + '{"model":', { ms: BODY_TIMEOUT + 4000 });
    assertError(r, 408, 'request_timeout', 'partial body');
    assert.ok(r.elapsed < BODY_TIMEOUT + 1500, `408 after ${r.elapsed} ms`);
    await assertHealthy('408 body');
  });

  it('paths outside /v1/ → 404 unknown_url', async () => {
    for (const p of ['/', '/v2/responses', '/admin', '/responses']) {
      const r = await relayFetch(relay, p, { method: 'GET' });
      assertError(r, 404, 'unknown_url', `GET ${p}`);
    }
    const r = await relayFetch(relay, '/v2/chat/completions', { body: { model: 'gpt-5.5' } });
    assertError(r, 404, 'unknown_url', 'POST /v2/chat/completions');
    await assertHealthy('404');
  });

  it('missing or unknown key → 401 invalid_api_key, nothing reaches upstream', async () => {
    await mock.reset();
    const tag = nonce('nokey');
    let r = await relayFetch(relay, '/v1/responses', { auth: null, body: { model: 'gpt-5.5', input: tag } });
    assertError(r, 401, 'invalid_api_key', 'missing key');
    r = await relayFetch(relay, '/v1/responses', { key: 'crk_not_a_real_key', body: { model: 'gpt-5.5', input: tag } });
    assertError(r, 401, 'invalid_api_key', 'unknown bearer key');
    r = await relayFetch(relay, '/v1/responses', { auth: 'x-api-key', key: 'crk_not_a_real_key', body: { model: 'gpt-5.5', input: tag } });
    assertError(r, 401, 'invalid_api_key', 'unknown x-api-key');
    r = await relayFetch(relay, '/v1/responses', { key: mock.apiKey, body: { model: 'gpt-5.5', input: tag } });
    assertError(r, 401, 'invalid_api_key', 'an upstream account key used as a relay key');
    assert.equal((await mock.log()).length, 0, 'an unauthenticated request reached upstream');
    await assertHealthy('401');
  });

  it('a key that expires while serving → 401 invalid_api_key', async () => {
    // `key add --expires` only takes today or later (a key is valid through that whole UTC day),
    // so the key is made with a future date and its expiry is then moved into the past in the
    // SQLite store directly, as time passing would; the running relay must notice within 1.5 s.
    const future = new Date(Date.now() + 30 * 86400e3).toISOString().slice(0, 10);
    const before = keyIds();
    const key = relay.cli(['key', 'add', relay.tenant, '--expires', future]);
    const [id] = [...keyIds()].filter((k) => !before.has(k));
    assert.ok(id, 'could not find the new key id in key list');
    const ok = await pollUntil(async () => (await relayFetch(relay, '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } })).status === 200);
    assert.ok(ok, `a key with --expires ${future} was not accepted within 1.5 s`);
    execFileSync('sqlite3', ['-cmd', '.timeout 3000', path.join(relay.dataDir, 'relay.db'), `UPDATE api_keys SET expires_at = CAST(strftime('%s','now') AS INTEGER) - 60 WHERE id = '${id.replace(/'/g, '')}'`]);
    let last;
    const expired = await pollUntil(async () => {
      last = await relayFetch(relay, '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
      return last.status === 401;
    });
    assert.ok(expired, `expired key still accepted after 1.5 s (status ${last.status})`);
    assertError(last, 401, 'invalid_api_key', 'expired key');
    await assertHealthy('expired');
  });

  it('a key revoked while serving → 401 within 1.5 s', async () => {
    const before = keyIds();
    const key = relay.cli(['key', 'add', relay.tenant]);
    const added = [...keyIds()].filter((id) => !before.has(id));
    assert.equal(added.length, 1, `could not find the new key's id in key list (new first columns: ${added.join(',')})`);
    const works = await pollUntil(async () => (await relayFetch(relay, '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } })).status === 200);
    assert.ok(works, 'a key added while serving was not accepted within 1.5 s');
    relay.cli(['key', 'revoke', added[0]]);
    let last;
    const revoked = await pollUntil(async () => {
      last = await relayFetch(relay, '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
      return last.status === 401;
    });
    assert.ok(revoked, `revoked key still accepted after 1.5 s (status ${last.status})`);
    assertError(last, 401, 'invalid_api_key', 'revoked key');
    await assertHealthy('revoked');
  });

  it('a tenant disabled while serving → 401 within 1.5 s', async () => {
    relay.cli(['tenant', 'add', 'team-doomed']);
    const key = relay.cli(['key', 'add', 'team-doomed']);
    const works = await pollUntil(async () => (await relayFetch(relay, '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } })).status === 200);
    assert.ok(works, 'a new tenant key was not accepted within 1.5 s');
    relay.cli(['tenant', 'disable', 'team-doomed']);
    let last;
    const off = await pollUntil(async () => {
      last = await relayFetch(relay, '/v1/responses', { key, body: { model: 'gpt-5.5', input: 'hi' } });
      return last.status === 401;
    });
    assert.ok(off, `disabled tenant still accepted after 1.5 s (status ${last.status})`);
    assertError(last, 401, 'invalid_api_key', 'disabled tenant');
    await assertHealthy('disabled tenant');
  });

  it('WebSocket upgrade on /v1/responses → 426 websocket_not_supported', async () => {
    const r = await rawRequest(
      relay.port,
      reqHead('GET', '/v1/responses', [
        'Upgrade: websocket',
        'Connection: Upgrade',
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version: 13',
        'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
        'OpenAI-Beta: responses_websockets=2026-02-06',
      ]),
      { ms: 5000 },
    );
    assertError(r, 426, 'websocket_not_supported', 'websocket upgrade');
    await assertHealthy('426');
  });

  it('a model no enabled account serves → 503 no_healthy_account; disabling an account takes effect', async () => {
    await mock.reset();
    let r = await relayFetch(relay, '/v1/responses', { body: { model: 'model-nobody-serves', input: 'hi' } });
    assertError(r, 503, 'no_healthy_account', 'unserved model');
    assert.equal((await mock.log()).length, 0, 'a request for an unserved model reached upstream');

    r = await relayFetch(relay, '/v1/responses', { body: { model: 'solo-model', input: 'hi' } });
    assert.equal(r.status, 200, `solo-model via acc-solo: ${r.status} ${r.text.slice(0, 200)}`);
    relay.cli(['account', 'disable', 'acc-solo']);
    let last;
    const gone = await pollUntil(async () => {
      last = await relayFetch(relay, '/v1/responses', { body: { model: 'solo-model', input: 'hi' } });
      return last.status === 503;
    });
    assert.ok(gone, `disabled account still used after 1.5 s (status ${last.status})`);
    assertError(last, 503, 'no_healthy_account', 'model of a disabled account');
    await assertHealthy('503');
  });
});
