// Egress proxies, part 1 (issue 5), without the relay: the three egress daemons of deploy/egress/
// (tinyproxy and squid for HTTP CONNECT, dante for SOCKS5), each started from a copy of its
// deploy config with only addresses, ports, hosts and file locations replaced
// (renderEgressConfig in lib/harness.mjs), each bound to its own outgoing loopback address.
// curl through each proxy to the mock's TLS listener shows the mock seeing the proxy's outgoing
// address as the peer, and the deploy policy holds: CONNECT to the provider host and port
// works; another port, another host, another client and plain-HTTP proxying are refused; the
// proxy's log has host:port at most, never a URL path.
//
// Figures: one line per proxy starting with EGRESS_PROXY (grep the test output).

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startMock, startEgressProxy, proxyTunnel, curlVia, sleep } from './lib/harness.mjs';

// Outgoing address of each proxy; 127.0.0.1 is the mock's and the client's own.
const PROXIES = [
  { kind: 'tinyproxy', outgoing: '127.0.0.2' },
  { kind: 'dante', outgoing: '127.0.0.3' },
  { kind: 'squid', outgoing: '127.0.0.4' },
];
// Host not on the proxies' list: a listener of our own, on the mock's https port.
const OTHER_HOST = '127.0.0.7';
// A client address the proxies do not let in (the relays are 127.0.0.1 and 127.0.0.8).
const STRANGER = '127.0.0.9';

let mock;
let decoy;
let decoyConnections = 0;

before(async () => {
  mock = await startMock({ tls: true, apiKeys: [{ label: 'probe' }] });
  decoy = net.createServer((s) => {
    decoyConnections++;
    s.destroy();
  });
  await new Promise((resolve, reject) => {
    decoy.once('error', reject);
    decoy.listen(mock.ports.https, OTHER_HOST, resolve);
  });
});
after(async () => {
  decoy?.close();
  await mock?.stop();
});

/** Everything the proxy wrote to its logs (its own log files and its output). */
function proxyLogs(p) {
  let all = '';
  for (const f of fs.readdirSync(p.dir)) {
    if (/\.(log)$/.test(f)) all += fs.readFileSync(path.join(p.dir, f), 'utf8');
  }
  return all;
}

