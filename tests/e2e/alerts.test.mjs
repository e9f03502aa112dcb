// Quota threshold alerts (issue 6): a tenant with --daily-requests 5 crosses 80 % at its 4th
// request and 100 % at its 5th; each crossing is one warn log line, one increment of
// codex_relay_quota_alerts_total and one POST to [alerts] webhook_url. The 6th request is
// refused (429) and crosses nothing. The webhook URL carries a token, which must never reach
// serve's log.
//
// Log format: serve logs either text or one JSON object per line ([log] format); the crossing is
// matched loosely ("quota threshold" and "threshold=80" anywhere on one line) to fit both.
//
// Grace period (an assumption, not contract): "no new event" is checked 1 s after the refused
// request, which is far longer than the relay takes to post an event to a local receiver.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import { startMock, startRelay, relaySkip, relayFetch, freePort, pollUntil, sleep, nonce, MODELS } from './lib/harness.mjs';

const skip = relaySkip();
const TENANT = 'alerts-a';
const LIMIT = 5;

/** A webhook receiver on 127.0.0.1: records {method, url, contentType, body, json}, answers 200. */
async function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json = null;
      try {
        json = JSON.parse(body);
      } catch {}
      got.push({ method: req.method, url: req.url, contentType: req.headers['content-type'], body, json });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { got, port: server.address().port, stop: () => new Promise((r) => server.close(r)) };
}

/** Admin /metrics as {'name{labels}': value} (labels as the relay wrote them). */
async function metrics(adminUrl) {
  const r = await fetch(`${adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200, `GET ${adminUrl}/metrics`);
  const out = {};
  for (const line of (await r.text()).split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?)\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

const alertSeries = (threshold) => `codex_relay_quota_alerts_total{tenant="${TENANT}",quota="daily_requests",threshold="${threshold}"}`;
const deliveries = (result) => `codex_relay_webhook_deliveries_total{result="${result}"}`;

const call = (relay) => relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: `alerts ${nonce()}` } });

const msToUtcDayEnd = (t = Date.now()) => Math.ceil(t / 86400000) * 86400000 - t;

describe('quota threshold alerts', { skip }, () => {
  let mock;
  let relay;
  let hook;
  let adminUrl;
  before(async () => {
    // The daily counter must not reset mid-test at a UTC midnight.
    const left = msToUtcDayEnd();
    if (left < 60000) await sleep(left + 500);
    hook = await startReceiver();
    mock = await startMock({ tls: false });
    const admin = `127.0.0.1:${await freePort()}`;
    adminUrl = `http://${admin}`;
    relay = await startRelay(mock, {
      tenant: TENANT,
      tenantArgs: ['--daily-requests', String(LIMIT)],
      accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }],
      env: {
        CODEX_RELAY_ALERTS_WEBHOOK_URL: `http://127.0.0.1:${hook.port}/hook?token=SECRET`,
        CODEX_RELAY_ADMIN_LISTEN: admin,
      },
    });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
    await hook?.stop();
  });

  it('emits 80 % at the 4th request, 100 % at the 5th, nothing for the refused 6th', async () => {
    const today = new Date().toISOString().slice(0, 10);
    for (let i = 1; i <= 3; i++) {
      const r = await call(relay);
      assert.equal(r.status, 200, `request ${i}: ${r.status} ${r.text.slice(0, 300)}`);
    }
    const m0 = await metrics(adminUrl);
    assert.equal(m0[alertSeries(80)], undefined, `no crossing after 3 of 5: ${JSON.stringify(m0)}`);

    const fourth = await call(relay);
    assert.equal(fourth.status, 200, `request 4: ${fourth.status} ${fourth.text.slice(0, 300)}`);
    assert.ok(await pollUntil(() => hook.got.length >= 1, 5000), 'no webhook event within 5 s of the 4th request');

    const fifth = await call(relay);
    assert.equal(fifth.status, 200, `request 5: ${fifth.status} ${fifth.text.slice(0, 300)}`);
    assert.ok(await pollUntil(() => hook.got.length >= 2, 5000), 'no second webhook event within 5 s of the 5th request');

    const sixth = await call(relay);
    assert.equal(sixth.status, 429, `request 6: ${sixth.status} ${sixth.text.slice(0, 300)}`);
    assert.equal(sixth.json?.error?.code, 'tenant_quota_exceeded', sixth.text);
    await sleep(1000);
    assert.equal(hook.got.length, 2, `webhook events: ${JSON.stringify(hook.got.map((g) => g.body))}`);

    // ---- the webhook bodies
    hook.got.forEach((g, i) => {
      assert.equal(g.method, 'POST', `event ${i}`);
      assert.equal(g.url, '/hook?token=SECRET', `event ${i}`);
      assert.match(g.contentType ?? '', /^application\/json\b/, `event ${i} content-type`);
      assert.ok(g.json, `event ${i} is not JSON: ${g.body}`);
    });
    const [e80, e100] = hook.got.map((g) => g.json);
    const want = { event: 'quota_threshold', tenant: TENANT, key_id: '', quota: 'daily_requests', limit: LIMIT, period: today };
    for (const [e, threshold, used] of [
      [e80, 80, 4],
      [e100, 100, 5],
    ]) {
      const { at, ...rest } = e;
      assert.deepEqual(rest, { ...want, threshold, used }, `event ${JSON.stringify(e)}`);
      assert.match(at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/, `at ${at} is not RFC 3339 UTC`);
      assert.ok(Math.abs(Date.parse(at) - Date.now()) < 120000, `at ${at} is not about now`);
    }

    // ---- the metrics (a delivery is counted once the receiver has answered)
    let m = {};
    await pollUntil(async () => (m = await metrics(adminUrl))[deliveries('delivered')] === 2, 5000);
    assert.equal(m[alertSeries(80)], 1, JSON.stringify(m));
    assert.equal(m[alertSeries(100)], 1, JSON.stringify(m));
    assert.equal(m[deliveries('delivered')], 2, JSON.stringify(m));
    assert.equal(m[deliveries('failed')], 0, JSON.stringify(m));
    assert.equal(m[deliveries('dropped')], 0, JSON.stringify(m));

    // ---- serve's log: each crossing once, the token never
    const log = fs.readFileSync(relay.logFile, 'utf8');
    const crossings = (t) => log.split('\n').filter((l) => /quota threshold/.test(l) && new RegExp(`threshold=${t}\\b`).test(l));
    for (const t of [80, 100]) {
      const lines = crossings(t);
      assert.equal(lines.length, 1, `serve log lines for the ${t} % crossing: ${JSON.stringify(lines)}`);
      assert.match(lines[0], new RegExp(`tenant=${TENANT}\\b`), lines[0]);
      assert.match(lines[0], /quota=daily_requests/, lines[0]);
    }
    assert.ok(!log.includes('SECRET'), "serve's log contains the webhook URL's token");
  });
});
