// The per-address limit on invalid relay keys (docs/limits.md#invalid-keys-per-address): bad or
// missing keys from one address get 401 up to the burst, then 429 too_many_invalid_keys with
// Retry-After; a valid key from that address, and bad keys from another address, are served as
// before; once the wait is over, bad keys get 401 again.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startMock, startRelay, relaySkip, relayFetch, checkErrorModel, pollUntil } from './lib/harness.mjs';

const skip = relaySkip();
const BURST = 3;

/** POST /v1/responses from a chosen local address (127.0.0.1 or another loopback one). */
function postFrom(relay, localAddress, headers) {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ model: 'gpt-5.5', input: 'hi' });
    const req = http.request(
      {
        host: '127.0.0.1',
        port: relay.port,
        path: '/v1/responses',
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The key with its last character changed: its checksum fails. */
const typo = (key) => key.slice(0, -1) + (key.endsWith('x') ? 'y' : 'x');
const badKey = (i) => ({ authorization: `Bearer crk_not_a_real_key_${i}` });

describe('invalid keys per address', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, {
      // 3 at once, then one a second: the wait after the burst is about a second.
      env: { CODEX_RELAY_SERVER_INVALID_KEY_BURST: String(BURST), CODEX_RELAY_SERVER_INVALID_KEY_PER_MINUTE: '60' },
    });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  it('answers 401 up to the burst, then 429 with Retry-After, and serves valid keys throughout', async () => {
    for (let i = 0; i < BURST; i++) {
      const r = await postFrom(relay, '127.0.0.1', i === 0 ? {} : badKey(i)); // a missing key counts too
      assert.equal(r.status, 401, `attempt ${i}: ${r.text}`);
      checkErrorModel(assert, r.text, { code: 'invalid_api_key', status: 401 }, `attempt ${i}`);
    }
    for (const headers of [badKey('over'), {}, { 'x-api-key': typo(relay.key) }]) {
      const r = await postFrom(relay, '127.0.0.1', headers);
      assert.equal(r.status, 429, r.text);
      const e = checkErrorModel(assert, r.text, { code: 'too_many_invalid_keys', status: 429 }, 'over the limit');
      assert.equal(e.type, 'rate_limit_error');
      assert.match(r.headers['retry-after'] ?? '', /^[1-9][0-9]*$/, 'Retry-After');
      assert.ok(r.headers['x-request-id'], 'x-request-id');
      assert.ok(!r.text.includes('crk_'), `the refusal echoes no key: ${r.text}`);
    }

    // The valid key from the same address is still served.
    const ok = await postFrom(relay, '127.0.0.1', { authorization: `Bearer ${relay.key}` });
    assert.equal(ok.status, 200, ok.text);
    // So is another address, whose bad keys get a plain 401.
    const other = await postFrom(relay, '127.0.0.2', badKey('other'));
    assert.equal(other.status, 401, other.text);
    const viaFetch = await relayFetch(relay, '/v1/responses', { body: { model: 'gpt-5.5', input: 'hi' } });
    assert.equal(viaFetch.status, 200, viaFetch.text);

    // After the wait, bad keys from the first address get 401 again.
    const again = await pollUntil(async () => {
      const r = await postFrom(relay, '127.0.0.1', badKey('later'));
      return r.status === 401 ? r : null;
    }, 5000);
    assert.ok(again, 'still 429 five seconds after the burst');
    checkErrorModel(assert, again.text, { code: 'invalid_api_key', status: 401 }, 'after the wait');

    // The refusals are counted.
    assert.ok(relay.adminUrl, 'admin listener');
    const counted = async () => {
      const m = await (await fetch(`${relay.adminUrl}/metrics`)).text();
      return m.split('\n').find((l) => l.startsWith('codex_relay_responses_total{') && l.includes('"too_many_invalid_keys"')) ?? '';
    };
    const line = await pollUntil(async () => {
      const l = await counted();
      return Number(l.split(' ').pop()) >= 3 ? l : null;
    }, 3000);
    assert.ok(line, `metric line: ${await counted()}`);
  });
});
