// Tenant admission shared through Redis: two `serve` processes on one data dir (two nodes of one
// deployment, harness startNode) and one throwaway redis-server (harness startRedis). Rate
// limits, concurrency leases and quota counters hold across the nodes; a node killed with -9
// gives its leases back within the lease TTL; a Redis outage is survived with local limits
// (failure_mode "open", the default) or refused with 503 limits_unavailable for limited tenants
// only ("closed"); the node reconnects by itself; and no secret or prompt is ever stored in Redis.
//
// Every test starts its own redis + mock + relays and stops them, so no test inherits another's
// state. Requests carry a nonce in their input; the mock log is counted by nonce, so refusals
// are seen never to reach the upstream.
//
// Timeouts: tests a-d and g give each Redis call 500 ms (CODEX_RELAY_REDIS_TIMEOUT_MS) so that a
// slow CI box does not trip the fail-open path they do not test; e and f keep the default 50 ms.
//
// Figures are printed as single lines starting with REDIS_ (grep the test output).

import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  startMock,
  startRelay,
  startNode,
  startRedis,
  relaySkip,
  checkErrorModel,
  freePort,
  pollUntil,
  nonce,
  sleep,
  nowMs,
} from './lib/harness.mjs';

// Only a missing relay binary skips: the Redis backend is built, so a relay that lost it must fail
// here, not skip.
const skip = relaySkip();

/** Mock usage per Responses request (tests/mock-provider): 2345 in + 57 out. */
const RESPONSES_TOKENS = 2345 + 57;
/** Redis calls of the tests that are not about outages: generous, see the header. */
const SHARED_ENV = { CODEX_RELAY_REDIS_TIMEOUT_MS: '500' };
/** Longest a request may take while Redis is down or hung (the brief: none may hang). */
const PROMPT_MS = 2000;

// ---------------------------------------------------------------- helpers

/**
 * One request as `tenant` through `node`: Responses (default) or chat, stream or not, with `tag`
 * (plus a scenario marker) as the last user text. Never hangs: aborted after `timeoutMs`
 * (status 0, error set). Returns {status, headers, text, json, error, tag, node, at, ms}.
 */
