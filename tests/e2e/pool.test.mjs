// The account pool (issue 3): failover before the first byte, circuit breaking with half-open
// recovery, conversation affinity, the pool's own errors, and the real Codex CLI never seeing a
// failure that another account could absorb.
//
// Each account has its own upstream key; the mock labels each key with the account's name, so
// its log says which account served a request (`account_label`), and per-account faults are set
// with mock.setFault(name, ...). Relay settings: POOL_ENV in lib/harness.mjs (1 s cool-downs,
// 1 s first-byte timeout, 2 half-open successes, 500 ms probe interval).
//
// Figures are printed as lines starting with POOL_SUCCESS / POOL_FAULTED / POOL_RECOVERY /
// AFFINITY (grep the test output). POOL_REQUESTS overrides the 2,000 requests per run.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  startPool,
  relaySkip,
  relayFetch,
  runCodex,
  checkErrorModel,
  pollUntil,
  sleep,
  nowMs,
} from './lib/harness.mjs';

const skip = relaySkip();

const N = Number(process.env.POOL_REQUESTS || 2000);
const CONCURRENCY = 16;
const ACCOUNTS = ['pool-a1', 'pool-a2', 'pool-a3'];
const BAD = 'pool-a2';

// ---------------------------------------------------------------- helpers

/** What the provider says that must never reach a relay client. */
function providerLeaks(text, headers, mock) {
  const hay = [text];
  if (headers) headers.forEach((v, k) => hay.push(`${k}: ${v}`));
  const all = hay.join('\n');
  const needles = [
    'org-mock-secret',
    'proj_mock_secret',
    '__cf_bm',
    'Incorrect API key provided',
    'Rate limit reached for',
    'The server had an error while processing your request',
    'sk-mock***',
    ...Object.values(mock.keys || {}),
    ...Object.keys(mock.keys || {}), // account names (pool-a1 …) are the operator's business
  ];
  return needles.filter((n) => all.includes(n));
}

