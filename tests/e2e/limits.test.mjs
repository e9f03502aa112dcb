// Tenant admission (issue 4), one relay process with the in-process counter store: rate limits
// (GCRA, per second and per minute, burst = the limit), concurrency leases, daily/monthly quotas,
// tenants kept apart, the real Codex CLI waiting out a tenant's Retry-After, and limits per key
// on top of the tenant's (`key add|set --rps …`), changed while serve runs.
//
// One mock + one relay for the whole file; every test has tenants of its own (created with
// their limits before serve starts, see startRelay's `tenants`), so no test inherits another's
// counters. Refusals must never reach the mock: each request carries a nonce in its input and
// the mock log is counted by nonce.
//
// Grace periods (documented assumptions, not contract): the relay settles a request (lease
// release, token charge) just after the last byte leaves, so the tests give it 150 ms before
// counting on a released lease; token charges are checked through `tenant show`, which may lag
// serve by ~1 s, so it is polled for up to 2 s after each charged request.
//
// Figures are printed as lines starting with LIMITS_ (grep the test output).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  startMock,
  startRelay,
  relaySkip,
  relayFetch,
  runCodex,
  checkErrorModel,
  pollUntil,
  nonce,
  sleep,
  nowMs,
  MODELS,
} from './lib/harness.mjs';

const skip = relaySkip();

/** Mock usage per request (tests/mock-provider): Responses 2345 in + 57 out; chat 19 + 10. */
const RESPONSES_TOKENS = 2345 + 57;
const CHAT_TOKENS = 19 + 10;
/** c-monthly's limit: two chat completions and one Responses request use it up exactly. */
const MONTHLY = 2 * CHAT_TOKENS + RESPONSES_TOKENS;

// Every test's tenants, created with the relay. Names are the tests' own; limits are the
// contract's CLI flags.
const TENANTS = [
  { name: 'a-burst', args: ['--rps', '5'] },
  { name: 'a-sustained', args: ['--rps', '5'] },
  { name: 'a-rpm', args: ['--rps', '10', '--rpm', '3'] },
  { name: 'b-conc', args: ['--concurrency', '2'] },
  { name: 'b-drop', args: ['--concurrency', '2'] },
  { name: 'b-rate', args: ['--rps', '2', '--concurrency', '1'] },
  { name: 'c-requests', args: ['--daily-requests', '3'] },
  { name: 'c-tokens', args: ['--daily-tokens', '3000'] },
  { name: 'c-monthly', args: ['--monthly-tokens', String(MONTHLY)] },
  { name: 'd-free', args: [] },
  { name: 'd-limited', args: ['--rps', '2'] },
  { name: 'e-codex', args: ['--rpm', '12'] },
  { name: 'f-keys', args: [] },
  { name: 'f-set', args: [] },
];

// ---------------------------------------------------------------- helpers

const RL = ['x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests'];

/** OpenAI's x-ratelimit-reset-* duration ("20ms", "1s", "59.5s", "6m0s", "1h2m3.5s") in ms. */
function durationMs(s) {
  if (typeof s !== 'string' || s === '') return NaN;
  let m = /^(\d+(?:\.\d+)?)ms$/.exec(s);
  if (m) return Number(m[1]);
  m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s);
  if (!m) return NaN;
  return (Number(m[1] || 0) * 3600 + Number(m[2] || 0) * 60 + Number(m[3] || 0)) * 1000;
}

/** The relay's x-ratelimit-*-requests of a response, parsed; null when none is present. */
function rateHeaders(r, ctx) {
  const h = Object.fromEntries(RL.map((k) => [k, r.headers.get(k)]));
  if (RL.every((k) => h[k] === null)) return null;
  for (const k of RL) assert.ok(h[k] !== null, `${ctx}: ${k} missing while others are present: ${JSON.stringify(h)}`);
  // One value each: the mock's own x-ratelimit-* (5000 / 4999 / 12ms) must not get through.
  assert.match(h[RL[0]], /^\d+$/, `${ctx}: ${RL[0]} ${JSON.stringify(h[RL[0]])}`);
  assert.match(h[RL[1]], /^\d+$/, `${ctx}: ${RL[1]} ${JSON.stringify(h[RL[1]])}`);
  const reset = durationMs(h[RL[2]]);
  assert.ok(Number.isFinite(reset), `${ctx}: ${RL[2]} ${JSON.stringify(h[RL[2]])} is not an OpenAI-style duration`);
  return { limit: Number(h[RL[0]]), remaining: Number(h[RL[1]]), resetMs: reset, raw: h };
}

/** Retry-After of a refusal: whole seconds, ≥ 1. */
function retryAfter(r, ctx) {
  const ra = r.headers.get('retry-after');
  assert.match(ra || '', /^\d+$/, `${ctx}: Retry-After ${JSON.stringify(ra)} is not whole seconds`);
  assert.ok(Number(ra) >= 1, `${ctx}: Retry-After ${ra} < 1`);
  return Number(ra);
}

/** Asserts a tenant refusal: 429, the code, the error model, x-request-id, Retry-After. */
function assertRefused(r, code, ctx) {
  assert.equal(r.status, 429, `${ctx}: want 429 ${code}, got ${r.status} ${r.text.slice(0, 300)}`);
  checkErrorModel(assert, r.text, { code, status: r.status }, ctx);
  assert.ok(r.headers.get('x-request-id'), `${ctx}: refusal has no x-request-id`);
  return retryAfter(r, ctx);
}

