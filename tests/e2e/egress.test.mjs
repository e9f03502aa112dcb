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
// g. an https:// egress with credentials: squid from deploy/egress/squid/squid-https.conf
//    (https_port with the test certificate, basic auth), out 127.0.0.11; acct-b on a tinyproxy
//    out 127.0.0.12. With the right password A's requests come from .11; with a wrong one (407)
//    the egress is down, A is egress_unavailable (its own health untouched) and B serves; the
//    password is in no `egress add/list` output and no serve.log (access log included)
// h. the egress sees no key and no content: a byte-recording TCP relay between the relay and a
//    tinyproxy (out 127.0.0.13); every connection is `CONNECT mock:port` then TLS, and neither
//    direction holds the relay key, the account key, the prompt's canary, `authorization` or
//    the mock's answer
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
import { startSquidHttps, egressUrlWith, startTcpRecorder, nonce } from './lib/harness.mjs';
import fs from 'node:fs';
import path from 'node:path';

// A request already inside a tunnel when its egress stops may still land a moment later (its
// bytes were in flight, or the proxy's per-connection child outlives the parent by a few ms):
// "after the stop" starts this long after stop() returned.
const IN_FLIGHT_GRACE_MS = 250;
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
      const afterStop = entries.filter((e) => e.received_at_ms > stoppedAt + IN_FLIGHT_GRACE_MS);
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
      const afterStop = entries.filter((e) => e.received_at_ms > stoppedAt + IN_FLIGHT_GRACE_MS);
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

// ---------------------------------------------------------------- g. https:// egress, credentials

/** Every needle of `needles` ({label: string}) found in `text`: [label]. */
const secretsIn = (text, needles) => Object.entries(needles).filter(([, v]) => v && text.includes(v)).map(([k]) => k);

const readOr = (f) => {
  try {
    return fs.readFileSync(f, 'utf8');
  } catch {
    return '';
  }
};