/** One non-streaming POST /v1/responses. */
async function respond(relay, input, { headers = {}, body = {}, timeoutMs = 30000 } = {}) {
  const t0 = nowMs();
  try {
    const r = await fetch(`${relay.base}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${relay.key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-5.5', input, ...body }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    let ok = false;
    if (r.status === 200) {
      try {
        ok = JSON.parse(text).output?.at(-1)?.content?.[0]?.text === 'Hello from mock';
      } catch {}
    }
    return { ok, status: r.status, text, headers: r.headers, ms: nowMs() - t0 };
  } catch (err) {
    return { ok: false, status: null, text: String(err), headers: null, ms: nowMs() - t0 };
  }
}

/** Sends requests `from`..`to`-1 with `concurrency` workers (fetch keeps connections alive). */
async function blast(relay, from, to, { concurrency = CONCURRENCY, tag = 'req' } = {}) {
  let next = from;
  const out = { ok: 0, failed: [], statuses: {} };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= to) return;
      const r = await respond(relay, `${tag} ${i}`);
      out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
      if (r.ok) out.ok++;
      else out.failed.push({ i, status: r.status, text: r.text.slice(0, 300), headers: r.headers });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const byLabel = (entries) => {
  const c = {};
  for (const e of entries) c[e.account_label] = (c[e.account_label] || 0) + 1;
  return c;
};
const turnsOf = (log) => log.filter((e) => e.path === '/v1/responses');
/** The `account list` row of `name` (whitespace-separated cells), or ''. */
const listRow = (relay, name) =>
  relay
    .cli(['account', 'list'])
    .split('\n')
    .find((l) => l.split(/\s+/)[0] === name) || '';
const fmt = (o) =>
  Object.entries(o)
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

// ---------------------------------------------------------------- a. failover runs

describe('account pool: failover with one bad account of three', { skip }, () => {
  // [fault, arg]: one fresh relay + mock per run.
  for (const [fault, arg] of [
    ['http_500', null],
    ['timeout', null],
    ['http_429', 2],
    ['http_401', null],
  ]) {
    it(`${fault}${arg !== null ? `:${arg}` : ''}: ≥ 99.9 % of ${N} requests succeed; ${BAD} is shunned, then ${
      fault === 'http_401' ? 'back only after `account enable`' : 'back through half-open'
    }`, async () => {
      const pool = await startPool({ accounts: ACCOUNTS.map((name) => ({ name, weight: 1 })) });
      const { mock, relay } = pool;
      try {
        const t0 = nowMs();
        const startId = (await mock.setFault(BAD, fault, { arg })).next_id;
        const half = Math.floor(N / 2);
        const p1 = await blast(relay, 0, half);
        let boundary;
        let clearedAt;
        if (fault !== 'http_401') {
          // Transient faults end mid-run: the account must come back through half-open.
          boundary = (await mock.clearFault(BAD)).next_id;
          clearedAt = nowMs();
        }
        const p2 = await blast(relay, half, N);
        const runMs = nowMs() - t0;
        const ok = p1.ok + p2.ok;
        const failed = [...p1.failed, ...p2.failed];
        const rate = (100 * ok) / N;
        console.log(`POOL_SUCCESS fault=${fault} ok=${ok}/${N} rate=${rate.toFixed(2)}% run_ms=${Math.round(runMs)}`);

        for (const f of failed) {
          const leaks = providerLeaks(f.text, f.headers, mock);
          assert.deepEqual(leaks, [], `request ${f.i} (${f.status}) leaked provider details: ${f.text}`);
        }
        assert.ok(
          ok >= Math.ceil(N * 0.999),
          `${fault}: only ${ok}/${N} succeeded (${rate.toFixed(2)} %); statuses ${JSON.stringify({ ...p1.statuses })} / ${JSON.stringify(p2.statuses)}; first failures: ${JSON.stringify(failed.slice(0, 3).map(({ headers, ...x }) => x))}`,
        );

        let log = await mock.logSince(startId);
        const faulted = log.filter((e) => e.account_label === BAD && e.fault);
        const faultedTurns = turnsOf(faulted);
        const first = faulted[0];
        console.log(
          `POOL_FAULTED fault=${fault} faulted_requests=${faulted.length} (responses=${faultedTurns.length}, other=${faulted.length - faultedTurns.length}) ` +
            `served_during_fault: ${fmt(byLabel(turnsOf(log).filter((e) => e.status === 200 && (!boundary || e.id < boundary))))}`,
        );
        assert.ok(first, `${BAD} never got a request while faulted (affinity or weights broken?)`);

        if (fault === 'http_401') {
          // Disabled at once: only requests already on their way (one per worker at most).
          assert.ok(faultedTurns.length <= 10, `${BAD} got ${faultedTurns.length} requests after answering 401`);
          const late = turnsOf(log).filter((e) => e.account_label === BAD && e.received_at_ms > first.received_at_ms + 1000);
          assert.equal(late.length, 0, `${BAD} still got traffic more than 1 s after its 401`);

          // The credential is fixed upstream, but the account stays out until an operator says so.
          const fixed = (await mock.clearFault(BAD)).next_id;
          const t1 = nowMs();
          const quiet = await blast(relay, 0, 200, { concurrency: 8, tag: 'after-fix' });
          const waitMore = 1500 - (nowMs() - t1);
          if (waitMore > 0) await sleep(waitMore);
          const quiet2 = await blast(relay, 0, 40, { concurrency: 4, tag: 'after-fix2' });
          assert.equal(quiet.ok + quiet2.ok, 240, 'requests failed while one account was disabled');
          const sneaked = turnsOf(await mock.logSince(fixed)).filter((e) => e.account_label === BAD);
          assert.equal(sneaked.length, 0, `${BAD} got traffic before \`account enable\` (${sneaked.length} requests)`);

          // The operator can see why: `account list` says disabled, `account events` has the change.
          let row = '';
          const shown = await pollUntil(async () => /\bdisabled\b/.test((row = listRow(relay, BAD))), 5000);
          assert.ok(shown, `account list does not show ${BAD} as disabled: ${JSON.stringify(row)}`);
          let events = '';
          const recorded = await pollUntil(async () => /disabled/.test((events = relay.cli(['account', 'events', BAD]))), 5000);
          assert.ok(recorded, `account events has no change to disabled:\n${events}`);

          relay.cli(['account', 'enable', BAD]);
          const enabledAt = nowMs();
          const enableId = (await mock.faults()).next_id;
          let back = null;
          while (!back && nowMs() - enabledAt < 6000) {
            const b = await blast(relay, 0, 8, { concurrency: 4, tag: 'after-enable' });
            assert.equal(b.ok, 8, 'requests failed after account enable');
            back = turnsOf(await mock.logSince(enableId)).find((e) => e.account_label === BAD && e.status === 200);
          }
          assert.ok(back, `${BAD} got no traffic within 6 s of \`account enable\``);
          const backMs = back.received_at_ms - enabledAt;
          console.log(`POOL_RECOVERY fault=${fault} back_after_enable_ms=${Math.round(backMs)}`);
          assert.ok(backMs <= 2500, `${BAD} came back ${Math.round(backMs)} ms after \`account enable\` (want ≤ ~2 s)`);
          return;
        }

        // Transient: a handful of requests while the burst was in flight, then only probes.
        assert.ok(faultedTurns.length <= 30, `${BAD} got ${faultedTurns.length} client requests while faulted (want a handful)`);
        assert.ok(faulted.length <= 50, `${BAD} got ${faulted.length} requests (incl. probes) while faulted`);

        // The cool-down is on record for the operator.
        let events = '';
        const recorded = await pollUntil(async () => /cooling/.test((events = relay.cli(['account', 'events', BAD]))), 5000);
        assert.ok(recorded, `account events shows no cool-down of ${BAD}:\n${events}`);

        // Back through half-open after its window: it serves client traffic again.
        let back = turnsOf(log).find((e) => e.id >= boundary && e.account_label === BAD && e.status === 200);
        let extra = 0;
        while (!back && nowMs() - clearedAt < 15000) {
          const t = await blast(relay, 0, 16, { concurrency: 4, tag: 'tail' });
          extra += 16;
          assert.equal(t.ok, 16, `tail requests failed: ${JSON.stringify(t.failed.slice(0, 2).map(({ headers, ...x }) => x))}`);
          back = turnsOf(await mock.logSince(boundary)).find((e) => e.account_label === BAD && e.status === 200);
          if (!back) await sleep(100);
        }
        assert.ok(back, `${BAD} never served client traffic again within 15 s of the fault being cleared (state may say healthy; traffic is what counts)`);
        log = await mock.logSince(boundary);
        const after = turnsOf(log).filter((e) => e.status === 200);
        console.log(
          `POOL_RECOVERY fault=${fault} back_after_clear_ms=${Math.round(back.received_at_ms - clearedAt)} extra_requests=${extra} ` +
            `served_after_clear: ${fmt(byLabel(after))}`,
        );
      } finally {
        await pool.stop();
      }
    });
  }
});