async function call(node, tenant, { tag = nonce(tenant), marker = '', stream = false, chat = false, text = null, timeoutMs = 10000 } = {}) {
  const input = text ?? `${marker} ${tag}`.trim();
  const body = chat
    ? { model: 'gpt-4o-mini', messages: [{ role: 'user', content: input }], ...(stream ? { stream, stream_options: { include_usage: true } } : {}) }
    : { model: 'gpt-5.5', input, stream };
  const at = nowMs();
  const out = { status: 0, headers: new Headers(), text: '', json: null, error: null, tag, node: node.port, at, ms: 0 };
  try {
    const r = await fetch(`${node.url}/v1/${chat ? 'chat/completions' : 'responses'}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.keys[tenant]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    out.status = r.status;
    out.headers = r.headers;
    out.text = await r.text();
    try {
      out.json = JSON.parse(out.text);
    } catch {}
  } catch (err) {
    out.error = String(err?.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : err);
  }
  out.ms = nowMs() - at;
  return out;
}

/**
 * A streaming Responses request that returns once its headers are in (read with textOf, end with
 * ac.abort()). A refusal's body is read at once.
 */
async function openStream(node, tenant, marker) {
  const tag = nonce(tenant);
  const ac = new AbortController();
  const r = await fetch(`${node.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.keys[tenant]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-5.5', input: `${marker} ${tag}`, stream: true }),
    signal: ac.signal,
  });
  const s = { tag, node: node.port, status: r.status, headers: r.headers, res: r, ac, text: null, json: null };
  if (r.status !== 200) {
    s.text = await r.text();
    try {
      s.json = JSON.parse(s.text);
    } catch {}
  }
  return s;
}
const textOf = async (s) => ({ ...s, text: await s.res.text() });
const abortAll = (streams) => {
  for (const s of streams) {
    try {
      s.ac.abort();
    } catch {}
  }
};

const fmt = (r) => `${r.status}${r.json?.error?.code ? `:${r.json.error.code}` : ''}${r.error ? ` (${r.error})` : ''}`;
const statuses = (rs) => JSON.stringify(rs.reduce((o, r) => ({ ...o, [fmt(r)]: (o[fmt(r)] || 0) + 1 }), {}));
const count = (rs, status) => rs.filter((r) => r.status === status).length;
const maxMs = (rs) => Math.round(Math.max(...rs.map((r) => r.ms)));

/** Asserts a tenant refusal: 429, the code, the error model, Retry-After whole seconds ≥ 1. */
function assertRefused(r, code, ctx) {
  assert.equal(r.status, 429, `${ctx}: want 429 ${code}, got ${fmt(r)} ${r.text.slice(0, 300)}`);
  checkErrorModel(assert, r.text, { code, status: r.status }, ctx);
  const ra = r.headers.get('retry-after');
  assert.match(ra || '', /^\d+$/, `${ctx}: Retry-After ${JSON.stringify(ra)} is not whole seconds`);
  assert.ok(Number(ra) >= 1, `${ctx}: Retry-After ${ra} < 1`);
  return Number(ra);
}

/** The nonce of a request as the mock logged it: the last word of its last user text. */
const tagOf = (e) => (e.last_user_text || '').trim().split(/\s+/).at(-1);
async function upstreamFor(mock, tags) {
  const set = new Set(tags);
  return (await mock.log()).filter((e) => set.has(tagOf(e)));
}

/** Redis keys of a kind for a tenant, whatever the prefix and with or without {hash tags}. */
const keyRe = (prefix, kind, tenant, rest = '') =>
  new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}${kind}:\\{?${tenant}\\}?${rest}$`);

/** Every key with its type, TTL (ms) and value as redis-cli prints it. */
function redisDump(redis) {
  return redis.keys().map((key) => {
    const type = redis.cli('type', key).trim();
    const pttl = Number(redis.cli('pttl', key).trim());
    const read = {
      string: ['get', key],
      hash: ['hgetall', key],
      zset: ['zrange', key, '0', '-1', 'withscores'],
      set: ['smembers', key],
      list: ['lrange', key, '0', '-1'],
      stream: ['xrange', key, '-', '+'],
    }[type];
    return { key, type, pttl, value: read ? redis.cli('--no-raw', ...read).trim() : '' };
  });
}

/**
 * `tenant show` figure: the first line naming `what` (requests/tokens) for the day that has
 * "USED / LIMIT" (as in limits.test.mjs). Returns {used, limit, line} or null.
 */
function showFigure(text, what) {
  for (const raw of text.split('\n')) {
    const line = raw.replace(/(\d)[,_](?=\d{3}\b)/g, '$1');
    if (!new RegExp(what, 'i').test(line) || /month/i.test(line) || !/(today|daily|\bday\b)/i.test(line)) continue;
    const m = /(\d+)\s*\/\s*(\d+|[^\s\d]+)/.exec(line);
    if (m) return { used: Number(m[1]), limit: /^\d+$/.test(m[2]) ? Number(m[2]) : m[2], line: raw.trim() };
  }
  return null;
}

/** Polls `tenant show NAME` (read from Redis: CODEX_RELAY_REDIS_URL) until want(text). */
async function pollShow(node, redis, name, want, ms = 2000) {
  let text = '';
  await pollUntil(async () => want((text = node.cli(['tenant', 'show', name], { CODEX_RELAY_REDIS_URL: redis.url }))), ms);
  return text;
}

/** Warning lines of a node's log that report a fail-open Redis outage (not the start-up info). */
const failOpenLines = (node) =>
  fs
    .readFileSync(node.logFile, 'utf8')
    .split('\n')
    .filter((l) => /"level":"warn(ing)?"|\[warn(ing)?\]/i.test(l) && /redis/i.test(l) && /fail-open/i.test(l));

const msToUtcDayEnd = (t = Date.now()) => Math.ceil(t / 86400000) * 86400000 - t;

/** A node's admin /metrics (Prometheus text) as {name: value}. */
async function metrics(node) {
  const r = await fetch(`${node.adminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200, `GET ${node.adminUrl}/metrics`);
  const out = {};
  for (const line of (await r.text()).split('\n')) {
    const m = /^([a-z_]+)\s+(\S+)$/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * redis + mock + relay (node a) + `nodes - 1` more nodes on its data dir, all with
 * CODEX_RELAY_REDIS_URL and `env`; with `admin`, each node also gets an admin listener of its own
 * (node.adminUrl, for /metrics). Runs fn({redis, mock, a, b, nodes}); on failure prints the
 * tails of the logs; always stops everything.
 */
async function withCluster({ tenants, env = {}, nodes = 2, admin = false }, fn) {
  const c = { redis: null, mock: null, nodes: [] };
  const stopAll = async () => {
    for (const n of [...c.nodes].reverse()) await n.stop();
    await c.mock?.stop();
    await c.redis?.stop();
  };
  const dumpLogs = () => {
    for (const f of [...c.nodes.map((n) => n.logFile), c.redis?.logFile].filter(Boolean)) {
      try {
        console.log(`----- tail of ${f}\n${fs.readFileSync(f, 'utf8').split('\n').slice(-25).join('\n')}`);
      } catch {}
    }
  };
  try {
    c.redis = await startRedis();
    c.mock = await startMock({ tls: false });
    const adminEnv = async () => (admin ? { CODEX_RELAY_ADMIN_LISTEN: `127.0.0.1:${await freePort()}` } : {});
    const a = await startRelay(c.mock, { tenants, env: { CODEX_RELAY_REDIS_URL: c.redis.url, ...env, ...(await adminEnv()) } });
    c.nodes.push(a);
    for (let i = 1; i < nodes; i++) c.nodes.push(await startNode(a, { env: await adminEnv() }));
    for (const n of c.nodes) if (admin) n.adminUrl = `http://${n.serveEnv.CODEX_RELAY_ADMIN_LISTEN}`;
    await fn({ ...c, a, b: c.nodes[1] });
  } catch (err) {
    dumpLogs();
    throw err;
  } finally {
    await stopAll();
  }
}

// ---------------------------------------------------------------- the suite

describe('tenant admission shared through Redis (two nodes)', { skip }, () => {
  before(async () => {
    // The quota tests must not straddle a UTC midnight: the counters would reset mid-test.
    const left = msToUtcDayEnd();
    if (left < 60000) await sleep(left + 500);
  });

  it('a. --rps 10 over two nodes: ~30 req/s split across both for 4 s → total admitted ≈ 10 burst + 10/s (±10 %); both nodes refuse', async () => {
    const prefix = `e2e-${randomBytes(3).toString('hex')}:`;
    const env = { ...SHARED_ENV, CODEX_RELAY_REDIS_KEY_PREFIX: prefix };
    await withCluster({ tenants: [{ name: 'r-rate', args: ['--rps', '10'] }], env }, async ({ redis, mock, a, b }) => {
      const nodes = [a, b];
      const offered = 120;
      const gapMs = 1000 / 30;
      const t0 = nowMs();
      const pending = [];
      for (let i = 0; i < offered; i++) {
        const wait = t0 + i * gapMs - nowMs();
        if (wait > 0) await sleep(wait);
        pending.push(call(nodes[i % 2], 'r-rate', { tag: nonce(`r-rate-${i}`) }));
      }
      const rs = await Promise.all(pending);
      const spanMs = rs.at(-1).at - rs[0].at;
      const ok = rs.filter((r) => r.status === 200);
      // GCRA from a fresh tenant: the burst of 10, then one every 100 ms over the span.
      const expected = 10 + (10 * spanMs) / 1000;
      const per = nodes.map((n) => rs.filter((r) => r.node === n.port));
      const perOk = per.map((x) => count(x, 200));
      // One node alone (limits not shared) would admit its own burst + rate out of its half.
      const alone = Math.min(offered / 2, expected);
      console.log(
        `REDIS_RPS total=${ok.length} over=${(spanMs / 1000).toFixed(2)}s per_node=${perOk.join(',')} ` +
          `expected=${expected.toFixed(1)} one_node_alone≈${alone.toFixed(0)} offered=${offered} ` +
          `statuses_per_node=${per.map(statuses).join(' ')}`,
      );
      assert.ok(
        Math.abs(ok.length - expected) <= 0.1 * expected,
        `admitted ${ok.length} of ${offered} over ${Math.round(spanMs)} ms with --rps 10 shared by two nodes, want ${expected.toFixed(1)} ± 10 % (${per.map(statuses).join(' ')})`,
      );
      for (const [i, x] of per.entries()) {
        assert.ok(perOk[i] <= 0.75 * alone, `node ${i} admitted ${perOk[i]}: as many as it would alone (${alone.toFixed(0)}), the limit is not shared`);
        const refused = x.filter((r) => r.status !== 200);
        assert.ok(refused.length > 0, `node ${i} refused nothing: ${statuses(x)}`);
        for (const r of refused) assertRefused(r, 'tenant_rate_limited', `node ${i} refusal`);
      }
      for (const r of rs) {
        assert.equal(r.headers.get('x-ratelimit-limit-requests'), '10', `${fmt(r)} on ${r.node}: x-ratelimit-limit-requests`);
      }
      const up = await upstreamFor(mock, rs.map((r) => r.tag));
      assert.deepEqual(up.map(tagOf).sort(), ok.map((r) => r.tag).sort(), 'upstream did not see exactly the admitted requests');

      // The state is in Redis, under the configured prefix only.
      const keys = redis.keys();
      console.log(`REDIS_RPS keys=${JSON.stringify(keys)}`);
      assert.ok(keys.some((k) => keyRe(prefix, 'rate', 'r-rate', ':s').test(k)), `no ${prefix}rate:r-rate:s key in Redis: ${JSON.stringify(keys)}`);
      for (const k of keys) assert.ok(k.startsWith(prefix), `key ${k} lacks the key prefix ${prefix}`);
    });
  });

  it('b. --concurrency 5 over two nodes: 3 + 2 streams fill it, a 6th is refused on either node; when one ends, the other node admits one', async () => {
    await withCluster({ tenants: [{ name: 'r-conc', args: ['--concurrency', '5'] }], env: SHARED_ENV }, async ({ redis, mock, a, b }) => {
      const streams = [];
      try {
        // The first ends after ~1.5 s; the others stream for ~8 s (aborted at the end).
        streams.push(await openStream(a, 'r-conc', '[[mock:paced:10:150]]'));
        for (const n of [a, a, b, b]) streams.push(await openStream(n, 'r-conc', '[[mock:paced:80:100]]'));
        assert.deepEqual(streams.map((s) => s.status), [200, 200, 200, 200, 200], `5 streams (3 on A, 2 on B): ${streams.map((s) => `${s.status} ${s.text ?? ''}`)}`);

        const sixthA = await call(a, 'r-conc');
        const sixthB = await call(b, 'r-conc', { stream: true });
        assertRefused(sixthA, 'tenant_concurrency_limited', '6th request on node A');
        assertRefused(sixthB, 'tenant_concurrency_limited', '6th request (stream) on node B');

        const leaseKeys = redis.keys().filter((k) => keyRe('codex-relay:', 'lease', 'r-conc').test(k));
        const leases = leaseKeys.length ? redisDump(redis).find((d) => d.key === leaseKeys[0]) : null;
        const live = leases?.type === 'zset' ? Number(redis.cli('zcard', leases.key).trim()) : leases?.type === 'hash' ? Number(redis.cli('hlen', leases.key).trim()) : NaN;
        console.log(`REDIS_CONCURRENCY first wave: 3 on A + 2 on B = 200; 6th: A ${fmt(sixthA)}, B ${fmt(sixthB)}; lease key ${leases?.key} (${leases?.type}) live=${live}`);
        assert.ok(leases, `no codex-relay:lease:r-conc key in Redis while 5 streams live: ${JSON.stringify(redis.keys())}`);
        if (!Number.isNaN(live)) assert.equal(live, 5, `lease key ${leases.key} holds ${live} leases, want 5`);

        // The short stream on A ends; node B gets the slot (a quick request, then a stream).
        const first = await textOf(streams[0]);
        const endedAt = nowMs();
        assert.match(first.text, /response\.completed/, 'the short stream did not complete');
        let last;
        let probes = 0;
        const freed = await pollUntil(async () => {
          probes++;
          last = await call(b, 'r-conc');
          return last.status === 200;
        }, 2000);
        const freedMs = nowMs() - endedAt;
        // The probe that got in held a slot until its settle, which comes just after its last
        // byte (a Redis round trip later): the new stream may have to ask again, briefly.
        let again;
        await pollUntil(async () => {
          again = await openStream(b, 'r-conc', '[[mock:paced:80:100]]');
          return again.status === 200;
        }, 500);
        streams.push(again);
        const seventh = await call(a, 'r-conc');
        console.log(
          `REDIS_CONCURRENCY after one ended on A: B admitted after ${Math.round(freedMs)} ms (${probes} probes, last ${fmt(last)}); ` +
            `new stream on B ${again.status}; then A ${fmt(seventh)}`,
        );
        assert.ok(freed, `node B still refuses ${Math.round(freedMs)} ms after a stream on A ended: ${fmt(last)} ${last.text.slice(0, 200)}`);
        assert.ok(freedMs <= 1500, `the slot came back only after ${Math.round(freedMs)} ms`);
        assert.equal(again.status, 200, `a new stream on B after one ended on A: ${again.status} ${again.text}`);
        assertRefused(seventh, 'tenant_concurrency_limited', 'node A with 5 streams live again (4 + the new one on B)');

        const refusedTags = [sixthA, sixthB, seventh].map((r) => r.tag);
        const up = await upstreamFor(mock, refusedTags);
        assert.equal(up.length, 0, `refused requests reached the upstream: ${up.map(tagOf)}`);
      } finally {
        abortAll(streams);
      }
    });
  });

  it('c. quotas shared: --daily-requests 3, 3 through A, the 4th through B → 429 tenant_quota_exceeded; `tenant show` with Redis says 3 / 3; tokens too', async () => {
    const tenants = [
      { name: 'r-quota', args: ['--daily-requests', '3'] },
      { name: 'r-tokens', args: ['--daily-tokens', '3000'] },
    ];
    await withCluster({ tenants, env: SHARED_ENV }, async ({ redis, mock, a, b }) => {
      const rs = [];
      for (let i = 0; i < 3; i++) rs.push(await call(a, 'r-quota'));
      assert.deepEqual(rs.map((r) => r.status), [200, 200, 200], rs.map(fmt).join(', '));
      const fourth = await call(b, 'r-quota');
      const ra = assertRefused(fourth, 'tenant_quota_exceeded', '4th request, on node B');
      const fifth = await call(a, 'r-quota', { stream: true });
      assertRefused(fifth, 'tenant_quota_exceeded', '5th request, on node A');
      const want = Math.ceil(msToUtcDayEnd(fourth.at) / 1000);
      assert.ok(Math.abs(ra - want) <= 5, `Retry-After ${ra}, want seconds to UTC midnight ≈ ${want}`);
      const up = await upstreamFor(mock, [...rs, fourth, fifth].map((r) => r.tag));
      assert.equal(up.length, 3, `upstream saw ${up.length} requests, want the 3 admitted`);

      // Refusals are not counted (docs/limits.md): 3 used. `tenant show` reads Redis.
      let f;
      const text = await pollShow(a, redis, 'r-quota', (t) => (f = showFigure(t, 'request'))?.used === 3);
      const reqKey = redisDump(redis).find((d) => keyRe('codex-relay:', 'usage', 'r-quota', ':day:\\d{4}-\\d{2}-\\d{2}:requests').test(d.key));
      console.log(`REDIS_QUOTA 4th_on_B=${fmt(fourth)} retry_after=${ra} show="${f?.line}" redis ${reqKey?.key}=${reqKey?.value?.replace(/\s+/g, ' ')} ttl_s=${Math.round((reqKey?.pttl ?? 0) / 1000)}`);
      assert.ok(f, `tenant show has no "requests today: USED / LIMIT" line:\n${text}`);
      assert.equal(f.used, 3, `tenant show (CODEX_RELAY_REDIS_URL set): ${f.line}\n${text}`);
      assert.equal(f.limit, 3, `tenant show: ${f.line}\n${text}`);
      assert.ok(reqKey, `no usage:r-quota:day:…:requests key in Redis: ${JSON.stringify(redis.keys())}`);
      assert.ok(reqKey.pttl > 0 && reqKey.pttl <= 2 * 86400000 + 120000, `the day's request counter expires in ${reqKey.pttl} ms, want within the day + a day`);

      // Tokens: charged at settle by the node that served, checked by the other one.
      const t1 = await call(a, 'r-tokens');
      assert.equal(t1.status, 200, fmt(t1));
      let tf;
      await pollShow(b, redis, 'r-tokens', (t) => (tf = showFigure(t, 'token'))?.used === RESPONSES_TOKENS);
      assert.equal(tf?.used, RESPONSES_TOKENS, `tokens today after one request on A: ${tf?.line}`);
      const t2 = await call(b, 'r-tokens', { stream: true });
      assert.equal(t2.status, 200, `2nd request on B (2402 used < 3000): ${fmt(t2)}`);
      await pollShow(a, redis, 'r-tokens', (t) => (tf = showFigure(t, 'token'))?.used === 2 * RESPONSES_TOKENS);
      const t3 = await call(a, 'r-tokens');
      console.log(`REDIS_QUOTA_TOKENS A:${fmt(t1)} B:${fmt(t2)} A:${fmt(t3)} show="${tf?.line}"`);
      assert.equal(tf?.used, 2 * RESPONSES_TOKENS, `tokens today after two requests: ${tf?.line}`);
      assertRefused(t3, 'tenant_quota_exceeded', '3rd request on A (4804 tokens used ≥ 3000, charged on both nodes)');
    });
  });

  it('d. a node killed with -9 while holding leases: the other node refuses at once and admits again within the lease TTL', async () => {
    const ttl = 3000;
    const env = { ...SHARED_ENV, CODEX_RELAY_LIMITS_LEASE_TTL_MS: String(ttl) };
    await withCluster({ tenants: [{ name: 'r-crash', args: ['--concurrency', '2'] }], env }, async ({ redis, a, b }) => {
      const streams = [];
      try {
        for (let i = 0; i < 2; i++) streams.push(await openStream(a, 'r-crash', '[[mock:paced:100:100]]'));
        assert.deepEqual(streams.map((s) => s.status), [200, 200], 'two streams on node A');
        // Past the TTL the leases are still held: node A renews them while its streams live.
        await sleep(ttl + 500);
        const renewed = await call(b, 'r-crash');
        assertRefused(renewed, 'tenant_concurrency_limited', `node B ${ttl + 500} ms after A's streams began (leases renewed)`);

        await a.kill9();
        const killedAt = nowMs();
        const atOnce = await call(b, 'r-crash');
        assertRefused(atOnce, 'tenant_concurrency_limited', 'node B right after node A was killed (its leases are still live)');
        let last;
        let probes = 0;
        const freed = await pollUntil(async () => {
          probes++;
          last = await call(b, 'r-crash');
          return last.status === 200;
        }, ttl + 3000);
        const freedMs = nowMs() - killedAt;
        const lease = redis.keys().find((k) => keyRe('codex-relay:', 'lease', 'r-crash').test(k));
        console.log(`REDIS_LEASE_EXPIRY ttl_ms=${ttl} refused_at_once=${fmt(atOnce)} admitted_after_ms=${Math.round(freedMs)} probes=${probes} last=${fmt(last)} lease_key=${lease}`);
        assert.ok(freed, `node B still refused ${Math.round(freedMs)} ms after node A died: ${fmt(last)}`);
        assert.ok(freedMs <= ttl + 1500, `node B admitted again only ${Math.round(freedMs)} ms after node A died (lease TTL ${ttl} ms)`);
        // Both slots are back, not just one.
        const two = await Promise.all([0, 1].map(() => call(b, 'r-crash', { marker: '[[mock:slow_headers:300]]' })));
        assert.equal(count(two, 200), 2, `two at once on B after A's leases expired: ${statuses(two)}`);
      } finally {
        abortAll(streams);
      }
    });
  });

  it('e. Redis killed mid-test, failure_mode open (default): served promptly with local limits, one fail-open warning; shared again after Redis restarts; served while it hangs', async () => {
    const tenants = [{ name: 'r-open', args: ['--rps', '5'] }];
    await withCluster({ tenants, admin: true }, async ({ redis, a, b }) => {
      const rateKey = keyRe('codex-relay:', 'rate', 'r-open', ':s');
      const before = await call(a, 'r-open');
      assert.equal(before.status, 200, fmt(before));
      const m0 = await metrics(a);
      assert.equal(m0.codex_relay_limits_shared, 1, `node A /metrics with Redis up: ${JSON.stringify(m0)}`);
      assert.equal(m0.codex_relay_limits_fail_open_active, 0, `node A /metrics with Redis up: ${JSON.stringify(m0)}`);
      assert.ok(redis.keys().some((k) => rateKey.test(k)), `no rate key for r-open while Redis is up: ${JSON.stringify(redis.keys())}`);

      await redis.kill();
      // Served, promptly, one request every 250 ms (within 5/s) on both nodes.
      const seq = [];
      for (let i = 0; i < 6; i++) {
        seq.push(await call(i % 3 === 2 ? b : a, 'r-open', { timeoutMs: 5000 }));
        await sleep(250);
      }
      // Local limits still hold: a burst of 20 on one node is cut to about the burst of 5.
      const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => call(a, 'r-open', { tag: nonce(`r-open-${i}`), timeoutMs: 5000 })));
      const logA = (await pollUntil(() => failOpenLines(a).length > 0, 1000)) && failOpenLines(a);
      const logB = failOpenLines(b);
      const m1 = await metrics(a);
      console.log(
        `REDIS_FAILOPEN during_outage sequential=${statuses(seq)} max_ms=${maxMs(seq)} burst20=${statuses(burst)} max_ms=${maxMs(burst)} ` +
          `warnings A=${failOpenLines(a).length} B=${logB.length}: ${JSON.stringify((logA || [])[0] ?? null)} ` +
          `metrics_A active=${m1.codex_relay_limits_fail_open_active} outages=${m1.codex_relay_limits_fail_open_outages_total} local_calls=${m1.codex_relay_limits_fail_open_calls_total}`,
      );
      assert.equal(count(seq, 200), seq.length, `requests 250 ms apart during the outage: ${statuses(seq)} ${seq.find((r) => r.status !== 200)?.text}`);
      for (const r of [...seq, ...burst]) assert.ok(r.ms <= PROMPT_MS, `a request took ${Math.round(r.ms)} ms while Redis was down (${fmt(r)})`);
      const okBurst = count(burst, 200);
      assert.ok(okBurst >= 1 && okBurst <= 6, `burst of 20 on one node during the outage: ${okBurst} admitted, want ≤ 5 (+1) by local limits`);
      for (const r of burst.filter((x) => x.status !== 200)) assertRefused(r, 'tenant_rate_limited', 'local limit during the outage');
      assert.ok(logA && logA.length >= 1, `node A's log has no line with "redis" and "fail-open" (${a.logFile})`);
      assert.equal(logA.length, 1, `node A logged the outage ${logA.length} times (once per outage, not per request):\n${logA.join('\n')}`);
      assert.equal(logB.length, 1, `node B (it served 2 requests during the outage) logged ${logB.length} fail-open warnings:\n${logB.join('\n')}`);
      // ... and counts it: one outage, many calls answered locally, degraded now.
      assert.equal(m1.codex_relay_limits_fail_open_active, 1, `node A /metrics during the outage: ${JSON.stringify(m1)}`);
      assert.equal(m1.codex_relay_limits_fail_open_outages_total, 1, `node A /metrics during the outage: ${JSON.stringify(m1)}`);
      assert.ok(m1.codex_relay_limits_fail_open_calls_total >= 20, `node A answered ${m1.codex_relay_limits_fail_open_calls_total} calls locally for 24 requests: ${JSON.stringify(m1)}`);

      // Redis comes back (empty, same port): the nodes reconnect by themselves.
      await redis.restart();
      const restartedAt = nowMs();
      let probes = 0;
      const back = await pollUntil(async () => {
        probes++;
        await call(a, 'r-open');
        return redis.keys().some((k) => rateKey.test(k));
      }, 4000);
      const reconnectMs = nowMs() - restartedAt;
      assert.ok(back, `no rate key for r-open in Redis ${Math.round(reconnectMs)} ms after it came back: ${JSON.stringify(redis.keys())}`);
      // Both nodes share again: after a second of rest, 10 + 10 at once admit the one burst of 5.
      await sleep(Math.max(0, 1500 - (nowMs() - restartedAt)) + 1100);
      const shared = await Promise.all([a, b].flatMap((n) => Array.from({ length: 10 }, () => call(n, 'r-open'))));
      const spanMs = Math.max(...shared.map((r) => r.at)) - Math.min(...shared.map((r) => r.at));
      const perNode = [a, b].map((n) => count(shared.filter((r) => r.node === n.port), 200));
      console.log(
        `REDIS_FAILOPEN after_restart reconnect_ms=${Math.round(reconnectMs)} probes=${probes} shared_burst total=${count(shared, 200)} per_node=${perNode.join(',')} span_ms=${Math.round(spanMs)}`,
      );
      assert.ok(reconnectMs <= 2500, `the relay wrote to Redis again only ${Math.round(reconnectMs)} ms after it came back (want ≈ 1 s)`);
      const okShared = count(shared, 200);
      assert.ok(
        okShared >= 5 && okShared <= 5 + 1 + Math.floor(spanMs / 200),
        `10 + 10 at once on two nodes after Redis came back: ${okShared} admitted (per node ${perNode}), want the shared burst of 5 (local limits would give 10)`,
      );
      for (const r of shared.filter((x) => x.status !== 200)) assertRefused(r, 'tenant_rate_limited', 'shared limit after the restart');
      const m2 = await metrics(a);
      assert.equal(m2.codex_relay_limits_fail_open_active, 0, `node A /metrics after Redis came back: ${JSON.stringify(m2)}`);

      // Hung (SIGSTOP: connections accepted, nothing answered): every call must time out, and
      // requests are still served promptly, with one more warning for this second outage.
      redis.pause();
      const hung = [];
      try {
        await sleep(300);
        for (let i = 0; i < 4; i++) {
          hung.push(await call(a, 'r-open', { timeoutMs: 5000 }));
          await sleep(250);
        }
      } finally {
        redis.resume();
      }
      const warnings = failOpenLines(a);
      const m3 = await metrics(a);
      console.log(
        `REDIS_FAILOPEN redis_hung sequential=${statuses(hung)} max_ms=${maxMs(hung)} warnings_A=${warnings.length} outages_total_A=${m3.codex_relay_limits_fail_open_outages_total}`,
      );
      for (const r of hung) assert.ok(r.ms <= PROMPT_MS, `a request took ${Math.round(r.ms)} ms while Redis was hung (${fmt(r)})`);
      assert.equal(count(hung, 200), hung.length, `requests 250 ms apart while Redis was hung: ${statuses(hung)}`);
      assert.equal(warnings.length, 2, `node A's fail-open warnings after two outages:\n${warnings.join('\n')}`);
      assert.equal(m3.codex_relay_limits_fail_open_outages_total, 2, `node A /metrics after two outages: ${JSON.stringify(m3)}`);
    });
  });

  it('f. failure_mode closed: with Redis killed or hung, a limited tenant gets 503 limits_unavailable promptly, an unlimited one is served; back after Redis returns', async () => {
    const tenants = [
      { name: 'r-closed', args: ['--rps', '5'] },
      { name: 'r-closed-q', args: ['--daily-requests', '1000'] },
      { name: 'r-free', args: [] },
    ];
    const env = { CODEX_RELAY_REDIS_FAILURE_MODE: 'closed' };
    await withCluster({ tenants, env, nodes: 1 }, async ({ redis, mock, a }) => {
      const limited = ['r-closed', 'r-closed-q'];
      const up0 = await Promise.all([...limited, 'r-free'].map((t) => call(a, t)));
      assert.deepEqual(up0.map((r) => r.status), [200, 200, 200], `with Redis up: ${up0.map(fmt)}`);

      /** During an outage: limited tenants 503 limits_unavailable, the free one 200, all prompt. */
      const duringOutage = async (what) => {
        const refused = [];
        const served = [];
        for (let i = 0; i < 2; i++) {
          for (const t of limited) refused.push(await call(a, t, { timeoutMs: 5000, stream: i === 1 }));
          served.push(await call(a, 'r-free', { timeoutMs: 5000, stream: i === 1 }));
        }
        console.log(`REDIS_FAILCLOSED ${what} limited=${statuses(refused)} max_ms=${maxMs(refused)} unlimited=${statuses(served)} max_ms=${maxMs(served)}`);
        for (const r of [...refused, ...served]) assert.ok(r.ms <= PROMPT_MS, `${what}: a request took ${Math.round(r.ms)} ms (${fmt(r)})`);
        for (const r of refused) {
          assert.equal(r.status, 503, `${what}: a limited tenant got ${fmt(r)} ${r.text.slice(0, 200)}, want 503 limits_unavailable`);
          checkErrorModel(assert, r.text, { code: 'limits_unavailable', status: r.status }, `${what}: limited tenant`);
        }
        for (const r of served) assert.equal(r.status, 200, `${what}: the unlimited tenant got ${fmt(r)} ${r.text.slice(0, 200)}`);
        const up = await upstreamFor(mock, refused.map((r) => r.tag));
        assert.equal(up.length, 0, `${what}: refused requests reached the upstream`);
      };
      const recovers = async (what) => {
        const t0 = nowMs();
        let last;
        const ok = await pollUntil(async () => (last = await call(a, 'r-closed', { timeoutMs: 5000 })).status === 200, 4000);
        const ms = nowMs() - t0;
        const q = await call(a, 'r-closed-q');
        console.log(`REDIS_FAILCLOSED ${what} served_again_after_ms=${Math.round(ms)} daily_requests_tenant=${fmt(q)}`);
        assert.ok(ok, `${what}: the limited tenant is still refused ${Math.round(ms)} ms later: ${fmt(last)}`);
        assert.ok(ms <= 2500, `${what}: served again only after ${Math.round(ms)} ms (want ≈ 1 s)`);
        assert.equal(q.status, 200, `${what}: the daily-requests tenant: ${fmt(q)}`);
      };

      await redis.kill();
      await duringOutage('redis killed');
      await redis.restart();
      await recovers('redis restarted');

      // Hung: the kernel still accepts connections, nothing answers; each call must time out.
      redis.pause();
      try {
        await duringOutage('redis hung (SIGSTOP)');
      } finally {
        redis.resume();
      }
      await recovers('redis resumed');
    });
  });

  it('g. no relay key, account key or prompt text in any Redis key or value (nor in the commands sent to it)', async () => {
    const tenants = [
      {
        name: 'r-secret',
        args: ['--rps', '50', '--rpm', '500', '--concurrency', '4', '--daily-requests', '100', '--daily-tokens', '10000000', '--monthly-tokens', '100000000'],
      },
    ];
    await withCluster({ tenants, env: SHARED_ENV }, async ({ redis, mock, a, b }) => {
      // Every command Redis receives, with its arguments.
      const monitor = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(redis.port), 'monitor'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = '';
      monitor.stdout.setEncoding('utf8');
      monitor.stdout.on('data', (d) => (seen += d));
      await pollUntil(() => seen.includes('OK'), 2000);
      const secret = `PROMPT-SECRET-${randomBytes(8).toString('hex')}`;
      try {
        const rs = [];
        for (const n of [a, b]) {
          rs.push(await call(n, 'r-secret', { text: `${secret} plain` }));
          rs.push(await call(n, 'r-secret', { text: `${secret} stream`, stream: true }));
          rs.push(await call(n, 'r-secret', { text: `${secret} chat`, chat: true }));
          rs.push(await call(n, 'r-secret', { text: `${secret} chat stream`, chat: true, stream: true }));
        }
        assert.deepEqual(rs.map((r) => r.status), Array(rs.length).fill(200), rs.map(fmt).join(', '));
        // Token charges come at settle, just after the last byte.
        await sleep(500);
      } finally {
        monitor.kill('SIGKILL');
      }
      const dump = redisDump(redis);
      const relayKey = a.keys['r-secret'];
      const needles = {
        'relay key': relayKey,
        'relay key (random part)': relayKey.slice(12),
        'account key': mock.apiKey,
        'account key (random part)': mock.apiKey.slice(-16),
        'prompt text': secret,
        'prompt text (random part)': secret.slice(-16),
      };
      const haystack = dump.map((d) => `${d.key}\n${d.value}`).join('\n');
      console.log(`REDIS_KEYS n=${dump.length} ${dump.map((d) => `${d.key}(${d.type},ttl_s=${Math.round(d.pttl / 1000)})`).join(' ')} monitor_bytes=${seen.length}`);
      // The dump covers real state: every kind of key the limits above write.
      for (const [what, re] of [
        ['rate (per second)', keyRe('codex-relay:', 'rate', 'r-secret', ':s')],
        ['rate (per minute)', keyRe('codex-relay:', 'rate', 'r-secret', ':m')],
        ['day requests', keyRe('codex-relay:', 'usage', 'r-secret', ':day:\\d{4}-\\d{2}-\\d{2}:requests')],
        ['day tokens', keyRe('codex-relay:', 'usage', 'r-secret', ':day:\\d{4}-\\d{2}-\\d{2}:tokens')],
        ['month tokens', keyRe('codex-relay:', 'usage', 'r-secret', ':month:\\d{4}-\\d{2}:tokens')],
      ]) {
        assert.ok(dump.some((d) => re.test(d.key)), `no ${what} key in Redis: ${dump.map((d) => d.key).join(' ')}`);
      }
      assert.ok(/eval|fcall/i.test(seen), `MONITOR saw no script calls (${seen.length} bytes): the command check would be empty`);
      for (const d of dump) {
        assert.ok(d.key.startsWith('codex-relay:'), `key ${d.key} lacks the default prefix codex-relay:`);
        if (/usage:/.test(d.key)) assert.ok(d.pttl > 0, `usage counter ${d.key} never expires (pttl ${d.pttl})`);
      }
      for (const [what, needle] of Object.entries(needles)) {
        assert.ok(!haystack.includes(needle), `the ${what} is stored in Redis:\n${dump.filter((d) => `${d.key}\n${d.value}`.includes(needle)).map((d) => d.key).join('\n')}`);
        assert.ok(!seen.includes(needle), `the ${what} was sent to Redis: ${seen.split('\n').find((l) => l.includes(needle))}`);
      }
    });
  });
});