describe('egress: an https:// egress with credentials (squid https_port + basic auth)', { skip }, () => {
  const USER = 'relay-tls';
  // Characters that must be percent-encoded in the URL, around a unique part to search for.
  const PW_CORE = nonce('pw');
  const PW = `${PW_CORE}@:/%x`;
  const WRONG = nonce('wrong');
  const OUT_TLS = '127.0.0.11';
  const OUT_B = '127.0.0.12';
  let mock;
  let sq; // squid-https, out .11, for A
  let bTiny; // tinyproxy, out .12, for B
  const relays = [];
  const cliOutputs = [];

  /** A relay with A on a-tls (https://USER:password@squid, --ca-file) and B on b-tiny. */
  const relayWith = (password) =>
    startRelay(mock, {
      accounts: [
        { name: A, scheme: 'https' },
        { name: B, scheme: 'https' },
      ],
      env: POOL_ENV,
      beforeServe: (cli) => {
        cliOutputs.push(cli(['egress', 'add', 'a-tls', '--url', egressUrlWith(sq.url, USER, password), '--account', A, '--ca-file', mock.tls.ca]));
        cliOutputs.push(cli(['egress', 'add', 'b-tiny', '--url', bTiny.url, '--account', B]));
      },
    }).then((r) => {
      relays.push(r);
      return r;
    });

  /** The needles the password may leave behind: plain, percent-encoded, in Basic form. */
  const pwNeedles = () => ({
    password: PW,
    password_core: PW_CORE,
    password_encoded: encodeURIComponent(PW),
    basic_credentials: Buffer.from(`${USER}:${PW}`).toString('base64'),
    wrong_password: WRONG,
    wrong_basic_credentials: Buffer.from(`${USER}:${WRONG}`).toString('base64'),
  });

  before(async () => {
    mock = await startMock({ tls: true, apiKeys: [{ label: A }, { label: B }] });
    [sq, bTiny] = await Promise.all([
      startSquidHttps({ outgoing: OUT_TLS, mock, users: [{ user: USER, password: PW }] }),
      startTinyproxy({ outgoing: OUT_B, mock }),
    ]);
    console.log(`EGRESS_HTTPS_SETUP a-tls=${sq.url}(out ${OUT_TLS}, user ${USER}) b-tiny=${bTiny.url}(out ${OUT_B}) mock=${mock.httpsBase}`);
  });
  after(async () => {
    for (const r of relays) await r.stop();
    for (const p of [sq, bTiny]) await p?.stop();
    await mock?.stop();
  });

  it('g1. right password: A\'s requests leave through the TLS proxy (.11) only; egress list shows the URL redacted, state up', async () => {
    const relay = await relayWith(PW);
    const conn0 = (await mock.connections()).length;
    const n = 40;
    const r = await blast(relay, 'tls-cred', n);
    assert.equal(r.ok, n, `${n - r.ok} of ${n} requests failed: ${failedSummary(r)}\n${sq.log()}`);
    const by = peersByAccount(await entriesOf(mock, 'tls-cred'));
    const conns = (await mock.connections()).slice(conn0).filter((c) => c.scheme === 'https');
    const connPeers = {};
    for (const c of conns) connPeers[c.peer] = (connPeers[c.peer] || 0) + 1;
    let row = '';
    const up = await pollUntil(async () => /\bup\b/.test((row = rowOf(relay.cli(['egress', 'list']), 'a-tls'))), 5000);
    console.log(
      `EGRESS_HTTPS_CRED requests=${n} ok=${r.ok} ${fmtPeers(by)} tls_connections={${Object.entries(connPeers).sort().map(([p, c]) => `${p}=${c}`).join(',')}} ` +
        `list_row=${JSON.stringify(row.replace(/\s+/g, ' '))}`,
    );
    assert.ok(by[A]?.[OUT_TLS] > 0, `A got no traffic through the https egress: ${fmtPeers(by)}`);
    assert.deepEqual(Object.keys(by[A]), [OUT_TLS], `A's requests came from ${fmtPeers(by)}`);
    assert.deepEqual(Object.keys(by[B] ?? { [OUT_B]: 0 }), [OUT_B], `B's requests came from ${fmtPeers(by)}`);
    assert.equal(connPeers[DIRECT] ?? 0, 0, `${connPeers[DIRECT]} TLS connections reached the mock directly`);
    assert.ok(up, `egress list does not show a-tls up: ${JSON.stringify(row)}`);
    assert.ok(row.includes(`https://${USER}:***@127.0.0.1:${sq.port}`), `egress list URL not redacted as expected: ${row}`);
    assert.ok(cliOutputs[0].includes('***'), `egress add output: ${cliOutputs[0]}`);
  });

  it('g2. wrong password (407): egress down, A egress_unavailable with its own health untouched, B serves, nothing direct', async () => {
    // g1's relay probes through squid with the right password every second; its tunnels would
    // count as squid connecting to the mock here. Its log stays for g3.
    for (const r of relays) await r.stop();
    const relay = await relayWith(WRONG);
    const startedAt = nowMs();
    const conn0 = (await mock.connections()).length;
    const access0 = readOr(path.join(sq.dir, 'access.log')).length;
    const n = 30;
    const r = await blast(relay, 'tls-wrong', n);
    const entries = await entriesOf(mock, 'tls-wrong');
    const by = peersByAccount(entries);
    const conns = (await mock.connections()).slice(conn0).filter((c) => c.scheme === 'https');
    const fromSquid = conns.filter((c) => c.peer === OUT_TLS).length;
    const direct = conns.filter((c) => c.peer === DIRECT).length;
    const denied = readOr(path.join(sq.dir, 'access.log'))
      .slice(access0)
      .split('\n')
      .filter((l) => l.includes('TCP_DENIED/407')).length;
    let erow = '';
    const down = await pollUntil(async () => /\bdown\b/.test((erow = rowOf(relay.cli(['egress', 'list']), 'a-tls'))), 5000);
    let arow = '';
    const unavailable = await pollUntil(async () => /\begress_unavailable\b/.test((arow = rowOf(relay.cli(['account', 'list']), A))), 5000);
    await sleep(1200); // the health recorder writes events about once a second
    const events = eventsSince(relay, A, startedAt - 1000);
    console.log(
      `EGRESS_HTTPS_WRONG_PASSWORD requests=${n} ok=${r.ok} failed=${r.failed.length} ${fmtPeers(by)} squid_407=${denied} ` +
        `mock_connections_from_${OUT_TLS}=${fromSquid} direct=${direct} egress=${JSON.stringify(erow.replace(/\s+/g, ' '))} ` +
        `account=${JSON.stringify(arow.replace(/\s+/g, ' '))} acct_a_events=${JSON.stringify(events)}`,
    );
    assert.equal(r.ok, n, `${n - r.ok} of ${n} requests failed with A's egress refusing its password: ${failedSummary(r)}`);
    assert.deepEqual(Object.keys(by), [B], `with A's egress refusing, requests were served by ${fmtPeers(by)}`);
    assert.deepEqual(Object.keys(by[B]), [OUT_B], `B's requests came from ${fmtPeers(by)}`);
    assert.equal(fromSquid, 0, `squid connected to the mock ${fromSquid} times with a wrong password`);
    assert.equal(direct, 0, `${direct} TLS connections reached the mock directly`);
    assert.ok(denied > 0, 'squid logged no 407 for the wrong password');
    assert.ok(down, `egress list does not show a-tls down: ${JSON.stringify(erow)}`);
    assert.ok(unavailable, `account list does not show ${A} egress_unavailable: ${JSON.stringify(arow)}`);
    assert.doesNotMatch(arow, /cooling|disabled|half_open/, `A's own health changed: ${arow}`);
    assert.deepEqual(events, [], `a proxy refusing its password changed ${A}'s own health`);
  });

  it('g3. the password is in no egress add/list/account list output, no serve.log (access log included), no squid log', async () => {
    for (const r of relays) await r.stop();
    // squid logs a tunnel when it closes: with the relays gone, every one of them.
    const accessFile = path.join(sq.dir, 'access.log');
    const tunnelsOf = () => readOr(accessFile).split('\n').filter((l) => l.includes(` ${USER} TCP_TUNNEL/200 `)).length;
    await pollUntil(async () => tunnelsOf() > 0, 3000);
    const tunnels = tunnelsOf();
    const texts = {};
    for (const [i, o] of cliOutputs.entries()) texts[`egress_add_${i}`] = o;
    let accessLines = 0;
    for (const [i, r] of relays.entries()) {
      texts[`egress_list_${i}`] = r.cli(['egress', 'list']);
      texts[`account_list_${i}`] = r.cli(['account', 'list']);
      const log = readOr(r.logFile);
      texts[`serve_log_${i}`] = log;
      accessLines += log.split('\n').filter((l) => /"event":"request","request_id":/.test(l)).length;
    }
    for (const f of fs.readdirSync(sq.dir).filter((f) => f.endsWith('.log'))) texts[`squid_${f}`] = readOr(path.join(sq.dir, f));
    const found = [];
    for (const [where, text] of Object.entries(texts)) for (const what of secretsIn(text, pwNeedles())) found.push(`${what} in ${where}`);
    const bytes = Object.values(texts).reduce((n, t) => n + t.length, 0);
    const egressNamed = texts.serve_log_0.split('\n').filter((l) => /"event":"request".*"egress":"a-tls"/.test(l)).length;
    console.log(`EGRESS_HTTPS_SECRETS texts=${Object.keys(texts).length} bytes=${bytes} access_lines=${accessLines} access_lines_egress_a_tls=${egressNamed} squid_tunnels_as_${USER}=${tunnels} found=${found.length} ${JSON.stringify(found)}`);
    assert.ok(accessLines > 0, 'serve.log has no access-log lines: nothing was checked');
    assert.ok(egressNamed > 0, 'no access-log line names egress a-tls');
    assert.ok(tunnels > 0, `squid logged no tunnel for user ${USER}:\n${readOr(accessFile).slice(-1500)}`);
    assert.deepEqual(found, [], 'the egress password leaked');
  });
});