// ---------------------------------------------------------------- b. affinity

describe('account pool: conversation affinity', { skip }, () => {
  let pool;
  before(async () => {
    // A 3 s window, so the whole cool-down turn (100 requests) runs while the account is out.
    pool = await startPool({
      accounts: ACCOUNTS.map((name) => ({ name, weight: 1 })),
      env: { CODEX_RELAY_POOL_SERVER_ERROR_BASE_MS: '3000' },
    });
  });
  after(async () => {
    await pool?.stop();
  });

  /** Runs one turn of each session (all sessions concurrently, CONCURRENCY at a time). */
  async function turnAll(sessions, t, { header = true } = {}) {
    let next = 0;
    const fails = [];
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= sessions.length) return;
        const sid = sessions[i];
        const r = await respond(pool.relay, `session ${i} turn ${t}`, {
          headers: header ? { 'session-id': sid } : {},
          body: { prompt_cache_key: sid },
        });
        if (!r.ok) fails.push({ i, t, status: r.status, text: r.text.slice(0, 200) });
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    assert.deepEqual(fails, [], `turn ${t}: client requests failed`);
  }

  /** session id -> [label of the 200 upstream answer per turn]. */
  function servedBy(log, sessions, keyOf) {
    const idx = new Map(sessions.map((s, i) => [s, i]));
    const out = new Map(sessions.map((s) => [s, []]));
    for (const e of turnsOf(log)) {
      const sid = keyOf(e);
      if (!idx.has(sid) || e.status !== 200) continue;
      const m = /turn (\d+)/.exec(e.last_user_text || '');
      assert.ok(m, `no turn number in ${e.last_user_text}`);
      const turns = out.get(sid);
      assert.equal(turns[Number(m[1])], undefined, `session ${idx.get(sid)} turn ${m[1]} answered twice upstream`);
      turns[Number(m[1])] = e.account_label;
    }
    return out;
  }

  it('100 sessions × 5 turns (session-id header): every turn of a session reaches the same account', async () => {
    const { mock } = pool;
    const sessions = Array.from({ length: 100 }, () => randomUUID());
    const since = (await mock.faults()).next_id;
    for (let t = 0; t < 5; t++) await turnAll(sessions, t);
    const served = servedBy(await mock.logSince(since), sessions, (e) => e.headers['session-id']);
    const perAccount = {};
    for (const [sid, labels] of served) {
      assert.equal(labels.filter(Boolean).length, 5, `session ${sid}: ${labels.filter(Boolean).length} of 5 turns answered upstream`);
      assert.equal(new Set(labels).size, 1, `session ${sid} moved between healthy accounts: ${labels.join(' → ')}`);
      perAccount[labels[0]] = (perAccount[labels[0]] || 0) + 1;
    }
    console.log(`AFFINITY session-id: sessions per account: ${fmt(perAccount)}`);
    for (const a of ACCOUNTS) assert.ok(perAccount[a] > 0, `no session landed on ${a}: ${fmt(perAccount)}`);
  });

  it('prompt_cache_key alone (no session-id header) also keeps a conversation on one account', async () => {
    const { mock } = pool;
    const keys = Array.from({ length: 30 }, () => `pck-${randomUUID()}`);
    const since = (await mock.faults()).next_id;
    for (let t = 0; t < 3; t++) await turnAll(keys, t, { header: false });
    const served = servedBy(await mock.logSince(since), keys, (e) => e.prompt_cache_key);
    for (const [k, labels] of served) {
      assert.equal(labels.filter(Boolean).length, 3, `${k}: turns missing upstream`);
      assert.equal(new Set(labels).size, 1, `${k} moved between healthy accounts: ${labels.join(' → ')}`);
    }
  });

  it('after a forced cool-down, each affected session moves once and stays (also after the account recovers)', async () => {
    const { mock, relay } = pool;
    const sessions = Array.from({ length: 100 }, () => randomUUID());
    const since = (await mock.faults()).next_id;
    for (let t = 0; t < 3; t++) await turnAll(sessions, t);
    let served = servedBy(await mock.logSince(since), sessions, (e) => e.headers['session-id']);
    const home = new Map([...served].map(([s, l]) => [s, l[0]]));
    const perAccount = {};
    for (const l of home.values()) perAccount[l] = (perAccount[l] || 0) + 1;
    const cooled = Object.entries(perAccount).sort((a, b) => b[1] - a[1])[0][0];

    // A few 500s put `cooled` into its cool-down while its sessions are mid-conversation.
    await mock.setFault(cooled, 'http_500', { count: 3, path: '/v1/responses' });
    await turnAll(sessions, 3);
    await mock.clearFault(cooled);

    // Wait until `cooled` is healthy again: fresh conversations land on it and succeed.
    const recoverId = (await mock.faults()).next_id;
    const t0 = nowMs();
    let fresh = 0;
    for (;;) {
      const hits = turnsOf(await mock.logSince(recoverId)).filter((e) => e.account_label === cooled && e.status === 200);
      if (hits.length >= 3) break;
      assert.ok(nowMs() - t0 < 15000, `${cooled} did not take new conversations within 15 s of its fault ending`);
      const r = await respond(relay, `fresh ${fresh++}`, { headers: { 'session-id': randomUUID() } });
      assert.ok(r.ok, `fresh conversation failed: ${r.status} ${r.text.slice(0, 200)}`);
      await sleep(50);
    }
    for (let t = 4; t < 7; t++) await turnAll(sessions, t);

    served = servedBy(await mock.logSince(since), sessions, (e) => e.headers['session-id']);
    let moved = 0;
    for (const [sid, labels] of served) {
      assert.equal(labels.filter(Boolean).length, 7, `session ${sid}: turns missing upstream (${labels.join(',')})`);
      const changes = labels.slice(1).filter((l, i) => l !== labels[i]).length;
      assert.ok(changes <= 1, `session ${sid} moved more than once: ${labels.join(' → ')}`);
      if (changes === 1) {
        moved++;
        assert.equal(labels[0], cooled, `session ${sid} left a healthy account: ${labels.join(' → ')}`);
        const at = labels.findIndex((l) => l !== labels[0]);
        assert.equal(at, 3, `session ${sid} moved at turn ${at}, not at the cool-down (turn 3): ${labels.join(' → ')}`);
      }
    }
    const stayed = perAccount[cooled] - moved;
    console.log(
      `AFFINITY cool-down of ${cooled}: its sessions ${perAccount[cooled]}, moved once ${moved}, stayed ${stayed}; ` +
        `recovered after ${Math.round(nowMs() - t0)} ms / ${fresh} fresh conversations`,
    );
    assert.ok(moved >= 1, `no session left ${cooled} during its cool-down`);
    // Only requests already in flight when the first 500 came back may stay.
    assert.ok(stayed <= CONCURRENCY, `${stayed} of ${cooled}'s sessions never moved off it during its cool-down`);
  });
});

