// Egress proxies, part 2 (issue 5): the relay pinned to per-account egresses.
//
// Real tinyproxy and dante from deploy/egress/ (lib/harness.mjs startTinyproxy / startDante),
// each bound to its own outgoing loopback address; the mock provider over TLS records the peer
// address of every request (log `peer`) and of every TCP connection (`/__mock/connections`),
// and labels each request with the account whose key it carried.
//
//   acct-a: a-eu = tinyproxy, out 127.0.0.2 (region eu); a-us = dante, out 127.0.0.3 (region us)
//   acct-b: b-1  = tinyproxy, out 127.0.0.4
//
// a. pinning: A's requests only from .2/.3 (both used), B's only from .4, nothing direct (.1)
// b. one of A's egresses stops mid-run: no failed request, A continues through the other
// c. both of A's stop: no failed request, A's traffic goes to B through .4, never direct;
//    `account list` says egress_unavailable; both restarted: A is back
// d. one proxy URL for two accounts, or one name twice: refused
// e. two nodes, `serve --region eu` / `--region us`: each uses its region's egress of A
// f. `egress verify` through each egress to the mock's echo endpoint; two egresses of different
//    accounts leaving from one address (two tinyproxies on 127.0.0.5): CONFLICT, exit 1
//
// Figures: lines starting with EGRESS_ (grep the test output). EGRESS_REQUESTS overrides the
// 200 requests of a.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startMock,
  startRelay,
  startNode,
  startTinyproxy,
  startDante,
  startSquid,
  relaySkip,
  relayCli,
  relayCliResult,
  accountKeyEnv,
  tmpDir,
  pollUntil,
  sleep,
  nowMs,
  POOL_ENV,
} from './lib/harness.mjs';

const skip = relaySkip();
const N = Number(process.env.EGRESS_REQUESTS || 200);
const CONCURRENCY = 8;
const A = 'acct-a';
const B = 'acct-b';
const DIRECT = '127.0.0.1';

// ---------------------------------------------------------------- helpers