// ---------------------------------------------------------------- h. the egress sees only TLS

describe('egress: the egress node sees CONNECT host:port and TLS, never a key or content', { skip }, () => {
  const OUT = '127.0.0.13';
  let mock;
  let tiny;
  let rec;
  let relay;

  before(async () => {
    mock = await startMock({ tls: true, apiKeys: [{ label: A }] });
    tiny = await startTinyproxy({ outgoing: OUT, mock });
    rec = await startTcpRecorder({ target: { host: '127.0.0.1', port: tiny.port } });
    relay = await startRelay(mock, {
      accounts: [{ name: A, scheme: 'https' }],
      env: POOL_ENV,
      beforeServe: (cli) => cli(['egress', 'add', 'a-rec', '--url', `http://127.0.0.1:${rec.port}`, '--account', A]),
    });
  });
  after(async () => {
    await relay?.stop();
    await rec?.stop();
    await tiny?.stop();
    await mock?.stop();
  });

  it('h. recorded bytes both ways: CONNECT to the mock, then TLS; no relay key, account key, canary, authorization or answer', async () => {
    const canary = nonce('CANARY');
    const n = 24;
    const r = await blast(relay, `opaque ${canary}`, n, { concurrency: 4 });
    assert.equal(r.ok, n, `${n - r.ok} of ${n} requests failed: ${failedSummary(r)}`);
    const entries = (await mock.log()).filter((e) => (e.last_user_text || '').includes(canary));
    assert.equal(entries.length, n, `the mock saw ${entries.length} requests with the canary, want ${n}`);
    assert.deepEqual([...new Set(entries.map((e) => e.peer))], [OUT], 'the canary requests did not all come through the tinyproxy');
    const relayKey = relay.key;
    // Stop the relay: its probes end too, and every recorded connection is complete.
    await relay.stop();
    relay = null;
    await sleep(200);

    const connectLine = `CONNECT 127.0.0.1:${mock.ports.https} HTTP/1.1\r\n`;
    const needles = {
      relay_key: relayKey,
      account_key: mock.keys[A],
      canary,
      answer: 'Hello from mock',
      path: '/v1/responses',
      model: 'gpt-5.5',
    };
    const found = [];
    let connectLines = 0;
    let tlsBoth = 0;
    const problems = [];
    for (const [i, c] of rec.connections.entries()) {
      const up = rec.upBytes(c);
      const down = rec.downBytes(c);
      for (const [dir, buf] of [
        ['up', up],
        ['down', down],
      ]) {
        const text = buf.toString('latin1');
        for (const what of secretsIn(text, needles)) found.push(`${what} ${dir} conn ${i}`);
        for (const word of ['authorization', 'bearer', 'x-api-key']) if (text.toLowerCase().includes(word)) found.push(`${word} ${dir} conn ${i}`);
      }
      const upText = up.toString('latin1');
      connectLines += upText.split('\r\n').filter((l) => l.startsWith('CONNECT ')).length;
      if (!upText.startsWith(connectLine)) {
        problems.push(`conn ${i} does not start with ${JSON.stringify(connectLine)}: ${JSON.stringify(upText.slice(0, 80))}`);
        continue;
      }
      // After the CONNECT head and the proxy's 200, both directions are TLS records (0x16:
      // handshake) or nothing at all (a probe that closes at once).
      const upRest = up.subarray(up.indexOf('\r\n\r\n') + 4);
      const downHead = down.indexOf('\r\n\r\n');
      const downRest = downHead >= 0 ? down.subarray(downHead + 4) : Buffer.alloc(0);
      if (!/^HTTP\/1\.[01] 200/.test(down.toString('latin1'))) problems.push(`conn ${i}: the proxy answered ${JSON.stringify(down.toString('latin1').slice(0, 40))}`);
      if (upRest.length && upRest[0] !== 0x16) problems.push(`conn ${i}: client bytes after CONNECT are not TLS (0x${upRest[0].toString(16)})`);
      if (downRest.length && downRest[0] !== 0x16) problems.push(`conn ${i}: server bytes after 200 are not TLS (0x${downRest[0].toString(16)})`);
      if (upRest.length && downRest.length) tlsBoth++;
    }
    const { up, down } = rec.totals();
    console.log(
      `EGRESS_OPAQUE bytes_up=${up} bytes_down=${down} connect_lines=${connectLines} secrets_found=${found.length} ` +
        `connections=${rec.connections.length} tls_both_ways=${tlsBoth} requests=${n}${found.length ? ` ${JSON.stringify(found)}` : ''}`,
    );
    assert.deepEqual(problems, [], 'the recorded bytes are not CONNECT + TLS');
    assert.equal(connectLines, rec.connections.length, 'want exactly one CONNECT line per connection');
    assert.ok(tlsBoth > 0, 'no connection carried TLS both ways: the requests did not go through the recorder');
    assert.ok(down > n * 200, `only ${down} bytes came back through the recorder for ${n} answers`);
    assert.deepEqual(found, [], 'the egress saw a secret or content');
  });
});