// ---------------------------------------------------------------- c. the pool's own errors

describe('account pool: when no account can serve', { skip }, () => {
  let pool;
  const fresh = async () => {
    await pool?.stop();
    // Windows long enough that the follow-up requests surely find every account still out.
    pool = await startPool({
      accounts: ACCOUNTS.map((name) => ({ name, weight: 1 })),
      env: { CODEX_RELAY_POOL_SERVER_ERROR_BASE_MS: '5000', CODEX_RELAY_POOL_SERVER_ERROR_MAX_MS: '10000' },
    });
    return pool;
  };
  after(async () => {
    await pool?.stop();
  });

  function assertClean(r, ctx) {
    assert.deepEqual(providerLeaks(r.text, r.headers, pool.mock), [], `${ctx}: provider details reached the client: ${r.text}`);
    assert.ok(r.headers.get('x-request-id'), `${ctx}: no x-request-id`);
  }
  function retryAfterSecs(r, ctx) {
    const ra = r.headers.get('retry-after');
    assert.match(ra || '', /^\d+$/, `${ctx}: Retry-After ${JSON.stringify(ra)} is not whole seconds`);
    return Number(ra);
  }

  it('every account rate limited → 429 upstream_rate_limited with Retry-After (seconds, ≥ 1)', async () => {
    const { mock, relay } = await fresh();
    for (const a of ACCOUNTS) await mock.setFault(a, 'http_429', { arg: 5 });
    const r1 = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'all limited 1' } });
    assert.equal(r1.status, 429, r1.text);
    checkErrorModel(assert, r1.text, { code: 'upstream_rate_limited' }, 'first request');
    assertClean(r1, 'first request');
    const ra1 = retryAfterSecs(r1, 'first request');
    assert.ok(ra1 >= 1 && ra1 <= 5, `Retry-After ${ra1}, want the soonest reset (≤ 5 s, rounded up)`);
    const tried = turnsOf(await mock.log()).length;
    assert.ok(tried >= 2 && tried <= 3, `the relay tried ${tried} accounts (max attempts 3)`);

    // Every account is cooling now: the relay answers by itself, without asking upstream.
    const since = (await mock.faults()).next_id;
    for (const stream of [false, true]) {
      const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'all limited 2', stream } });
      assert.equal(r.status, 429, `stream=${stream}: ${r.text}`);
      checkErrorModel(assert, r.text, { code: 'upstream_rate_limited' }, `while cooling, stream=${stream}`);
      assertClean(r, `while cooling, stream=${stream}`);
      const ra = retryAfterSecs(r, `while cooling, stream=${stream}`);
      assert.ok(ra >= 1 && ra <= 5, `Retry-After ${ra}`);
    }
    assert.equal(turnsOf(await mock.logSince(since)).length, 0, 'requests reached upstream while every account was cooling on 429');
    console.log(`POOL_ALL_LIMITED first_retry_after=${ra1}s upstream_attempts=${tried}`);
  });

  for (const fault of ['http_500', 'http_401']) {
    it(`every account failing (${fault}) → 503 no_healthy_account, no provider error reaches the client`, async () => {
      const { mock, relay } = await fresh();
      for (const a of ACCOUNTS) await mock.setFault(a, fault);
      const r1 = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'all down 1' } });
      assert.ok(r1.status >= 500 || r1.status === 429, `first request: ${r1.status} ${r1.text}`);
      checkErrorModel(assert, r1.text, {}, 'first request');
      assertClean(r1, 'first request');
      const since = (await mock.faults()).next_id;
      for (const stream of [false, true]) {
        const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'all down 2', stream } });
        assert.equal(r.status, 503, `stream=${stream}: ${r.text}`);
        checkErrorModel(assert, r.text, { code: 'no_healthy_account' }, `stream=${stream}`);
        assertClean(r, `stream=${stream}`);
      }
      assert.equal(turnsOf(await mock.logSince(since)).length, 0, 'requests reached upstream with no account able to serve');
      console.log(`POOL_ALL_DOWN fault=${fault} first_status=${r1.status} first_code=${JSON.parse(r1.text).error.code}`);
    });
  }

  it('rate limited and failing accounts mixed → 503 no_healthy_account (not every account is rate limited)', async () => {
    const { mock, relay } = await fresh();
    await mock.setFault(ACCOUNTS[0], 'http_429', { arg: 5 });
    await mock.setFault(ACCOUNTS[1], 'http_429', { arg: 5 });
    await mock.setFault(ACCOUNTS[2], 'http_500');
    const r1 = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'mixed 1' } });
    assert.ok(r1.status >= 429, `first request: ${r1.status}`);
    assertClean(r1, 'first request');
    const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'mixed 2' } });
    assert.equal(r.status, 503, r.text);
    checkErrorModel(assert, r.text, { code: 'no_healthy_account' }, 'mixed');
    assertClean(r, 'mixed');
  });
});

