// Streaming behaviour through the relay, measured with `curl -sN` (each `data:` line is
// timestamped in Node as it arrives) against the mock's per-event send times.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  relaySkip,
  curlStream,
  relayFetch,
  nonce,
  percentile,
  nowMs,
  sleep,
  RELAY_ENV,
  withHttpMockAndRelay,
} from './lib/harness.mjs';

const skip = relaySkip();

describe('streaming through the relay', { skip }, () => {
  let mock;
  let relay;
  withHttpMockAndRelay((m, r) => {
    mock = m;
    relay = r;
  });

  const stream = (prompt, opts = {}) =>
    curlStream(`${relay.base}/responses`, {
      headers: { authorization: `Bearer ${relay.key}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: { model: 'gpt-5.5', stream: true, input: prompt },
      ...opts,
    });

  const entryFor = (tag) => mock.waitFor((e) => e.last_user_text?.includes(tag), 3000);

  async function assertStillServing() {
    const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: `ok? ${nonce()}` } });
    assert.equal(r.status, 200, `relay stopped serving: ${r.status} ${r.text.slice(0, 300)}`);
    assert.equal(r.json.output.at(-1).content[0].text, 'Hello from mock');
  }

  it('paced events arrive one by one with low added latency', async () => {
    const tag = nonce('paced');
    const s = stream(`[[mock:paced:8:200]] ${tag}`);
    const res = await s.done;
    assert.equal(res.code, 0, `curl exit ${res.code}`);
    const evs = s.events.filter((e) => e.json && typeof e.json.sequence_number === 'number');
    const deltas = evs.filter((e) => e.json.type === 'response.output_text.delta');
    assert.equal(deltas.length, 8, `got ${deltas.length} deltas`);
    assert.equal(evs.at(-1).json.type, 'response.completed');
    const gaps = [];
    for (let i = 1; i < deltas.length; i++) gaps.push(deltas[i].at - deltas[i - 1].at);
    for (const g of gaps) assert.ok(g > 100, `deltas were batched: arrival gaps ${gaps.map((x) => x.toFixed(0)).join(',')} ms`);

    const entry = await entryFor(tag);
    assert.ok(entry, 'request not in mock log');
    const sent = new Map(entry.events.map((e) => [e.seq, e.sent_at_ms]));
    const lat = [];
    for (const e of evs) {
      const t = sent.get(e.json.sequence_number);
      assert.ok(t !== undefined, `event seq ${e.json.sequence_number} not sent by the mock`);
      lat.push(e.at - t);
    }
    assert.equal(lat.length, entry.events.length, 'client did not receive every event the mock sent');
    lat.sort((a, b) => a - b);
    const p50 = percentile(lat, 50);
    const p95 = percentile(lat, 95);
    const max = lat.at(-1);
    console.log(`EVENT_LATENCY_MS p50=${p50.toFixed(2)} p95=${p95.toFixed(2)} max=${max.toFixed(2)} n=${lat.length}`);
    // Latency is reported, not asserted: speed targets live in bench/, not in tests.
  });

  it('a silent upstream gets data-event heartbeats and the stream still completes', async () => {
    const interval = Number(RELAY_ENV.CODEX_RELAY_UPSTREAM_HEARTBEAT_INTERVAL_MS);
    const tag = nonce('silent');
    const s = stream(`[[mock:silent:1500]] ${tag}`);
    const res = await s.done;
    assert.equal(res.code, 0);
    const keep = s.events.filter((e) => e.json?.type === 'keepalive');
    assert.ok(keep.length >= 2, `expected >= 2 keepalive data events in a 1500 ms gap with ${interval} ms heartbeat, got ${keep.length}`);
    const types = s.events.map((e) => e.json?.type);
    assert.equal(types.filter((t) => t !== 'keepalive').at(-1), 'response.completed');
    // heartbeats fall inside the silent gap: after response.created, before response.in_progress
    const created = types.indexOf('response.created');
    const inProgress = types.indexOf('response.in_progress');
    for (const k of keep) {
      const i = s.events.indexOf(k);
      assert.ok(i > created && i < inProgress, `keepalive at index ${i} outside the silent gap (${created}..${inProgress})`);
    }
    // no two consecutive arrivals in the gap are much further apart than the heartbeat interval
    const gapEvents = s.events.slice(created, inProgress + 1);
    for (let i = 1; i < gapEvents.length; i++) {
      const g = gapEvents[i].at - gapEvents[i - 1].at;
      assert.ok(g < interval * 2 + 200, `gap of ${g.toFixed(0)} ms without any event (heartbeat ${interval} ms)`);
    }
  });

  it('an upstream cut mid-stream becomes response.failed, then the stream ends', async () => {
    const tag = nonce('cut');
    const s = stream(`[[mock:cut_mid_stream]] ${tag}`);
    const t0 = nowMs();
    const res = await s.done;
    assert.ok(nowMs() - t0 < 10000, 'stream did not end');
    const types = s.events.map((e) => e.json?.type ?? e.data);
    const fi = types.indexOf('response.failed');
    assert.ok(fi >= 0, `no response.failed; got ${types.join(',')}`);
    assert.ok(
      types.slice(fi + 1).every((t) => t === '[DONE]'),
      `events after response.failed: ${types.slice(fi + 1).join(',')}`,
    );
    const failed = s.events[fi].json;
    assert.ok(failed.response?.error?.message, 'response.failed lacks response.error.message');
    assert.ok(failed.response?.error?.code, 'response.failed lacks response.error.code');
    assert.equal(failed.response?.status, 'failed');
    assert.ok(types.includes('response.output_text.delta'), 'events sent before the cut were not relayed');
    assert.equal(res.code, 0, `curl exit ${res.code} (relay should end the chunked body cleanly)`);
    await assertStillServing();
  });

  it('a client hang-up cancels the upstream request promptly; the relay keeps serving', async () => {
    const tag = nonce('hangup');
    let killedAt = 0;
    const s = stream(`[[mock:paced:100:100]] ${tag}`, {
      onEvent: (ev, all) => {
        if (!killedAt && all.filter((e) => e.json?.type === 'response.output_text.delta').length >= 2) {
          killedAt = nowMs();
          s.kill();
        }
      },
    });
    await s.done;
    assert.ok(killedAt > 0, 'client never saw 2 deltas');
    const entry = await mock.waitFor((e) => e.last_user_text?.includes(tag) && e.closed_at_ms !== null, 3000);
    assert.ok(entry, 'upstream request was not closed within 3 s of the client hang-up');
    const dt = entry.closed_at_ms - killedAt;
    assert.ok(entry.aborted, 'upstream stream ran to completion instead of being cancelled');
    assert.ok(dt < 1000, `upstream closed ${dt.toFixed(0)} ms after the client hang-up`);
    assert.ok(entry.events.length < 40, `mock kept sending: ${entry.events.length} events`);
    await sleep(100);
    await assertStillServing();
  });

  // Transfers are spread over several curl multi handles (src/upstream/curl_multi.hpp), each
  // with its own connections: one at a time must still reuse one connection, and a burst's
  // connections must serve the next burst.
  it('upstream connections are reused, one at a time and from burst to burst', async () => {
    const seen = await mock.connections();
    const since = seen.length ? seen.at(-1).id + 1 : 0;
    const one = async () => {
      const r = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: `reuse ${nonce()}` } });
      assert.equal(r.status, 200, r.text.slice(0, 200));
    };
    for (let i = 0; i < 10; i++) await one();
    const sequential = (await mock.connections(since)).length;
    assert.ok(sequential <= 1, `10 requests one at a time opened ${sequential} upstream connections, want at most 1`);
    const width = 16;
    for (let burst = 0; burst < 3; burst++) await Promise.all(Array.from({ length: width }, one));
    const opened = (await mock.connections(since)).length;
    assert.ok(opened <= width + 2, `3 bursts of ${width} opened ${opened} upstream connections, want at most ${width + 2}`);
  });
});
