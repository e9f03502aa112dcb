// Backpressure through the relay: a client that reads slowly must slow the upstream down
// (the relay pauses its upstream transfer) instead of the relay buffering the whole response.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import { relaySkip, nonce, nowMs, sleep, withHttpMockAndRelay } from './lib/harness.mjs';

const skip = relaySkip();
const MIB = 48;
const CLIENT_BYTES_PER_MS = 8 * 1024; // 8 MiB/s: the 48 MiB take the client about 6 s

describe('backpressure', { skip }, () => {
  let mock;
  let relay;
  withHttpMockAndRelay((m, r) => {
    mock = m;
    relay = r;
  });

  it('a slow client paces the upstream and receives every byte', async () => {
    const tag = nonce('bulk');
    const body = JSON.stringify({ model: 'gpt-5.5', stream: true, input: `[[mock:bulk:${MIB}]] ${tag}` });
    const sock = net.connect(relay.port, '127.0.0.1');
    await new Promise((r, j) => sock.once('connect', r).once('error', j));
    const started = nowMs();
    sock.write(
      `POST /v1/responses HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${relay.key}\r\n` +
        `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    let received = 0;
    let tail = '';
    let peakRssKb = 0;
    const rssOf = () => {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${relay.child.pid}/status`, 'utf8'));
        return m ? Number(m[1]) : 0;
      } catch {
        return 0;
      }
    };
    // Pull-based reading: while we sleep, nothing is read, the socket buffers fill and TCP
    // flow control pushes back on the relay.
    for await (const chunk of sock) {
      received += chunk.length;
      tail = (tail + chunk.toString('latin1')).slice(-4096);
      const ahead = received / CLIENT_BYTES_PER_MS - (nowMs() - started);
      if (ahead > 0) await sleep(ahead);
      peakRssKb = Math.max(peakRssKb, rssOf());
    }
    const clientDone = nowMs();
    assert.match(tail, /response\.completed/, 'stream did not complete');
    assert.ok(received > MIB * 1024 * 1024, `received only ${received} bytes`);

    const entry = await mock.waitFor((e) => e.last_user_text?.includes(tag) && e.last_write_at_ms, 5000);
    assert.ok(entry, 'bulk request not in the mock log');
    const upstreamMs = entry.last_write_at_ms - started;
    const clientMs = clientDone - started;
    console.log(
      `BACKPRESSURE upstream_write_ms=${upstreamMs.toFixed(0)} client_read_ms=${clientMs.toFixed(0)} ` +
        `drain_waits=${entry.drain_waits} relay_peak_rss_mib=${(peakRssKb / 1024).toFixed(1)} mib=${MIB}`,
    );
    // Unthrottled, the mock writes 48 MiB in well under a second. It can only take seconds if
    // the relay stopped reading while the client was slow; socket buffers on loopback hold at
    // most ~20 MiB in flight, so the mock must still be writing well after the client started.
    assert.ok(entry.drain_waits > 0, 'the upstream never had to wait: nothing pushed back');
    assert.ok(upstreamMs > clientMs * 0.3, `upstream finished at ${upstreamMs} ms, client at ${clientMs} ms`);
    // The relay's own buffer is bounded (256 KiB per stream); its resident size stays far
    // below the response size.
    assert.ok(peakRssKb > 0 && peakRssKb < MIB * 1024, `relay RSS peaked at ${peakRssKb} KiB`);
  });
});
