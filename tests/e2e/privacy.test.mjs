// What crosses the relay: the client's identity never reaches upstream, the account's
// identity never reaches the client.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { relaySkip, relayFetch, nonce, withHttpMockAndRelay } from './lib/harness.mjs';

const skip = relaySkip();

const ACCOUNT_HEADER = /^(openai-organization|openai-project|set-cookie|x-ratelimit-.*)$/i;

function leakedAccountHeaders(headers) {
  const out = [];
  headers.forEach((v, k) => {
    if (ACCOUNT_HEADER.test(k)) out.push(`${k}: ${v}`);
  });
  const all = [];
  headers.forEach((v, k) => all.push(`${k}: ${v}`));
  for (const h of all) if (/org-mock-secret|proj_mock_secret|__cf_bm/.test(h) && !out.includes(h)) out.push(h);
  return out;
}

describe('privacy through the relay', { skip }, () => {
  let mock;
  let relay;
  withHttpMockAndRelay((m, r) => {
    mock = m;
    relay = r;
  });

  function canaryHeaders(canary) {
    return {
      'X-Forwarded-For': `198.51.100.23, ${canary}-xff`,
      Forwarded: `for="${canary}-fwd";proto=https`,
      'X-Real-IP': `${canary}-xrealip`,
      'CF-Connecting-IP': `${canary}-cfip`,
      'CF-IPCountry': `${canary}-cfcountry`,
      'CF-Ray': `${canary}-cfray`,
      'True-Client-IP': `${canary}-tcip`,
      Via: `1.1 ${canary}-via`,
      Cookie: `session=${canary}-cookie; other=1`,
    };
  }

  function assertUpstreamClean(entry, canary) {
    assert.ok(entry, 'request did not reach the mock');
    const raw = entry.raw_headers;
    const hits = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i + 1].includes(canary) || raw[i].toLowerCase().includes(canary.toLowerCase())) hits.push(`${raw[i]}: ${raw[i + 1]}`);
      if (raw[i + 1].includes(relay.key)) hits.push(`${raw[i]}: <relay key>`);
    }
    assert.deepEqual(hits, [], 'client identity or relay key reached upstream');
    for (const h of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'cf-connecting-ip', 'true-client-ip', 'via', 'cookie', 'x-api-key']) {
      assert.equal(entry.headers[h], undefined, `upstream got a ${h} header: ${entry.headers[h]}`);
    }
    assert.equal(entry.headers.authorization, `Bearer ${mock.apiKey}`, 'upstream did not get the account key');
  }

  for (const [label, stream] of [
    ['non-stream', false],
    ['stream', true],
  ]) {
    it(`client identity headers never reach upstream; account headers never reach the client (${label})`, async () => {
      const canary = nonce('CANARY');
      const r = await relayFetch(relay, '/v1/responses', {
        headers: canaryHeaders(canary),
        body: { model: 'gpt-5.5', stream, input: `hello ${canary}-body` },
      });
      assert.equal(r.status, 200, r.text.slice(0, 300));
      if (stream) assert.match(r.text, /response\.completed/);
      else assert.equal(r.json.output.at(-1).content[0].text, 'Hello from mock');
      const entry = await mock.waitFor((e) => e.last_user_text?.includes(`${canary}-body`));
      assertUpstreamClean(entry, canary);
      assert.deepEqual(leakedAccountHeaders(r.headers), [], 'account headers reached the client');
      assert.ok(r.headers.get('x-request-id'), 'no x-request-id');
    });
  }

  it('upstream errors passed through are stripped too', async () => {
    const canary = nonce('CANARY');
    const r = await relayFetch(relay, '/v1/responses', {
      headers: canaryHeaders(canary),
      body: { model: 'gpt-5.5', input: `[[mock:context_length]] ${canary}-body` },
    });
    assert.ok(r.status >= 400, `status ${r.status}`);
    assert.deepEqual(leakedAccountHeaders(r.headers), [], 'account headers reached the client on an error');
    assert.ok(r.headers.get('x-request-id'), 'no x-request-id');
    assert.doesNotMatch(r.text, /org-mock-secret|proj_mock_secret/);
    const entry = await mock.waitFor((e) => e.last_user_text?.includes(`${canary}-body`));
    assertUpstreamClean(entry, canary);
  });

  it('models list and chat completions are stripped too', async () => {
    const m = await relayFetch(relay, '/v1/models', { method: 'GET' });
    assert.equal(m.status, 200, m.text.slice(0, 300));
    assert.deepEqual(leakedAccountHeaders(m.headers), []);
    assert.ok(m.headers.get('x-request-id'));
    const c = await relayFetch(relay, '/v1/chat/completions', {
      body: { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] },
    });
    assert.equal(c.status, 200, c.text.slice(0, 300));
    assert.deepEqual(leakedAccountHeaders(c.headers), []);
    assert.ok(c.headers.get('x-request-id'));
  });

  it('Bearer and X-API-Key both authenticate; neither key form reaches upstream', async () => {
    for (const auth of ['bearer', 'x-api-key']) {
      const tag = nonce(auth);
      const r = await relayFetch(relay, '/v1/responses', { auth, body: { model: 'gpt-5.5', input: `hi ${tag}` } });
      assert.equal(r.status, 200, `${auth}: ${r.status} ${r.text.slice(0, 300)}`);
      const entry = await mock.waitFor((e) => e.last_user_text?.includes(tag));
      assertUpstreamClean(entry, tag);
    }
  });
});
