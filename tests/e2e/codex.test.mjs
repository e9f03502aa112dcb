// The real Codex CLI 0.169.0 (`codex exec`) through the relay, to the mock provider.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startMock, startRelay, runCodex, relaySkip, MODELS, headerHits } from './lib/harness.mjs';

const skip = relaySkip();

function sessionIdOf(run) {
  const m = /session id: ([0-9a-f-]{36})/.exec(run.stderr + run.stdout);
  return m ? m[1] : null;
}

function fail(run) {
  return `codex exit ${run.code ?? run.signal} after ${run.ms} ms\n--- stdout\n${run.stdout.slice(-1500)}\n--- stderr\n${run.stderr.slice(-2500)}`;
}

describe('Codex CLI through the relay (HTTP account)', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: true });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }] });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  it('plain turn: answer comes back; upstream saw the account key and the session id', async () => {
    await mock.reset();
    const run = await runCodex({ baseUrl: relay.base, key: relay.key, prompt: 'Say hello' });
    assert.equal(run.code, 0, fail(run));
    assert.match(run.stdout, /Hello from mock/, fail(run));
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 1, `upstream saw ${turns.length} /v1/responses requests`);
    const t = turns[0];
    assert.equal(t.headers.authorization, `Bearer ${mock.apiKey}`, 'upstream must get the account key');
    assert.deepEqual(headerHits(t.headers, relay.key), [], 'the relay key leaked upstream');
    const sid = sessionIdOf(run);
    assert.ok(sid, 'codex printed no session id');
    assert.equal(t.headers['session-id'], sid, 'session-id header did not reach upstream');
    assert.equal(t.stream, true);
    assert.equal(t.model, 'gpt-5.5');
    assert.equal(t.status, 200);
  });

  it('tool round trip: Codex runs the command and the function_call_output reaches upstream', async () => {
    await mock.reset();
    // -s read-only lets Codex run `echo` in its sandbox here (verified in this namespace).
    const run = await runCodex({ baseUrl: relay.base, key: relay.key, prompt: 'Run the probe [[mock:tool_call]]' });
    assert.equal(run.code, 0, fail(run));
    assert.match(run.stdout, /tool output was:/, fail(run));
    assert.match(run.stdout, /relay-tool-ok/, fail(run));
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 2, `upstream saw ${turns.length} /v1/responses requests`);
    assert.equal(turns[0].scenario, 'tool_call');
    assert.equal(turns[1].scenario, 'tool_result');
    assert.match(turns[1].function_call_outputs.join('\n'), /relay-tool-ok/);
    assert.equal(turns[1].headers['session-id'], turns[0].headers['session-id']);
    for (const t of turns) assert.equal(t.headers.authorization, `Bearer ${mock.apiKey}`);
  });

  it('`codex-relay codex-config` output works as Codex config.toml (embedded key and env key)', async () => {
    await mock.reset();
    const embedded = relay.cli(['codex-config', '--url', relay.url, '--key', relay.key]);
    assert.match(embedded, /wire_api = "responses"/);
    let run = await runCodex({ key: null, prompt: 'Hello via codex-config', configToml: embedded });
    assert.equal(run.code, 0, fail(run));
    assert.match(run.stdout, /Hello from mock/, fail(run));

    const viaEnv = relay.cli(['codex-config', '--url', relay.url]);
    const envVar = /env_key = "([A-Z0-9_]+)"/.exec(viaEnv)?.[1];
    assert.ok(envVar, `codex-config without --key names no env_key:\n${viaEnv}`);
    run = await runCodex({ key: null, prompt: 'Hello via env key', configToml: viaEnv, env: { [envVar]: relay.key } });
    assert.equal(run.code, 0, fail(run));
    assert.match(run.stdout, /Hello from mock/, fail(run));
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 2);
    for (const t of turns) assert.equal(t.headers.authorization, `Bearer ${mock.apiKey}`);
  });

  it('relay heartbeats keep Codex alive through a silent upstream longer than its idle timeout', async () => {
    // Pointed directly at the mock, the same prompt fails with "idle timeout waiting for SSE"
    // (mock.test.mjs); through the relay the keepalive data events reset Codex's idle timer.
    const run = await runCodex({
      baseUrl: relay.base,
      key: relay.key,
      prompt: 'Wait for it [[mock:silent:2500]]',
      extraArgs: ['-c', 'model_providers.relay.stream_idle_timeout_ms=1000', '-c', 'model_providers.relay.stream_max_retries=0'],
    });
    assert.equal(run.code, 0, fail(run));
    assert.match(run.stdout, /Hello from mock/, fail(run));
  });

  it('an upstream cut mid-stream reaches Codex as a retryable failure (no hang)', async () => {
    await mock.reset();
    const run = await runCodex({
      baseUrl: relay.base,
      key: relay.key,
      prompt: 'Break [[mock:cut_mid_stream]]',
      timeoutMs: 30000,
      extraArgs: ['-c', 'model_providers.relay.stream_max_retries=1'],
    });
    assert.notEqual(run.code, 0, 'codex should fail the turn');
    assert.equal(run.signal, null, `codex hung and was killed\n${fail(run)}`);
    assert.match(run.stderr, /Reconnecting\.\.\. 1\/1/, fail(run));
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 2, `upstream saw ${turns.length} requests; Codex should retry the turn once`);
  });
});

describe('Codex CLI through the relay (HTTPS account, --ca-file)', { skip }, () => {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: true });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-https', scheme: 'https', models: MODELS }] });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  it('plain turn over relay→mock TLS', async () => {
    await mock.reset();
    const run = await runCodex({ baseUrl: relay.base, key: relay.key, prompt: 'Say hello over TLS' });
    assert.equal(run.code, 0, fail(run));
    assert.match(run.stdout, /Hello from mock/, fail(run));
    const turns = (await mock.log()).filter((e) => e.path === '/v1/responses');
    assert.equal(turns.length, 1);
    assert.equal(turns[0].scheme, 'https', 'the request did not reach the mock over TLS');
    assert.equal(turns[0].headers.authorization, `Bearer ${mock.apiKey}`);
  });
});