/**
 * One request as `tenant`: Responses (default) or chat, stream or not, with `tag` in the last
 * user text (plus a scenario marker, if any). Returns relayFetch's {status, headers, text, json}
 * plus {tag, at}.
 */
async function call(relay, tenant, { tag = nonce(tenant), marker = '', stream = false, chat = false } = {}) {
  const input = `${marker} ${tag}`.trim();
  const at = nowMs();
  const r = chat
    ? await relayFetch(relay, '/v1/chat/completions', {
        key: relay.keys[tenant],
        body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: input }], ...(stream ? { stream, stream_options: { include_usage: true } } : {}) },
      })
    : await relayFetch(relay, '/v1/responses', { key: relay.keys[tenant], body: { model: 'gpt-5.5', input, stream } });
  return { ...r, tag, at, doneAt: nowMs() };
}

/** Fires `n` requests at once; results in send order. */
const burst = (relay, tenant, n, opts = {}) =>
  Promise.all(Array.from({ length: n }, (_, i) => call(relay, tenant, { ...opts, tag: nonce(`${tenant}-${i}`) })));

/** The nonce of a request as the mock logged it: the last word of its last user text. */
const tagOf = (e) => (e.last_user_text || '').trim().split(/\s+/).at(-1);

/** Mock log entries (model requests) whose last user text ends with one of `tags`. */
async function upstreamFor(mock, tags) {
  const set = new Set(tags);
  return (await mock.log()).filter((e) => set.has(tagOf(e)));
}

const count = (rs, status) => rs.filter((r) => r.status === status).length;
const statuses = (rs) => JSON.stringify(rs.reduce((o, r) => ({ ...o, [r.status]: (o[r.status] || 0) + 1 }), {}));

/**
 * `tenant show` figure: the first line naming `what` (requests/tokens) and the period
 * (day: "today"/"daily"/"day", month: "month") that has "USED / LIMIT". Numbers may have
 * "," or "_" thousands separators; LIMIT may be a word ("unlimited", "-"). Returns {used, limit, line} or null.
 */
function showFigure(text, what, period) {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(\d)[,_](?=\d{3}\b)/g, '$1');
    if (!new RegExp(what, 'i').test(line)) continue;
    const isMonth = /month/i.test(line);
    if (period === 'month' ? !isMonth : isMonth || !/(today|daily|\bday\b)/i.test(line)) continue;
    const m = /(\d+)\s*\/\s*(\d+|[^\s\d]+)/.exec(line);
    if (m) return { used: Number(m[1]), limit: /^\d+$/.test(m[2]) ? Number(m[2]) : m[2], line: raw.trim() };
  }
  return null;
}

/** Polls `tenant show NAME` (≤ 2 s) until `want(figures)`; returns the last figures and text. */
async function pollShow(relay, name, want, ms = 2000) {
  let text = '';
  let f = null;
  await pollUntil(async () => {
    text = relay.cli(['tenant', 'show', name]);
    f = {
      dayRequests: showFigure(text, 'request', 'day'),
      dayTokens: showFigure(text, 'token', 'day'),
      monthTokens: showFigure(text, 'token', 'month'),
    };
    return want(f);
  }, ms);
  return { f, text };
}

const msToUtcDayEnd = (t = Date.now()) => Math.ceil(t / 86400000) * 86400000 - t;
function msToUtcMonthEnd(t = Date.now()) {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - t;
}

/**
 * A recording HTTP proxy in front of the relay, so the test sees exactly what Codex got:
 * {at, status, retryAfter, code, headers, endedAt} per request, in arrival order.
 */
async function recordingProxy(target) {
  const seen = [];
  const hop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'host']);
  const server = http.createServer((req, res) => {
    const rec = { at: nowMs(), method: req.method, url: req.url, status: null, retryAfter: null, code: null, body: '' };
    seen.push(rec);
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !hop.has(k)));
      const up = http.request(`${target}${req.url}`, { method: req.method, headers, agent: false }, (ur) => {
        rec.status = ur.statusCode;
        rec.headers = ur.headers;
        rec.retryAfter = ur.headers['retry-after'] ?? null;
        res.writeHead(ur.statusCode, Object.fromEntries(Object.entries(ur.headers).filter(([k]) => !hop.has(k))));
        ur.on('data', (d) => {
          if (ur.statusCode !== 200 && rec.body.length < 4000) rec.body += d;
          res.write(d);
        });
        ur.on('end', () => {
          rec.endedAt = nowMs();
          try {
            rec.code = JSON.parse(rec.body).error?.code ?? null;
          } catch {}
          res.end();
        });
        ur.on('error', () => res.destroy());
      });
      up.on('error', (err) => {
        rec.error = String(err);
        res.destroy();
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    seen,
    base: `http://127.0.0.1:${server.address().port}/v1`,
    stop: () => new Promise((r) => server.close(r)),
  };
}

/** The id (key_…) of a key, found by its prefix in `key list`. */
function keyId(relay, key) {
  const row = relay.cli(['key', 'list']).split('\n').find((l) => l.split(/\s+/)[2] === key.slice(0, 12));
  assert.ok(row, `key list has no row with prefix ${key.slice(0, 12)}`);
  return row.split(/\s+/)[0];
}

/**
 * `key add TENANT ...args` while serve runs; registers the key as relay.keys[name] and returns its
 * id once serve accepts it (its next snapshot poll). The request that proves it is counted.
 */