// ---------------------------------------------------------------- d. the real Codex CLI

describe('account pool: the real Codex CLI sees no failure another account absorbs', { skip }, () => {
  const fail = (run) =>
    `codex exit ${run.code ?? run.signal} after ${run.ms} ms\n--- stdout\n${run.stdout.slice(-1500)}\n--- stderr\n${run.stderr.slice(-2500)}`;

  // The first request upstream (whichever account the relay chose) fails before any output;
  // Codex's own HTTP retries are off, so a failure that got through would show "Reconnecting".
  for (const fault of ['http_500', 'failed_before_output', 'timeout']) {
    it(`first chosen account answers ${fault} → the turn succeeds, no "Reconnecting"`, async () => {
      const pool = await startPool({
        accounts: [
          { name: 'pool-heavy', weight: 3 },
          { name: 'pool-light', weight: 1 },
        ],
      });
      const { mock, relay } = pool;
      try {
        await mock.setFault('*', fault, { count: 1, path: '/v1/responses' });
        const run = await runCodex({
          baseUrl: relay.base,
          key: relay.key,
          prompt: 'Say hello',
          extraArgs: ['-c', 'model_providers.relay.request_max_retries=0'],
        });
        assert.equal(run.code, 0, fail(run));
        assert.match(run.stdout, /Hello from mock/, fail(run));
        assert.doesNotMatch(run.stderr + run.stdout, /Reconnecting/, fail(run));
        const turns = turnsOf(await mock.log());
        console.log(
          `POOL_CODEX fault=${fault} upstream: ${turns.map((e) => `${e.account_label}:${e.fault ?? e.status}`).join(' → ')} codex_ms=${run.ms}`,
        );
        assert.equal(turns.length, 2, `upstream saw ${turns.length} requests, want the failed one and one failover`);
        const [bad, good] = turns;
        assert.equal(bad.fault, fault);
        assert.equal(good.fault, null);
        assert.equal(good.status, 200);
        assert.notEqual(good.account_label, bad.account_label, 'the failover went to the same account');
        assert.equal(good.body_sha256, bad.body_sha256, 'the failover did not replay the same body');
        assert.equal(good.headers['session-id'], bad.headers['session-id']);
      } finally {
        await pool.stop();
      }
    });
  }
});
