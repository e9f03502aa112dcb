// The admin HTTP API (/admin/v1/* on the admin listener, docs/admin-api.md): admin tokens and
// 401s, tenants, keys and accounts created through it and used by the official openai SDK
// through the relay, the refusals (malformed JSON, unknown fields, an oversized body) while /v1
// keeps serving, and the audit log: who, what and when for every change, and no secret in it,
// in the API's answers or in the relay's log.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { startMock, startRelay, relaySkip, relayFetch, checkErrorModel, pollUntil, sleep } from './lib/harness.mjs';

const skip = relaySkip();

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** Shaped like an admin token (cra_ + 49 base62) but never issued: its checksum is random. */
const fakeToken = () => 'cra_' + Array.from(randomBytes(49), (b) => BASE62[b % 62]).join('');

describe('admin API', { skip }, () => {
  let mock;
  let relay;
  let token;
  const t0 = Date.now();
  /** Every secret the tests handle: none may show up in the audit log or the relay's log. */
  const secrets = [];

  /** One admin API call (relayFetch against the admin listener); {status, headers, text, json}. */
  const admin = (method, pathname, { body, auth = token } = {}) =>
    relayFetch({ url: relay.adminUrl }, pathname, { method, body, key: auth });

  const sdk = (key) => new OpenAI({ apiKey: key, baseURL: relay.base, maxRetries: 0, timeout: 20000 });
  const chat = (key, model = 'gpt-5.5') =>
    sdk(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] });

  before(async () => {
    mock = await startMock({ tls: false, apiKeys: { 'mock-http': null, 'api-acct': null } });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: ['gpt-5.5'] }] });
    assert.ok(relay.adminUrl, 'serve printed no admin listener');
    token = relay.cli(['admin-token', 'add', 'e2e']);
    assert.match(token, /^cra_[A-Za-z0-9]{49}$/);
    secrets.push(token, relay.key, mock.keys['api-acct'], mock.keys['mock-http']);
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  it('refuses no token, a wrong token and a revoked token with 401 and the error JSON; /metrics stays open', async () => {
    for (const [what, auth] of [
      ['no token', null],
      ['a wrong token', fakeToken()],
      ['a relay key', relay.key],
      ['garbage', 'not-a-token'],
    ]) {
      const r = await admin('GET', '/admin/v1/tenants', { auth });
      assert.equal(r.status, 401, `${what}: ${r.text}`);
      checkErrorModel(assert, r.text, { code: 'invalid_admin_token', status: 401 }, what);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    const temp = relay.cli(['admin-token', 'add', 'temp']);
    secrets.push(temp);
    assert.equal((await admin('GET', '/admin/v1/tenants', { auth: temp })).status, 200);
    relay.cli(['admin-token', 'revoke', 'temp']);
    const revoked = await admin('GET', '/admin/v1/tenants', { auth: temp });
    assert.equal(revoked.status, 401, revoked.text);
    checkErrorModel(assert, revoked.text, { code: 'invalid_admin_token', status: 401 }, 'revoked');

    const metrics = await fetch(`${relay.adminUrl}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /# TYPE /);
    const log = fs.readFileSync(relay.logFile, 'utf8');
    assert.match(log, /admin api: refused GET \/admin\/v1\/tenants/);
  });

  it('creates a tenant and a key that the openai SDK uses through the relay, and revokes it', async () => {
    const t = await admin('POST', '/admin/v1/tenants', { body: { name: 'api-team', limits: { rpm: 600 } } });
    assert.equal(t.status, 201, t.text);
    assert.equal(t.json.name, 'api-team');
    assert.equal(t.json.limits.rpm, 600);
    const k = await admin('POST', '/admin/v1/keys', { body: { tenant: 'api-team' } });
    assert.equal(k.status, 201, k.text);
    const key = k.json.key;
    secrets.push(key);
    assert.match(key, /^crk_[A-Za-z0-9]{49}$/);
    const list = await admin('GET', '/admin/v1/keys?tenant=api-team');
    assert.equal(list.status, 200);
    assert.equal(list.json.data.length, 1);
    assert.ok(!list.text.includes(key), 'key list holds the key');

    // serve picks the new key up within a second or so.
    const ok = await pollUntil(async () => {
      try {
        const r = await chat(key);
        return r.choices?.length > 0;
      } catch {
        return false;
      }
    }, 5000);
    assert.ok(ok, 'the key made through the API was never accepted');

    const del = await admin('DELETE', `/admin/v1/keys/${k.json.id}`);
    assert.equal(del.status, 200, del.text);
    assert.equal(del.json.status, 'revoked');
    const refused = await pollUntil(async () => {
      try {
        await chat(key);
        return null;
      } catch (e) {
        return e.status === 401 ? e : null;
      }
    }, 5000);
    assert.ok(refused, 'the key revoked through the API still works');
    assert.equal(refused.error?.code ?? refused.code, 'invalid_api_key');
  });

  it('creates an account whose credential never comes back beyond its last 4 characters', async () => {
    const credential = mock.keys['api-acct'];
    const a = await admin('POST', '/admin/v1/accounts', {
      body: { name: 'api-acct', base_url: mock.httpBase, credential, models: ['gpt-4o-mini'] },
    });
    assert.equal(a.status, 201, a.text);
    const bodies = [a.text, (await admin('GET', '/admin/v1/accounts')).text, (await admin('GET', '/admin/v1/accounts/api-acct')).text];
    for (const text of bodies) {
      assert.ok(!text.includes(credential.slice(0, -4)), `credential in ${text}`);
      assert.ok(text.includes(`"credential_last4":"${credential.slice(-4)}"`), text);
    }
    // The relay uses it: gpt-4o-mini is served by this account alone.
    const used = await pollUntil(async () => {
      try {
        await chat(relay.key, 'gpt-4o-mini');
        return (await mock.log()).some((e) => e.account_label === 'api-acct');
      } catch {
        return false;
      }
    }, 5000);
    assert.ok(used, 'the account made through the API never served a request');

    const off = await admin('PATCH', '/admin/v1/accounts/api-acct', { body: { enabled: false } });
    assert.equal(off.status, 200, off.text);
    assert.equal(off.json.enabled, false);
  });

  it('refuses malformed JSON, unknown fields and an oversized body while /v1 keeps serving', async () => {
    let stop = false;
    let served = 0;
    const failures = [];
    const traffic = (async () => {
      while (!stop) {
        try {
          await chat(relay.key);
          served++;
        } catch (e) {
          failures.push(String(e));
        }
      }
    })();
    const cases = [
      ['malformed JSON', '{"name": "x",', 400, 'invalid_value'],
      ['not an object', '["x"]', 400, 'invalid_value'],
      ['an unknown field', JSON.stringify({ name: 'x', colour: 'red' }), 400, 'invalid_value'],
      ['a negative limit', JSON.stringify({ name: 'x', limits: { rps: -1 } }), 400, 'invalid_value'],
      ['a bad name', JSON.stringify({ name: 'no spaces' }), 400, 'invalid_value'],
      ['an oversized body', JSON.stringify({ name: 'x', pad: 'x'.repeat(2 * 1024 * 1024) }), 413, 'request_too_large'],
    ];
    for (const [what, body, status, code] of cases) {
      const r = await admin('POST', '/admin/v1/tenants', { body });
      assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
      checkErrorModel(assert, r.text, { code, status }, what);
      await sleep(20);
    }
    const missing = await admin('GET', '/admin/v1/tenants/nobody');
    checkErrorModel(assert, missing.text, { code: 'not_found', status: 404 }, 'unknown tenant');
    const method = await admin('PUT', '/admin/v1/tenants');
    assert.equal(method.status, 405);
    checkErrorModel(assert, method.text, { code: 'method_not_allowed', status: 405 }, 'PUT');
    const unknown = await admin('GET', '/admin/v1/nothing');
    checkErrorModel(assert, unknown.text, { code: 'unknown_url', status: 404 }, 'unknown path');
    await sleep(200);
    stop = true;
    await traffic;
    assert.deepEqual(failures, [], '/v1 requests failed meanwhile');
    assert.ok(served > 0, 'no /v1 request was served meanwhile');
    const tenants = await admin('GET', '/admin/v1/tenants');
    assert.ok(!tenants.json.data.some((t) => t.name === 'x'), 'a refused request created a tenant');
    assert.equal((await admin('GET', '/admin/v1/openapi.json')).json.openapi.slice(0, 2), '3.');
  });

  it('audits who, what and when for every change, API and CLI, and keeps every secret out', async () => {
    const r = await admin('GET', '/admin/v1/audit?limit=1000');
    assert.equal(r.status, 200, r.text);
    const entries = r.json.data;
    const find = (actor, action, target, outcome = 'ok') =>
      entries.find((e) => e.actor === actor && e.action === action && e.target === target && e.outcome === outcome);
    const now = Date.now();
    for (const [actor, action, target] of [
      ['token:e2e', 'tenant.create', 'api-team'],
      ['token:e2e', 'tenant.limits', 'api-team'],
      ['token:e2e', 'key.create', null],
      ['token:e2e', 'key.revoke', null],
      ['token:e2e', 'account.create', 'api-acct'],
      ['token:e2e', 'account.disable', 'api-acct'],
    ]) {
      const e = target ? find(actor, action, target) : entries.find((x) => x.actor === actor && x.action === action);
      assert.ok(e, `no audit entry ${actor} ${action} ${target}: ${r.text.slice(0, 2000)}`);
      assert.ok(e.at_ms >= t0 - 60000 && e.at_ms <= now + 1000, `${action}: at_ms ${e.at_ms}`);
      assert.match(e.target, /\S/);
    }
    const limits = find('token:e2e', 'tenant.limits', 'api-team');
    assert.deepEqual(limits.details, { limits: { rpm: 600 } });
    // The CLI's own changes (startRelay's set-up, the admin tokens) are there too.
    const cli = entries.filter((e) => e.actor.startsWith('cli:'));
    assert.ok(cli.some((e) => e.action === 'tenant.create' && e.target === 'team-a'), 'CLI tenant add not audited');
    assert.ok(cli.some((e) => e.action === 'account.create' && e.target === 'mock-http'));
    assert.ok(cli.some((e) => e.action === 'admin_token.revoke' && e.target === 'temp'));

    const cliAudit = relay.cli(['audit', '--format', 'json', '--limit', '1000']);
    assert.equal(cliAudit.split('\n').length, entries.length);
    const log = fs.readFileSync(relay.logFile, 'utf8');
    for (const s of secrets) {
      assert.ok(!r.text.includes(s), `a secret (${s.slice(0, 4)}…) in the audit log`);
      assert.ok(!cliAudit.includes(s), `a secret (${s.slice(0, 4)}…) in audit --format json`);
      assert.ok(!log.includes(s), `a secret (${s.slice(0, 4)}…) in the relay's log`);
    }
  });
});