/** Plain-HTTP proxying (GET http://…) through an HTTP proxy: the status curl saw. */
function plainHttpStatus(proxyUrl, url) {
  const r = spawnSync('curl', ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', '-x', proxyUrl, url], { encoding: 'utf8' });
  return Number(r.stdout);
}

const refusal = (r) => (r.status !== null ? `http_${r.status}` : r.rep !== null ? `socks_rep_${r.rep}` : `error_${r.error}`);

describe('egress proxies from deploy/egress (no relay)', () => {
  for (const { kind, outgoing } of PROXIES) {
    it(`${kind} (outgoing ${outgoing}): the mock sees ${outgoing}; only CONNECT to the provider host:port from the relays`, async () => {
      const p = await startEgressProxy(kind, { outgoing, mock });
      try {
        const ca = mock.tls.ca;
        const conn0 = (await mock.connections()).length;
        const logId0 = (await mock.faults()).next_id;

        // 1. The echo endpoint through the tunnel: TLS end to end, the peer is the proxy's address.
        const echo = curlVia(p.url, mock.echoUrl, { ca });
        assert.equal(echo.code, 0, `curl -x ${p.url} ${mock.echoUrl} failed: ${echo.stderr}\n${p.log()}`);
        assert.equal(echo.body, outgoing, `echo through ${kind} answered ${JSON.stringify(echo.body)}`);

        // 2. An API request: the mock's log records the peer.
        const models = curlVia(p.url, `${mock.httpsBase}/models`, { ca, headers: { authorization: `Bearer ${mock.keys.probe}` } });
        assert.equal(models.code, 0, `curl /v1/models through ${kind}: ${models.stderr}`);
        assert.match(models.body, /"object":\s*"list"/, `unexpected /v1/models body: ${models.body.slice(0, 200)}`);
        const entries = (await mock.logSince(logId0)).filter((e) => e.path === '/v1/models');
        assert.equal(entries.length, 1, `mock log has ${entries.length} /v1/models entries`);
        assert.equal(entries[0].scheme, 'https');
        assert.equal(entries[0].peer, outgoing, `mock log peer ${entries[0].peer}, want ${outgoing}`);
        assert.equal(entries[0].account_label, 'probe');

        // 3. A bare tunnel to the provider's host:port is allowed.
        const ok = await proxyTunnel(p.url, '127.0.0.1', mock.ports.https);
        assert.ok(ok.ok, `CONNECT 127.0.0.1:${mock.ports.https} through ${kind} refused: ${JSON.stringify(ok)}`);
        // ... also from the second relay address of the config.
        const ok2 = await proxyTunnel(p.url, '127.0.0.1', mock.ports.https, { localAddress: '127.0.0.8' });
        assert.ok(ok2.ok, `CONNECT from the second relay address (127.0.0.8) refused: ${JSON.stringify(ok2)}`);

        // 4. Refused: a port not on the list (the mock's plain listener, which is up) ...
        const badPort = await proxyTunnel(p.url, '127.0.0.1', mock.ports.http);
        assert.ok(!badPort.ok, `CONNECT to port ${mock.ports.http} (not on the list) allowed through ${kind}`);
        // ... a host not on the list (a listener of ours on the right port) ...
        const decoyBefore = decoyConnections;
        const badHost = await proxyTunnel(p.url, OTHER_HOST, mock.ports.https);
        assert.ok(!badHost.ok, `CONNECT to ${OTHER_HOST} (not on the list) allowed through ${kind}`);
        await sleep(100);
        assert.equal(decoyConnections, decoyBefore, `${kind} connected to ${OTHER_HOST} although it is not on the list`);
        // ... and a client that is not a relay.
        const stranger = await proxyTunnel(p.url, '127.0.0.1', mock.ports.https, { localAddress: STRANGER });
        assert.ok(!stranger.ok, `${kind} let client ${STRANGER} (not a relay) through`);
        if (kind !== 'dante') {
          // HTTP status codes: the policy's refusal, not a failed connection (which is 5xx).
          assert.equal(badPort.status, 403, `CONNECT to a port not on the list: ${JSON.stringify(badPort)}`);
          assert.equal(badHost.status, 403, `CONNECT to a host not on the list: ${JSON.stringify(badHost)}`);
          assert.equal(stranger.status, 403, `client not a relay: ${JSON.stringify(stranger)}`);
        } else {
          // SOCKS5 reply 2: "connection not allowed by ruleset".
          assert.equal(badPort.rep, 2, `SOCKS CONNECT to a port not on the list: ${JSON.stringify(badPort)}`);
          assert.equal(badHost.rep, 2, `SOCKS CONNECT to a host not on the list: ${JSON.stringify(badHost)}`);
        }
        // Nothing reached the mock's plain listener from the proxy.
        const conns = (await mock.connections()).slice(conn0);
        const fromProxy = conns.filter((c) => c.peer === outgoing);
        assert.ok(
          fromProxy.every((c) => c.scheme === 'https'),
          `${kind} opened a connection to the mock's plain listener: ${JSON.stringify(fromProxy)}`,
        );
        // Every connection to the TLS listener came from the proxy, none direct.
        const tlsConns = conns.filter((c) => c.scheme === 'https');
        assert.ok(tlsConns.length >= 3, `only ${tlsConns.length} connections reached the mock's TLS listener`);
        assert.deepEqual([...new Set(tlsConns.map((c) => c.peer))], [outgoing], `TLS listener peers: ${JSON.stringify(tlsConns.map((c) => c.peer))}`);

        // 5. HTTP proxies: plain-HTTP proxying is refused too (only CONNECT), and its URL is not logged.
        let plain = null;
        if (kind !== 'dante') {
          plain = plainHttpStatus(p.url, `http://127.0.0.1:${mock.ports.http}/__mock/ip?secret-path-e2e`);
          assert.equal(plain, 403, `plain GET through ${kind}: status ${plain}`);
        }
        await sleep(200);
        const logs = proxyLogs(p);
        assert.ok(!logs.includes('secret-path-e2e'), `${kind} logged a URL path:\n${logs.slice(-2000)}`);
        assert.ok(!logs.includes('/v1/models') && !logs.includes('/__mock/ip'), `${kind} logged a request path:\n${logs.slice(-2000)}`);

        // 6. stop() and start() on the same port: gone, then back.
        await p.stop();
        const down = curlVia(p.url, mock.echoUrl, { ca, timeoutS: 3 });
        assert.notEqual(down.code, 0, `${kind} still answered after stop()`);
        const t0 = Date.now();
        await p.start();
        const restartMs = Date.now() - t0;
        const again = curlVia(p.url, mock.echoUrl, { ca });
        assert.equal(again.code, 0, `after start(): ${again.stderr}`);
        assert.equal(again.body, outgoing);

        console.log(
          `EGRESS_PROXY kind=${kind} url=${p.url} outgoing=${outgoing} mock_peer=${entries[0].peer} echo=${echo.body} ` +
            `allowed=${ok.ok} refused_port=${refusal(badPort)} refused_host=${refusal(badHost)} refused_client=${refusal(stranger)}` +
            `${plain !== null ? ` plain_http=${plain}` : ''} restart_ms=${restartMs}`,
        );
      } finally {
        await p.stop();
      }
    });
  }
});