async function addKey(relay, name, tenant, args) {
  const key = relay.cli(['key', 'add', tenant, ...args]);
  assert.match(key, /^crk_\S+$/, `key add printed ${JSON.stringify(key)}`);
  relay.keys[name] = key;
  let last;
  const known = await pollUntil(async () => (last = await call(relay, name)).status !== 401, 3000);
  assert.ok(known, `serve did not accept the new key within 3 s: ${last.status} ${last.text.slice(0, 200)}`);
  assert.equal(last.status, 200, `first request with the new key: ${last.status} ${last.text.slice(0, 200)}`);
  return keyId(relay, key);
}

// ---------------------------------------------------------------- the suite

describe('tenant admission', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }], tenants: TENANTS });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  // ------------------------------------------------------------ a. rate

  describe('a. rate limits (GCRA, burst = the limit)', () => {
    it('--rps 5: 20 at once → 5 admitted, the rest 429 tenant_rate_limited; only the admitted reach upstream; back after Retry-After', async () => {
      const rs = await burst(relay, 'a-burst', 20);
      const spanMs = Math.max(...rs.map((r) => r.doneAt)) - Math.min(...rs.map((r) => r.at));
      const ok = rs.filter((r) => r.status === 200);
      const refused = rs.filter((r) => r.status !== 200);
      console.log(`LIMITS_RPS_BURST admitted=${ok.length} refused=${refused.length} statuses=${statuses(rs)} span_ms=${Math.round(spanMs)}`);
      // Burst 5; one more may have been earned if the 20 took longer than 200 ms to arrive.
      assert.ok(ok.length >= 5 && ok.length <= 5 + Math.floor(spanMs / 200), `admitted ${ok.length} of 20 (span ${Math.round(spanMs)} ms), want 5`);
      const ras = refused.map((r, i) => assertRefused(r, 'tenant_rate_limited', `refusal ${i}`));
      for (const ra of ras) assert.ok(ra <= 2, `Retry-After ${ra} s at 5 rps (a request is allowed again within 200 ms)`);

      // Every response carries the tenant's own figures: limit 5, remaining counting down.
      const hs = rs.map((r, i) => {
        const h = rateHeaders(r, `response ${i} (${r.status})`);
        assert.ok(h, `response ${i} (${r.status}) has no x-ratelimit-*-requests`);
        assert.equal(h.limit, 5, `response ${i}: x-ratelimit-limit-requests ${h.limit}`);
        assert.ok(h.resetMs >= 0 && h.resetMs <= 1050, `response ${i}: reset ${h.raw[RL[2]]}, want ≤ 1 s at 5 rps`);
        return h;
      });
      const remOk = ok.map((r) => hs[rs.indexOf(r)].remaining).sort((x, y) => y - x);
      console.log(`LIMITS_RPS_BURST remaining(admitted)=${remOk.join(',')} retry_after=${[...new Set(ras)].join(',')}`);
      assert.equal(remOk[0], 4, `first admitted request should leave 4: ${remOk}`);
      if (ok.length === 5) assert.deepEqual(remOk, [4, 3, 2, 1, 0], 'remaining does not count down one per admitted request');
      for (const r of refused) {
        const h = hs[rs.indexOf(r)];
        assert.equal(h.remaining, 0, `a refusal says ${h.remaining} remaining`);
        assert.ok(h.resetMs > 0, `a refusal says reset ${h.raw[RL[2]]}`);
      }

      // Upstream saw exactly the admitted requests.
      const up = await upstreamFor(mock, rs.map((r) => r.tag));
      assert.deepEqual(up.map(tagOf).sort(), ok.map((r) => r.tag).sort(), 'upstream did not see exactly the admitted requests');

      // After Retry-After seconds the tenant is served again.
      await sleep(Math.max(...ras) * 1000);
      const again = await call(relay, 'a-burst');
      assert.equal(again.status, 200, `after Retry-After: ${again.status} ${again.text.slice(0, 200)}`);
      const h = rateHeaders(again, 'after Retry-After');
      assert.ok(h && h.limit === 5 && h.remaining >= 0 && h.remaining < 5, `after Retry-After: ${JSON.stringify(h?.raw)}`);
    });

    it('--rps 5 sustained: ~20 req/s offered for 3 s → admitted ≈ 5 burst + 5/s × 3 (± 3)', async () => {
      const offered = 60;
      const t0 = nowMs();
      const pending = [];
      for (let i = 0; i < offered; i++) {
        const wait = t0 + i * 50 - nowMs();
        if (wait > 0) await sleep(wait);
        pending.push(call(relay, 'a-sustained', { tag: nonce(`a-sustained-${i}`) }));
      }
      const rs = await Promise.all(pending);
      const spanMs = rs.at(-1).at - rs[0].at;
      const ok = rs.filter((r) => r.status === 200);
      // GCRA from a fresh tenant: the burst, then one every 200 ms over the span.
      const want = 5 + Math.floor(spanMs / 200);
      console.log(`LIMITS_RPS_SUSTAINED offered=${offered} span_ms=${Math.round(spanMs)} admitted=${ok.length} want≈${want} (5 + 5/s × 3 = 20) statuses=${statuses(rs)}`);
      assert.ok(Math.abs(ok.length - 20) <= 3, `admitted ${ok.length} of ${offered} in ${Math.round(spanMs)} ms, want 20 ± 3`);
      for (const r of rs.filter((x) => x.status !== 200)) assertRefused(r, 'tenant_rate_limited', 'sustained refusal');
      const up = await upstreamFor(mock, rs.map((r) => r.tag));
      assert.equal(up.length, ok.length, `upstream saw ${up.length} requests, the relay admitted ${ok.length}`);
    });

    it('--rps 10 --rpm 3: the per-minute limiter refuses the 4th and is the one the headers describe', async () => {
      const rs = await burst(relay, 'a-rpm', 5);
      const ok = rs.filter((r) => r.status === 200);
      assert.equal(ok.length, 3, `admitted ${ok.length} of 5 (rpm 3, burst 3): ${statuses(rs)}`);
      for (const r of rs) {
        const h = rateHeaders(r, `${r.status}`);
        assert.ok(h, `response ${r.status} has no x-ratelimit-*-requests`);
        assert.equal(h.limit, 3, `x-ratelimit-limit-requests ${h.limit}: want the rpm limiter's 3, not rps 10`);
        assert.ok(h.resetMs > 0 && h.resetMs <= 60000, `reset ${h.raw[RL[2]]}, want within the minute`);
        if (r.status !== 200) {
          const ra = assertRefused(r, 'tenant_rate_limited', 'rpm refusal');
          // 3 per minute: one more is allowed 20 s after the first.
          assert.ok(ra >= 15 && ra <= 20, `Retry-After ${ra}, want ≈ 20 s (one request per 20 s)`);
          assert.equal(h.remaining, 0);
        }
      }
      console.log(`LIMITS_RPM ${rs.map((r) => `${r.status}:${r.headers.get(RL[1])}/${r.headers.get(RL[0])} reset=${r.headers.get(RL[2])} ra=${r.headers.get('retry-after')}`).join(' ')}`);
      assert.equal((await upstreamFor(mock, rs.map((r) => r.tag))).length, 3);
    });
  });

  // ------------------------------------------------------------ b. concurrency

  describe('b. concurrency leases', () => {
    /** A streaming Responses request that returns once its headers are in; read() / abort() later. */
    async function openStream(tenant, marker) {
      const tag = nonce(tenant);
      const ac = new AbortController();
      const r = await fetch(`${relay.base}/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${relay.keys[tenant]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-5.5', input: `${marker} ${tag}`, stream: true }),
        signal: ac.signal,
      });
      return { tag, status: r.status, headers: r.headers, res: r, ac };
    }
    const textOf = async (s) => {
      const text = await s.res.text();
      return { ...s, text };
    };

    it('--concurrency 2: 5 concurrent slow streams → exactly 2 admitted, 3 × 429 tenant_concurrency_limited; freed when they finish', async () => {
      const opened = await Promise.all(Array.from({ length: 5 }, () => openStream('b-conc', '[[mock:paced:5:300]]')));
      const admitted = opened.filter((s) => s.status === 200);
      const refused = await Promise.all(opened.filter((s) => s.status !== 200).map(textOf));
      console.log(`LIMITS_CONCURRENCY first wave: ${opened.map((s) => s.status).join(',')}`);
      assert.equal(admitted.length, 2, `admitted ${admitted.length} of 5 with --concurrency 2: ${opened.map((s) => s.status)}`);
      for (const r of refused) assertRefused(r, 'tenant_concurrency_limited', 'concurrency refusal');

      // While both still stream, the tenant has no room (also for a quick non-stream request).
      const mid = await call(relay, 'b-conc');
      assertRefused(mid, 'tenant_concurrency_limited', 'while two streams live');

      const done = await Promise.all(admitted.map(textOf));
      for (const d of done) assert.match(d.text, /response\.completed/, 'an admitted stream did not complete');
      const up = await upstreamFor(mock, [...opened.map((s) => s.tag), mid.tag]);
      assert.deepEqual(up.map(tagOf).sort(), admitted.map((s) => s.tag).sort(), 'upstream did not see exactly the admitted requests');

      // Leases are back: again exactly two of three get in (slow non-stream requests this time).
      await sleep(150);
      const rs = await Promise.all(Array.from({ length: 3 }, () => call(relay, 'b-conc', { marker: '[[mock:slow_headers:800]]' })));
      console.log(`LIMITS_CONCURRENCY after finish: ${rs.map((r) => r.status).join(',')}`);
      assert.equal(count(rs, 200), 2, `after the streams finished: ${statuses(rs)}, want 2 admitted`);
      for (const r of rs.filter((x) => x.status !== 200)) assertRefused(r, 'tenant_concurrency_limited', 'second wave');
    });

    it('--concurrency 2: clients that disconnect mid-stream give their leases back', async () => {
      const streams = await Promise.all([0, 1].map(() => openStream('b-drop', '[[mock:paced:40:200]]')));
      assert.deepEqual(streams.map((s) => s.status), [200, 200]);
      for (const s of streams) {
        const reader = s.res.body.getReader();
        const first = await reader.read();
        assert.ok(!first.done, 'stream ended at once');
      }
      const full = await call(relay, 'b-drop');
      assertRefused(full, 'tenant_concurrency_limited', 'while two streams live');
      const droppedAt = nowMs();
      for (const s of streams) s.ac.abort();

      // Probe with three slow requests at once until exactly two get in (never more).
      let rs = [];
      let tries = 0;
      const freed = await pollUntil(async () => {
        tries++;
        rs = await Promise.all(Array.from({ length: 3 }, () => call(relay, 'b-drop', { marker: '[[mock:slow_headers:300]]' })));
        assert.ok(count(rs, 200) <= 2, `more than 2 admitted at once: ${statuses(rs)}`);
        return count(rs, 200) === 2;
      }, 3000);
      const freedMs = nowMs() - droppedAt;
      const up = await upstreamFor(mock, streams.map((s) => s.tag));
      console.log(
        `LIMITS_CONCURRENCY_DISCONNECT freed_after_ms=${Math.round(freedMs)} probes=${tries} last=${statuses(rs)} ` +
          `upstream_aborted=${up.map((e) => e.aborted).join(',')}`,
      );
      assert.ok(freed, `leases not back ${Math.round(freedMs)} ms after both clients disconnected: ${statuses(rs)}`);
      assert.ok(freedMs <= 2500, `leases came back only after ${Math.round(freedMs)} ms`);
    });
    it('--rps 2 --concurrency 1: requests refused for concurrency do not use up the rate budget', async () => {
      // One slow request holds the only lease and takes 1 of the burst of 2.
      const slowP = call(relay, 'b-rate', { marker: '[[mock:slow_headers:400]]' });
      await sleep(50);
      const refused = [];
      for (let i = 0; i < 2; i++) refused.push(await call(relay, 'b-rate'));
      const slow = await slowP;
      // The lease goes at settle, just after the response's last byte has left: a request sent
      // the instant the client holds the response may still find it held (seen once in about
      // ten runs). 20 ms lets settle run; the rate budget refills one request per 500 ms, so
      // this one still lands in the same budget window.
      await sleep(20);
      const after = await call(relay, 'b-rate');
      const fmt = (r) => `${r.status}${r.json?.error?.code ? ` ${r.json.error.code}` : ''} remaining=${r.headers.get(RL[1])}`;
      console.log(`LIMITS_CONCURRENCY_RATE slow: ${fmt(slow)}; during: ${refused.map(fmt).join(', ')}; right after (${Math.round(after.at - slow.at)} ms in): ${fmt(after)}`);
      assert.equal(slow.status, 200, slow.text.slice(0, 200));
      assert.equal(rateHeaders(slow, 'slow request').remaining, 1);
      for (const [i, r] of refused.entries()) {
        const h = rateHeaders(r, 'refusal');
        assert.ok(h, `refusal ${i} (${fmt(r)}) has no x-ratelimit-*-requests (every response to a rate-limited tenant should)`);
        assert.ok(
          h.remaining >= 1,
          `refusal ${i} (${fmt(r)}): a request refused for concurrency used the rate budget (remaining was 1 after the only admitted request)`,
        );
        assertRefused(r, 'tenant_concurrency_limited', `refusal ${i} while the lease is held`);
      }
      // Only one request was served in the last half second; the burst is 2.
      assert.equal(after.status, 200, `after the slow request: ${fmt(after)} (only 1 of a burst of 2 was served)`);
    });
  });

  // ------------------------------------------------------------ c. quotas

  describe('c. quotas (UTC day and month)', () => {
    before(async () => {
      // Never straddle a UTC midnight: the counters would reset mid-test.
      const left = msToUtcDayEnd();
      if (left < 20000) await sleep(left + 500);
    });

    it('--daily-requests 3: the 4th → 429 tenant_quota_exceeded, Retry-After = seconds to UTC midnight; `tenant show` 3 / 3; set 0 lifts it', async () => {
      const rs = [];
      for (let i = 0; i < 3; i++) rs.push(await call(relay, 'c-requests'));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200], rs.map((r) => r.text.slice(0, 200)).join('\n'));
      const fourth = await call(relay, 'c-requests', { stream: true });
      const ra = assertRefused(fourth, 'tenant_quota_exceeded', '4th request');
      const want = Math.ceil(msToUtcDayEnd(fourth.at) / 1000);
      console.log(`LIMITS_QUOTA_REQUESTS retry_after=${ra} seconds_to_utc_midnight=${want}`);
      assert.ok(Math.abs(ra - want) <= 5, `Retry-After ${ra}, want seconds to UTC midnight ≈ ${want}`);
      const fifth = await call(relay, 'c-requests');
      assertRefused(fifth, 'tenant_quota_exceeded', '5th request');
      const up = await upstreamFor(mock, [...rs, fourth, fifth].map((r) => r.tag));
      assert.equal(up.length, 3, `upstream saw ${up.length} requests, want the 3 admitted`);

      // Refusals are not charged: the day's count stays 3.
      const { f, text } = await pollShow(relay, 'c-requests', (x) => x.dayRequests?.used === 3);
      console.log(`LIMITS_SHOW c-requests: ${f.dayRequests?.line}`);
      assert.ok(f.dayRequests, `tenant show has no "requests today: USED / LIMIT" line:\n${text}`);
      assert.equal(f.dayRequests.used, 3, `tenant show: ${f.dayRequests.line}\n${text}`);
      assert.equal(f.dayRequests.limit, 3, `tenant show: ${f.dayRequests.line}\n${text}`);

      // Lifting the limit takes effect within ~1.5 s.
      relay.cli(['tenant', 'set', 'c-requests', '--daily-requests', '0']);
      const setAt = nowMs();
      let last;
      const lifted = await pollUntil(async () => (last = await call(relay, 'c-requests')).status === 200, 3000);
      const liftMs = nowMs() - setAt;
      console.log(`LIMITS_QUOTA_LIFT after_ms=${Math.round(liftMs)}`);
      assert.ok(lifted, `still refused 3 s after \`tenant set --daily-requests 0\`: ${last.status} ${last.text.slice(0, 200)}`);
      assert.ok(liftMs <= 1500, `limit lifted only after ${Math.round(liftMs)} ms`);
    });

    /**
     * Waits (≤ 2 s, serve flushes its counters about every second) until `tenant show NAME` has
     * `key` (dayTokens/monthTokens) used = `want`; asserts it, naming the request just charged.
     */
    async function assertCharged(name, key, want, what) {
      const { f, text } = await pollShow(relay, name, (x) => x[key]?.used === want);
      assert.ok(f[key], `tenant show has no "${key === 'monthTokens' ? 'tokens this month' : 'tokens today'}: USED / LIMIT" line:\n${text}`);
      assert.equal(f[key].used, want, `after ${what}: tenant show says "${f[key].line}", want ${want} used\n${text}`);
      return f;
    }

    it('--daily-tokens 3000: charged at settle with real usage (2402 per Responses request): 1st and 2nd ok, 3rd refused; `tenant show` matches', async () => {
      // Non-stream, then stream: usage must be read from either body.
      const first = await call(relay, 'c-tokens');
      assert.equal(first.status, 200, first.text.slice(0, 300));
      assert.equal(first.json?.usage?.total_tokens, RESPONSES_TOKENS);
      await assertCharged('c-tokens', 'dayTokens', RESPONSES_TOKENS, 'a non-stream Responses request (usage 2345 + 57)');
      const second = await call(relay, 'c-tokens', { stream: true });
      assert.equal(second.status, 200, `2nd request (2402 used < 3000): ${second.status} ${second.text.slice(0, 300)}`);
      assert.match(second.text, /response\.completed/);
      await assertCharged('c-tokens', 'dayTokens', 2 * RESPONSES_TOKENS, 'a streamed Responses request (usage 2345 + 57)');
      const third = await call(relay, 'c-tokens');
      const ra = assertRefused(third, 'tenant_quota_exceeded', '3rd request (4804 used ≥ 3000)');
      const want = Math.ceil(msToUtcDayEnd(third.at) / 1000);
      assert.ok(Math.abs(ra - want) <= 5, `Retry-After ${ra}, want seconds to UTC midnight ≈ ${want}`);

      const up = await upstreamFor(mock, [first, second, third].map((r) => r.tag));
      assert.equal(up.length, 2, `upstream saw ${up.length} requests, want 2`);
      assert.ok(up.every((e) => e.status === 200));
      // The refusal is not charged: usage still equals what the mock served.
      await sleep(300);
      const mockSum = up.length * RESPONSES_TOKENS;
      const { f, text } = await pollShow(relay, 'c-tokens', (x) => x.dayTokens?.used === mockSum && x.monthTokens?.used === mockSum);
      console.log(`LIMITS_SHOW c-tokens: ${f.dayTokens?.line} | ${f.monthTokens?.line} | ${f.dayRequests?.line} (mock sum ${mockSum})`);
      assert.equal(f.dayTokens.used, mockSum, `day tokens: ${f.dayTokens.line}, mock served ${mockSum}\n${text}`);
      assert.equal(f.dayTokens.limit, 3000, `day tokens: ${f.dayTokens.line}\n${text}`);
      assert.ok(f.monthTokens, `tenant show has no "tokens this month: USED / ..." line:\n${text}`);
      assert.equal(f.monthTokens.used, mockSum, `month tokens: ${f.monthTokens.line}\n${text}`);
      if (f.dayRequests) assert.equal(f.dayRequests.used, 2, `day requests (refusal not charged): ${f.dayRequests.line}\n${text}`);
    });

    it('--monthly-tokens 2460: chat (29), chat stream with include_usage (29), Responses stream (2402) use it up exactly; the next → 429, Retry-After = seconds to month end', async () => {
      let used = 0;
      const sent = [];
      for (const [what, opts, tokens] of [
        ['a non-stream chat completion (usage 19 + 10)', { chat: true }, CHAT_TOKENS],
        ['a streamed chat completion with include_usage (19 + 10)', { chat: true, stream: true }, CHAT_TOKENS],
        ['a streamed Responses request (2345 + 57)', { stream: true }, RESPONSES_TOKENS],
      ]) {
        const r = await call(relay, 'c-monthly', opts);
        sent.push(r);
        assert.equal(r.status, 200, `${what} with ${used} of ${MONTHLY} used: ${r.status} ${r.text.slice(0, 300)}`);
        used += tokens;
        await assertCharged('c-monthly', 'monthTokens', used, what);
      }
      const last = await call(relay, 'c-monthly', { chat: true });
      sent.push(last);
      const ra = assertRefused(last, 'tenant_quota_exceeded', `4th request (${used} used = the limit)`);
      const want = Math.ceil(msToUtcMonthEnd(last.at) / 1000);
      console.log(`LIMITS_QUOTA_MONTH retry_after=${ra} seconds_to_month_end=${want}`);
      assert.ok(Math.abs(ra - want) <= 5, `Retry-After ${ra}, want seconds to the end of the UTC month ≈ ${want}`);
      assert.equal((await upstreamFor(mock, sent.map((r) => r.tag))).length, 3);
      const { f, text } = await pollShow(relay, 'c-monthly', (x) => x.monthTokens?.used === MONTHLY);
      console.log(`LIMITS_SHOW c-monthly: ${f.monthTokens?.line}`);
      assert.equal(f.monthTokens.used, MONTHLY, `${f.monthTokens.line}\n${text}`);
      assert.equal(f.monthTokens.limit, MONTHLY, `${f.monthTokens.line}\n${text}`);
    });
  });

  // ------------------------------------------------------------ d. tenants apart

  describe('d. tenants are kept apart', () => {
    it('an unlimited tenant is never refused and gets no x-ratelimit-* while a limited one is being refused', async () => {
      const free = [];
      const limited = [];
      const t0 = nowMs();
      for (let round = 0; round < 3; round++) {
        const [f, l] = await Promise.all([burst(relay, 'd-free', 15, { stream: round === 1 }), burst(relay, 'd-limited', 15)]);
        free.push(...f);
        limited.push(...l);
        await sleep(100);
      }
      free.push(await call(relay, relay.tenant)); // the default tenant has no limits either
      console.log(`LIMITS_APART free=${statuses(free)} limited=${statuses(limited)}`);
      assert.equal(count(free, 200), free.length, `the unlimited tenant was refused: ${statuses(free)} ${free.find((r) => r.status !== 200)?.text}`);
      for (const r of free) {
        const present = [...r.headers.keys()].filter((k) => k.startsWith('x-ratelimit-'));
        assert.deepEqual(present, [], `an unlimited tenant got ${present.map((k) => `${k}: ${r.headers.get(k)}`).join(', ')}`);
      }
      const ok = count(limited, 200);
      const spanMs = Math.max(...limited.map((r) => r.at)) - t0;
      // Burst 2, then one per 500 ms of the span.
      assert.ok(ok >= 2 && ok <= 2 + Math.ceil(spanMs / 500), `the --rps 2 tenant had ${ok} of ${limited.length} admitted over ${Math.round(spanMs)} ms`);
      for (const r of limited.filter((x) => x.status !== 200)) assertRefused(r, 'tenant_rate_limited', 'limited tenant');
      for (const r of limited) assert.equal(rateHeaders(r, 'limited tenant')?.limit, 2);
      const up = await upstreamFor(mock, [...free, ...limited].map((r) => r.tag));
      assert.equal(up.length, free.length + ok, `upstream saw ${up.length}, want ${free.length} + ${ok}`);
    });
  });

  // ------------------------------------------------------------ e. the real Codex CLI

  describe('e. the real Codex CLI', () => {
    const fail = (run) => `codex exit ${run.code ?? run.signal} after ${run.ms} ms\n--- stdout\n${run.stdout.slice(-1500)}\n--- stderr\n${run.stderr.slice(-2500)}`;

    it('--rpm 12: a run that finds the tenant over its limit waits the Retry-After and then succeeds', async () => {
      const proxy = await recordingProxy(relay.url);
      try {
        // Run 1 takes one of the 12 (burst 12); the rest of the burst is used right after.
        const run1 = await runCodex({ baseUrl: proxy.base, key: relay.keys['e-codex'], prompt: 'Say hello' });
        assert.equal(run1.code, 0, fail(run1));
        assert.match(run1.stdout, /Hello from mock/, fail(run1));
        const first = proxy.seen.filter((s) => s.url.endsWith('/responses'));
        assert.equal(first.length, 1, `run 1 sent ${first.length} requests`);
        assert.equal(first[0].status, 200);
        assert.equal(first[0].headers['x-ratelimit-limit-requests'], '12', `run 1 headers: ${JSON.stringify(first[0].headers)}`);
        let topUp = 0;
        let refusal = null;
        for (let i = 0; i < 15 && !refusal; i++) {
          const r = await call(relay, 'e-codex');
          if (r.status === 200) topUp++;
          else refusal = r;
        }
        assert.ok(refusal, 'the rpm 12 tenant was never refused');
        assertRefused(refusal, 'tenant_rate_limited', 'top-up');
        assert.ok(topUp >= 10 && topUp <= 12, `burst of 12 minus run 1 left ${topUp} (want 11)`);

        // Run 2: its first request is refused; Codex waits Retry-After, then the retry gets in.
        const since = (await mock.faults()).next_id;
        proxy.seen.length = 0;
        const run2 = await runCodex({ baseUrl: proxy.base, key: relay.keys['e-codex'], prompt: 'Say hello again', timeoutMs: 60000 });
        const seen = proxy.seen.filter((s) => s.url.endsWith('/responses'));
        const retryLines = (run2.stderr + run2.stdout).split('\n').filter((l) => /reconnect|retry|429|rate limit/i.test(l));
        const upstream = (await mock.logSince(since)).filter((e) => e.path === '/v1/responses');
        console.log(
          `LIMITS_CODEX run2_ms=${run2.ms} requests=${seen.map((s) => `${s.status}${s.code ? `:${s.code}` : ''}${s.retryAfter ? ` ra=${s.retryAfter}` : ''} @${Math.round(s.at - seen[0].at)}ms`).join(' → ')} ` +
            `upstream=${upstream.length} codex_printed=${JSON.stringify(retryLines)}`,
        );
        assert.equal(run2.code, 0, fail(run2));
        assert.match(run2.stdout, /Hello from mock/, fail(run2));
        assert.ok(seen.length >= 2, `Codex sent ${seen.length} requests, want a refusal then a retry\n${fail(run2)}`);
        assert.equal(seen[0].status, 429, `run 2's first request: ${seen[0].status}`);
        assert.equal(seen[0].code, 'tenant_rate_limited', seen[0].body);
        const ra = Number(seen[0].retryAfter);
        assert.ok(Number.isInteger(ra) && ra >= 1 && ra <= 5, `Retry-After ${seen[0].retryAfter} (rpm 12: ≤ 5 s)`);
        assert.equal(seen.at(-1).status, 200);
        assert.equal(seen.filter((s) => s.status === 200).length, 1);
        // Codex honours Retry-After exactly: the retry comes no sooner.
        const gap = seen[1].at - seen[0].at;
        assert.ok(gap >= ra * 1000 - 100, `Codex retried ${Math.round(gap)} ms after a Retry-After of ${ra} s`);
        assert.ok(run2.ms >= ra * 1000, `run 2 took ${run2.ms} ms, less than the Retry-After`);
        // The mock saw the turn once, and only after the wait.
        assert.equal(upstream.length, 1, `upstream saw ${upstream.length} requests from run 2`);
        assert.ok(
          upstream[0].received_at_ms >= seen[0].at + ra * 1000 - 100,
          `upstream got run 2's request ${Math.round(upstream[0].received_at_ms - seen[0].at)} ms after the refusal (Retry-After ${ra} s)`,
        );
      } finally {
        await proxy.stop();
      }
    });
  });

  // ------------------------------------------------------------ f. limits per key

  describe('f. limits per key', () => {
    it('a key with --rps 2 under an unlimited tenant → 429 tenant_rate_limited; the tenant\'s other key is unaffected; both count for the tenant', async () => {
      const id = await addKey(relay, 'f-keys-a', 'f-keys', ['--rps', '2']);
      await sleep(600); // the proving request's slot of the burst of 2 comes back in 500 ms
      const t0 = nowMs();
      const [limited, other] = await Promise.all([burst(relay, 'f-keys-a', 10), burst(relay, 'f-keys', 10)]);
      const spanMs = Math.max(...limited.map((r) => r.at)) - t0;
      const ok = count(limited, 200);
      console.log(`LIMITS_KEY_RPS key=${statuses(limited)} sibling=${statuses(other)} span_ms=${Math.round(spanMs)}`);
      assert.ok(ok >= 2 && ok <= 2 + Math.floor(spanMs / 500), `the --rps 2 key had ${ok} of 10 admitted over ${Math.round(spanMs)} ms`);
      for (const r of limited.filter((x) => x.status !== 200)) {
        assertRefused(r, 'tenant_rate_limited', 'key refusal');
        assert.match(r.json.error.message, /this key/, `the refusal should name the key's limit: ${r.json.error.message}`);
      }
      for (const r of limited) assert.equal(rateHeaders(r, 'limited key')?.limit, 2);
      assert.equal(count(other, 200), other.length, `the sibling key was refused: ${statuses(other)} ${other.find((r) => r.status !== 200)?.text}`);
      for (const r of other) {
        const present = [...r.headers.keys()].filter((k) => k.startsWith('x-ratelimit-'));
        assert.deepEqual(present, [], `the unlimited sibling key got ${present.join(', ')}`);
      }
      const up = await upstreamFor(mock, [...limited, ...other].map((r) => r.tag));
      assert.equal(up.length, ok + other.length, `upstream saw ${up.length}, want ${ok} + ${other.length}`);

      // Requests count for the key and for its tenant (serve saves its counters about once a second).
      const keyWant = ok + 1; // and the request that proved the key
      let keyText = '';
      const keyCounted = await pollUntil(() => {
        keyText = relay.cli(['key', 'show', id]);
        return showFigure(keyText, 'request', 'day')?.used === keyWant;
      }, 2500);
      console.log(`LIMITS_KEY_SHOW ${showFigure(keyText, 'request', 'day')?.line}`);
      assert.ok(keyCounted, `key show: want ${keyWant} requests today\n${keyText}`);
      assert.match(keyText, /\n\s*rps\s+2\n/, `key show lists the key's rps:\n${keyText}`);
      assert.ok(!keyText.includes(relay.keys['f-keys-a']), 'key show printed the key');
      const { f, text } = await pollShow(relay, 'f-keys', (x) => x.dayRequests?.used === keyWant + other.length);
      assert.equal(f.dayRequests?.used, keyWant + other.length, `tenant show counts both keys:\n${text}`);
    });

    it('`key set` while serve runs: --rps 1 applies and --rps 0 lifts it within ~1.5 s, without a restart', async () => {
      const key = relay.keys['f-set'];
      const id = keyId(relay, key);
      const first = await burst(relay, 'f-set', 5);
      assert.equal(count(first, 200), 5, `no limit yet: ${statuses(first)}`);

      relay.cli(['key', 'set', id, '--rps', '1']);
      let setAt = nowMs();
      let rs = [];
      const limited = await pollUntil(async () => count((rs = await burst(relay, 'f-set', 3)), 429) > 0, 3000);
      const applyMs = nowMs() - setAt;
      assert.ok(limited, `never refused within 3 s of \`key set --rps 1\`: ${statuses(rs)}`);
      assert.ok(applyMs <= 1500, `the limit applied only after ${Math.round(applyMs)} ms`);
      // That burst may have straddled the snapshot swap; a fresh one, a full second later, may not.
      await sleep(1100);
      rs = await burst(relay, 'f-set', 3);
      assert.equal(count(rs, 200), 1, `--rps 1: 3 at once → ${statuses(rs)}, want 1 admitted`);
      for (const r of rs.filter((x) => x.status !== 200)) {
        assertRefused(r, 'tenant_rate_limited', 'after key set');
        assert.equal(rateHeaders(r, 'after key set')?.limit, 1);
      }
      assert.match(relay.cli(['key', 'list']).split('\n').find((l) => l.startsWith(id)) ?? '', /\srps=1$/);

      relay.cli(['key', 'set', id, '--rps', '0']);
      setAt = nowMs();
      const lifted = await pollUntil(async () => count((rs = await burst(relay, 'f-set', 3)), 200) === 3, 3000);
      const liftMs = nowMs() - setAt;
      console.log(`LIMITS_KEY_SET applied_after_ms=${Math.round(applyMs)} lifted_after_ms=${Math.round(liftMs)}`);
      assert.ok(lifted, `still refused 3 s after \`key set --rps 0\`: ${statuses(rs)}`);
      assert.ok(liftMs <= 1500, `the limit was lifted only after ${Math.round(liftMs)} ms`);
      for (const r of rs) assert.equal(r.headers.get(RL[0]), null, 'x-ratelimit-* after the key limit was lifted');
    });
  });
});