/** One POST /v1/responses (every 4th one streamed); ok when the mock's answer came through whole. */
async function respond(node, input, { stream = false, timeoutMs = 30000 } = {}) {
  const t0 = nowMs();
  try {
    const r = await fetch(`${node.base}/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${node.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-5.5', input, stream }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await r.text();
    let ok = false;
    if (r.status === 200) {
      if (stream) ok = text.includes('Hello from mock') && text.includes('response.completed');
      else {
        try {
          ok = JSON.parse(text).output?.at(-1)?.content?.[0]?.text === 'Hello from mock';
        } catch {}
      }
    }
    return { ok, status: r.status, text, ms: nowMs() - t0 };
  } catch (err) {
    return { ok: false, status: null, text: String(err), ms: nowMs() - t0 };
  }
}

/**
 * Sends requests `${tag} 0` … `${tag} ${n-1}` with `concurrency` workers; `onDone(count)` after
 * each. Returns {ok, failed: [{i, status, text}], statuses}.
 */
async function blast(node, tag, n, { concurrency = CONCURRENCY, onDone = null } = {}) {
  let next = 0;
  let done = 0;
  const out = { ok: 0, failed: [], statuses: {} };
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const r = await respond(node, `${tag} ${i}`, { stream: i % 4 === 0 });
      out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
      if (r.ok) out.ok++;
      else out.failed.push({ i, status: r.status, text: r.text.slice(0, 300) });
      done++;
      if (onDone) await onDone(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

/**
 * Like blast, but open-ended: workers keep sending until `stop()` says so (checked before each
 * request); `onDone(count)` after each. Returns {ok, sent, failed, statuses}.
 */
async function blastUntil(node, tag, stop, { concurrency = CONCURRENCY, onDone = null } = {}) {
  let next = 0;
  let done = 0;
  const out = { ok: 0, sent: 0, failed: [], statuses: {} };
  const worker = async () => {
    while (!stop()) {
      const i = next++;
      const r = await respond(node, `${tag} ${i}`, { stream: i % 4 === 0 });
      out.statuses[r.status] = (out.statuses[r.status] || 0) + 1;
      if (r.ok) out.ok++;
      else out.failed.push({ i, status: r.status, text: r.text.slice(0, 300) });
      done++;
      if (onDone) await onDone(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  out.sent = next;
  return out;
}

/** The account's health changes since `sinceMs` (wall clock), from `account events`. */
function eventsSince(relay, name, sinceMs) {
  return relay
    .cli(['account', 'events', name])
    .split('\n')
    .slice(1)
    .filter((l) => {
      const t = Date.parse(l.trim().split(/\s+/)[0]);
      return Number.isFinite(t) && t >= Math.floor(sinceMs / 1000) * 1000;
    })
    .map((l) => l.trim().replace(/\s+/g, ' '));
}

/** The mock's /v1/responses entries of requests whose input starts with `tag `. */
async function entriesOf(mock, tag) {
  return (await mock.log()).filter((e) => e.path === '/v1/responses' && (e.last_user_text || '').startsWith(`${tag} `));
}

/** {account: {peer: count}} */
function peersByAccount(entries) {
  const m = {};
  for (const e of entries) {
    const a = (m[e.account_label ?? 'none'] ??= {});
    a[e.peer] = (a[e.peer] || 0) + 1;
  }
  return m;
}
const fmtPeers = (m) =>
  Object.entries(m)
    .sort()
    .map(([acct, peers]) => `${acct}:{${Object.entries(peers).sort().map(([p, c]) => `${p}=${c}`).join(',')}}`)
    .join(' ');

/** The rows of a CLI table whose first cell is `name`. */
const rowOf = (out, name) => out.split('\n').find((l) => l.trim().split(/\s+/)[0] === name) || '';

const failedSummary = (r) => JSON.stringify(r.failed.slice(0, 3));

async function ensureRunning(...proxies) {
  for (const p of proxies) if (!p.running) await p.start();
}

// ---------------------------------------------------------------- suite

describe('egress: accounts pinned to their egress proxies', { skip }, () => {
  let mock;
  let aEu; // tinyproxy 127.0.0.2, acct-a, region eu
  let aUs; // dante 127.0.0.3, acct-a, region us
  let b1; // tinyproxy 127.0.0.4, acct-b
  let relay; // a. and d.

  /** A relay with acct-a (a-eu, a-us, no region) and acct-b (b-1), egresses added before serve. */
  const startEgressRelay = () =>
    startRelay(mock, {
      accounts: [
        { name: A, scheme: 'https' },
        { name: B, scheme: 'https' },
      ],
      env: POOL_ENV,
      // Before serve starts: no request may ever see an account without its egresses.
      beforeServe: (cli) => {
        cli(['egress', 'add', 'a-eu', '--url', aEu.url, '--account', A]);
        cli(['egress', 'add', 'a-us', '--url', aUs.url, '--account', A]);
        cli(['egress', 'add', 'b-1', '--url', b1.url, '--account', B]);
      },
    });

  before(async () => {
    mock = await startMock({ tls: true, apiKeys: [{ label: A }, { label: B }] });
    [aEu, aUs, b1] = await Promise.all([
      startTinyproxy({ outgoing: '127.0.0.2', mock }),
      startDante({ outgoing: '127.0.0.3', mock }),
      startTinyproxy({ outgoing: '127.0.0.4', mock }),
    ]);
    relay = await startEgressRelay();
    console.log(`EGRESS_SETUP a-eu=${aEu.url}(out ${aEu.outgoing}) a-us=${aUs.url}(out ${aUs.outgoing}) b-1=${b1.url}(out ${b1.outgoing}) mock=${mock.httpsBase}`);
  });
  after(async () => {
    await relay?.stop();
    for (const p of [aEu, aUs, b1]) await p?.stop();
    await mock?.stop();
  });

  it(`a. ${N} requests: A only through 127.0.0.2/.3 (both), B only through .4, nothing direct`, async () => {
    const conn0 = (await mock.connections()).length;
    const r = await blast(relay, 'pin', N);
    assert.equal(r.ok, N, `${N - r.ok} of ${N} requests failed: ${failedSummary(r)}`);
    const entries = await entriesOf(mock, 'pin');
    const by = peersByAccount(entries);
    const conns = (await mock.connections()).slice(conn0).filter((c) => c.scheme === 'https');
    const connPeers = {};
    for (const c of conns) connPeers[c.peer] = (connPeers[c.peer] || 0) + 1;
    console.log(
      `EGRESS_PINNING requests=${N} ok=${r.ok} upstream_requests=${entries.length} ${fmtPeers(by)} ` +
        `tls_connections={${Object.entries(connPeers).sort().map(([p, c]) => `${p}=${c}`).join(',')}}`,
    );
    assert.ok(entries.length >= N, `the mock saw ${entries.length} requests for ${N}`);
    const bad = entries.filter((e) => !((e.account_label === A && ['127.0.0.2', '127.0.0.3'].includes(e.peer)) || (e.account_label === B && e.peer === '127.0.0.4')));
    assert.deepEqual(
      bad.map((e) => `${e.account_label}@${e.peer}`),
      [],
      `requests that arrived from an address not of their account's egresses: ${fmtPeers(by)}`,
    );
    assert.ok(by[A]?.['127.0.0.2'] > 0 && by[A]?.['127.0.0.3'] > 0, `A did not use both of its egresses: ${fmtPeers(by)}`);
    assert.ok(by[B]?.['127.0.0.4'] > 0, `B got no traffic: ${fmtPeers(by)}`);
    assert.equal(connPeers[DIRECT] ?? 0, 0, `${connPeers[DIRECT]} TLS connections reached the mock directly from the relay (127.0.0.1)`);
    for (const p of Object.keys(connPeers)) assert.ok(['127.0.0.2', '127.0.0.3', '127.0.0.4'].includes(p), `TLS connection from ${p}`);
  });

  it('b. one of A\'s two egresses stops mid-run: no failed request, A continues through the other only', async () => {
    await ensureRunning(aEu, aUs, b1);
    const r1 = await startEgressRelay();
    try {
      // 1.5 s of traffic, then a-eu stops; 3 s more (the relay skips a dead egress within 2 s).
      const t0 = Date.now();
      let stoppedAt = null;
      let stopping = null;
      const r = await blastUntil(r1, 'one-down', () => stoppedAt !== null && nowMs() > stoppedAt + 3000, {
        onDone: () => {
          if (!stopping && Date.now() - t0 > 1500) {
            stopping = aEu.stop().then(() => {
              stoppedAt = nowMs();
            });
          }
        },
      });
      const entries = await entriesOf(mock, 'one-down');
      const afterStop = entries.filter((e) => e.received_at_ms > stoppedAt);
      const byAfter = peersByAccount(afterStop);
      const aAfter = afterStop.filter((e) => e.account_label === A);
      const firstA = aAfter[0] ? Math.round(aAfter[0].received_at_ms - stoppedAt) : null;
      await sleep(1200); // the health recorder writes events about once a second
      const events = eventsSince(r1, A, stoppedAt - 1000);
      console.log(
        `EGRESS_ONE_DOWN requests=${r.sent} ok=${r.ok} failed=${r.failed.length} before_stop: ${fmtPeers(peersByAccount(entries.filter((e) => e.received_at_ms <= stoppedAt)))} ` +
          `after_stop: ${fmtPeers(byAfter)} first_A_after_stop_ms=${firstA ?? '-'} acct_a_events=${JSON.stringify(events)}`,
      );
      assert.equal(r.failed.length, 0, `${r.failed.length} client requests failed when one of A's egresses stopped: ${failedSummary(r)}`);
      assert.ok(aAfter.length > 0, `A served nothing in the 3 s after one of its egresses stopped: ${fmtPeers(byAfter)}; A's events: ${JSON.stringify(events)}`);
      assert.deepEqual([...new Set(aAfter.map((e) => e.peer))], ['127.0.0.3'], `A's traffic after the stop: ${fmtPeers(byAfter)}`);
      assert.ok(
        afterStop.every((e) => e.peer !== DIRECT),
        `requests went direct after the stop: ${fmtPeers(byAfter)}`,
      );

      // The operator sees it: `egress list` says a-eu is down.
      let row = '';
      const t1 = nowMs();
      const shown = await pollUntil(async () => /\bdown\b/.test((row = rowOf(r1.cli(['egress', 'list']), 'a-eu'))), 5000);
      console.log(`EGRESS_LIST_DOWN shown_after_ms=${Math.round(nowMs() - t1)} row=${JSON.stringify(row.replace(/\s+/g, ' '))}`);
      assert.ok(shown, `egress list does not show a-eu down: ${JSON.stringify(row)}`);

      // Back: a-eu restarted, A uses it again.
      await aEu.start();
      const restartedAt = nowMs();
      let back = null;
      let k = 0;
      while (!back && nowMs() - restartedAt < 10000) {
        const t = await blast(r1, `one-back-${k++}`, 16, { concurrency: 4 });
        assert.equal(t.ok, 16, `requests failed after the restart: ${failedSummary(t)}`);
        back = (await mock.log()).find((e) => e.received_at_ms > restartedAt && e.account_label === A && e.peer === '127.0.0.2');
      }
      console.log(`EGRESS_ONE_BACK ${back ? `back_after_ms=${Math.round(back.received_at_ms - restartedAt)}` : 'not_back_in_10s'}`);
      assert.ok(back, `A did not use a-eu again within 10 s of its restart; account list: ${rowOf(r1.cli(['account', 'list']), A)}`);

      // An egress going away is not the account's fault: A's own health did not change.
      assert.deepEqual(events, [], `stopping one of A's two egresses changed A's account health (traffic went to B instead of A's other egress)`);
    } finally {
      await r1.stop();
      await ensureRunning(aEu, aUs, b1);
    }
  });

  it('c. both of A\'s egresses stop: no failed request, A\'s traffic goes to B through .4 only; egress_unavailable; then A is back', async () => {
    await ensureRunning(aEu, aUs, b1);
    const r1 = await startEgressRelay();
    try {
      const conn0 = (await mock.connections()).length;
      const t0 = Date.now();
      let stoppedAt = null;
      let stopping = null;
      const r = await blastUntil(r1, 'both-down', () => stoppedAt !== null && nowMs() > stoppedAt + 3000, {
        onDone: () => {
          if (!stopping && Date.now() - t0 > 1500) {
            stopping = Promise.all([aEu.stop(), aUs.stop()]).then(() => {
              stoppedAt = nowMs();
            });
          }
        },
      });
      const entries = await entriesOf(mock, 'both-down');
      const afterStop = entries.filter((e) => e.received_at_ms > stoppedAt);
      const byAfter = peersByAccount(afterStop);
      const conns = (await mock.connections()).slice(conn0).filter((c) => c.scheme === 'https');
      const direct = conns.filter((c) => c.peer === DIRECT);
      console.log(
        `EGRESS_BOTH_DOWN requests=${r.sent} ok=${r.ok} failed=${r.failed.length} before_stop: ${fmtPeers(peersByAccount(entries.filter((e) => e.received_at_ms <= stoppedAt)))} ` +
          `after_stop: ${fmtPeers(byAfter)} direct_tls_connections=${direct.length}`,
      );
      assert.equal(r.failed.length, 0, `${r.failed.length} client requests failed when both of A's egresses stopped: ${failedSummary(r)}`);
      assert.ok(afterStop.length > 0, 'no request reached the mock after both egresses stopped');
      assert.deepEqual(Object.keys(byAfter), [B], `after both of A's egresses stopped, requests were served by ${fmtPeers(byAfter)}`);
      assert.deepEqual(Object.keys(byAfter[B]), ['127.0.0.4'], `B's traffic came from ${fmtPeers(byAfter)}`);
      assert.equal(direct.length, 0, `${direct.length} TLS connections reached the mock directly (A went direct?)`);

      // `account list` says why A gets nothing.
      let row = '';
      const shown = await pollUntil(async () => /\begress_unavailable\b/.test((row = rowOf(r1.cli(['account', 'list']), A))), 5000);
      console.log(`EGRESS_ACCOUNT_STATE ${A}=${JSON.stringify(row.replace(/\s+/g, ' '))}`);
      assert.ok(shown, `account list does not show ${A} as egress_unavailable: ${JSON.stringify(row)}`);
      const rowB = rowOf(r1.cli(['account', 'list']), B);
      assert.ok(!/egress_unavailable/.test(rowB), `B shown egress_unavailable: ${rowB}`);

      // Both back: A serves again, through its own egresses.
      await Promise.all([aEu.start(), aUs.start()]);
      const restartedAt = nowMs();
      let back = null;
      let k = 0;
      while (!back && nowMs() - restartedAt < 10000) {
        const t = await blast(r1, `both-back-${k++}`, 16, { concurrency: 4 });
        assert.equal(t.ok, 16, `requests failed after the restart: ${failedSummary(t)}`);
        back = (await mock.log()).find((e) => e.received_at_ms > restartedAt && e.account_label === A);
      }
      const rowNow = rowOf(r1.cli(['account', 'list']), A);
      console.log(
        `EGRESS_BOTH_BACK ${back ? `back_after_ms=${Math.round(back.received_at_ms - restartedAt)} peer=${back.peer}` : 'not_back_in_10s'} ` +
          `account=${JSON.stringify(rowNow.replace(/\s+/g, ' '))} acct_a_events=${JSON.stringify(eventsSince(r1, A, restartedAt - 60000))}`,
      );
      assert.ok(back, `${A} got no traffic within 10 s of its egresses' restart; account list: ${rowNow}`);
      assert.ok(['127.0.0.2', '127.0.0.3'].includes(back.peer), `A came back through ${back.peer}`);
      const cleared = await pollUntil(async () => !/\begress_unavailable\b/.test((row = rowOf(r1.cli(['account', 'list']), A))), 5000);
      assert.ok(cleared, `account list still shows ${A} egress_unavailable: ${row}`);
    } finally {
      await r1.stop();
      await ensureRunning(aEu, aUs, b1);
    }
  });

  it('d. one proxy URL for two accounts, or one egress name twice: refused', async () => {
    const before = relay.cli(['egress', 'list']);
    const sameUrl = relay.cliResult(['egress', 'add', 'b-steal', '--url', aEu.url, '--account', B]);
    const sameName = relay.cliResult(['egress', 'add', 'a-eu', '--url', 'http://127.0.0.1:9', '--account', B]);
    const oneLine = (s) => s.trim().replace(/\s+/g, ' ');
    console.log(`EGRESS_REFUSED same_url: exit=${sameUrl.code} ${JSON.stringify(oneLine(sameUrl.stderr || sameUrl.stdout))}`);
    console.log(`EGRESS_REFUSED same_name: exit=${sameName.code} ${JSON.stringify(oneLine(sameName.stderr || sameName.stdout))}`);
    assert.notEqual(sameUrl.code, 0, `egress add of a-eu's URL for ${B} succeeded: ${sameUrl.stdout}`);
    assert.notEqual(sameName.code, 0, `egress add of the name a-eu twice succeeded: ${sameName.stdout}`);
    assert.ok(sameUrl.stderr.trim().length > 0, 'no message for the refused proxy URL');
    assert.ok(sameName.stderr.trim().length > 0, 'no message for the refused name');
    // A clear message: it says what clashes.
    assert.match(sameUrl.stderr, /a-eu|acct-a|already|in use|assigned|belongs/i, `unclear message: ${sameUrl.stderr}`);
    assert.match(sameName.stderr, /a-eu|already|exists|taken/i, `unclear message: ${sameName.stderr}`);
    assert.doesNotMatch(sameUrl.stderr + sameName.stderr, /sk-acct/, 'a message shows an API key');
    const after = relay.cli(['egress', 'list']);
    assert.equal(after.split('\n').length, before.split('\n').length, `egress list changed:\n${before}\n---\n${after}`);
    assert.equal(rowOf(after, 'b-steal'), '', 'b-steal was added');
    assert.match(rowOf(after, 'a-eu'), new RegExp(`\\b${A}\\b`), `a-eu no longer belongs to ${A}: ${rowOf(after, 'a-eu')}`);
  });

  it('e. two nodes, serve --region eu / --region us: each node uses its own region\'s egress of A', async () => {
    await ensureRunning(aEu, aUs);
    const eu = await startRelay(mock, {
      accounts: [{ name: A, scheme: 'https' }],
      env: POOL_ENV,
      beforeServe: (cli) => {
        cli(['egress', 'add', 'a-eu', '--url', aEu.url, '--account', A, '--region', 'eu']);
        cli(['egress', 'add', 'a-us', '--url', aUs.url, '--account', A, '--region', 'us']);
      },
      serveArgs: ['--region', 'eu'],
    });
    let us;
    try {
      us = await startNode(eu, { serveArgs: ['--region', 'us'] });
      const n = 60;
      const [rEu, rUs] = await Promise.all([blast(eu, 'region-eu', n), blast(us, 'region-us', n)]);
      assert.equal(rEu.ok, n, `eu node: ${failedSummary(rEu)}`);
      assert.equal(rUs.ok, n, `us node: ${failedSummary(rUs)}`);
      const pEu = peersByAccount(await entriesOf(mock, 'region-eu'));
      const pUs = peersByAccount(await entriesOf(mock, 'region-us'));
      console.log(`EGRESS_REGION node=eu ${fmtPeers(pEu)} node=us ${fmtPeers(pUs)}`);
      assert.deepEqual(pEu, { [A]: { '127.0.0.2': n } }, `the eu node's requests: ${fmtPeers(pEu)}`);
      assert.deepEqual(pUs, { [A]: { '127.0.0.3': n } }, `the us node's requests: ${fmtPeers(pUs)}`);

      // Health before region: with its own region's egress down, the eu node uses the us one.
      await aEu.stop();
      const stoppedAt = nowMs();
      const rDown = await blast(eu, 'region-eu-down', 40);
      const pDown = peersByAccount((await entriesOf(mock, 'region-eu-down')).filter((e) => e.received_at_ms > stoppedAt));
      console.log(`EGRESS_REGION_FALLBACK node=eu ok=${rDown.ok}/40 ${fmtPeers(pDown)}`);
      assert.equal(rDown.ok, 40, `eu node with a-eu down: ${failedSummary(rDown)}`);
      assert.deepEqual(Object.keys(pDown[A] ?? {}), ['127.0.0.3'], `eu node with a-eu down: ${fmtPeers(pDown)}`);
      await aEu.start();
      const restartedAt = nowMs();
      let back = null;
      let k = 0;
      while (!back && nowMs() - restartedAt < 10000) {
        await blast(eu, `region-eu-back-${k++}`, 8, { concurrency: 4 });
        back = (await mock.log()).find((e) => e.received_at_ms > restartedAt && (e.last_user_text || '').startsWith('region-eu-back') && e.peer === '127.0.0.2');
      }
      console.log(`EGRESS_REGION_BACK ${back ? `back_after_ms=${Math.round(back.received_at_ms - restartedAt)}` : 'not_back_in_10s'}`);
      assert.ok(back, 'the eu node did not return to its region\'s egress within 10 s of its restart');
    } finally {
      await us?.stop();
      await eu.stop();
    }
  });

  it('f. egress verify: each egress\'s outgoing address; two accounts on one address: CONFLICT, exit 1', async () => {
    await ensureRunning(aEu, aUs, b1);
    const dataDir = tmpDir('relay-data');
    const env = { [accountKeyEnv(A)]: mock.keys[A], [accountKeyEnv(B)]: mock.keys[B] };
    const cli = (args) => relayCli(dataDir, args, env);
    for (const name of [A, B]) {
      cli(['account', 'add', name, '--base-url', mock.httpsBase, '--api-key-env', accountKeyEnv(name), '--ca-file', mock.tls.ca]);
    }
    const squid = await startSquid({ outgoing: '127.0.0.6', mock });
    const dup1 = await startTinyproxy({ outgoing: '127.0.0.5', mock });
    const dup2 = await startTinyproxy({ outgoing: '127.0.0.5', mock });
    try {
      const want = { 'a-eu': '127.0.0.2', 'a-us': '127.0.0.3', 'b-1': '127.0.0.4', 'b-squid': '127.0.0.6' };
      cli(['egress', 'add', 'a-eu', '--url', aEu.url, '--account', A, '--region', 'eu']);
      cli(['egress', 'add', 'a-us', '--url', aUs.url, '--account', A, '--region', 'us']);
      cli(['egress', 'add', 'b-1', '--url', b1.url, '--account', B]);
      cli(['egress', 'add', 'b-squid', '--url', squid.url, '--account', B]);
      const verifyArgs = ['egress', 'verify', '--echo-url', mock.echoUrl, '--ca-file', mock.tls.ca, '--timeout-ms', '5000'];
      const ok = relayCliResult(dataDir, verifyArgs, env);
      console.log(`EGRESS_VERIFY exit=${ok.code} ${JSON.stringify(ok.stdout.trim())}`);
      assert.equal(ok.code, 0, `egress verify failed (${ok.code}): ${ok.stdout}${ok.stderr}`);
      assert.doesNotMatch(ok.stdout, /CONFLICT/, ok.stdout);
      for (const [name, ip] of Object.entries(want)) {
        assert.match(rowOf(ok.stdout, name), new RegExp(`\\s${ip.replace(/\./g, '\\.')}\\b`), `verify line of ${name}, want ${ip}: ${rowOf(ok.stdout, name)}`);
      }
      // The observed address is recorded: `egress list` shows it.
      const list = cli(['egress', 'list']);
      for (const [name, ip] of Object.entries(want)) {
        assert.match(rowOf(list, name), new RegExp(`\\s${ip.replace(/\./g, '\\.')}\\s`), `egress list row of ${name}, want observed ${ip}: ${rowOf(list, name)}`);
      }

      // By accident, one egress of A and one of B leave from the same address.
      cli(['egress', 'add', 'a-dup', '--url', dup1.url, '--account', A]);
      cli(['egress', 'add', 'b-dup', '--url', dup2.url, '--account', B]);
      const bad = relayCliResult(dataDir, verifyArgs, env);
      const conflicts = bad.stdout.split('\n').filter((l) => l.includes('CONFLICT'));
      console.log(`EGRESS_VERIFY_CONFLICT exit=${bad.code} ${JSON.stringify(conflicts.join(' | '))}`);
      assert.equal(bad.code, 1, `egress verify with a shared address exited ${bad.code}: ${bad.stdout}${bad.stderr}`);
      assert.equal(conflicts.length, 1, `want one CONFLICT line:\n${bad.stdout}`);
      for (const needle of ['127.0.0.5', A, B]) assert.ok(conflicts[0].includes(needle), `CONFLICT line lacks ${needle}: ${conflicts[0]}`);
      assert.ok(!conflicts[0].includes('127.0.0.2') && !conflicts[0].includes('127.0.0.4'), `a false conflict: ${conflicts[0]}`);
    } finally {
      for (const p of [squid, dup1, dup2]) await p.stop();
    }
  });
});
