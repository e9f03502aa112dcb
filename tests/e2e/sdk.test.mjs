// The official openai npm SDK 6.49.0 through the relay.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startMock, startRelay, relaySkip, MODELS } from './lib/harness.mjs';

const skip = relaySkip();

describe('openai SDK through the relay', { skip }, () => {
  let mock;
  let relay;
  let client;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }] });
    client = new OpenAI({ apiKey: relay.key, baseURL: relay.base, maxRetries: 0, timeout: 20000 });
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });

  it('responses.create (non-stream)', async () => {
    const { data: r, response } = await client.responses.create({ model: 'gpt-5.5', input: 'hi' }).withResponse();
    assert.equal(r.output_text, 'Hello from mock');
    assert.equal(r.status, 'completed');
    assert.equal(r.usage.total_tokens, 2402);
    assert.ok(response.headers.get('x-request-id'), 'no x-request-id');
    const last = (await mock.log()).at(-1);
    assert.equal(last.headers.authorization, `Bearer ${mock.apiKey}`);
  });

  it('responses.create({stream:true}) yields every event in order', async () => {
    const stream = await client.responses.create({ model: 'gpt-5.5', input: 'hi', stream: true });
    const events = [];
    for await (const ev of stream) events.push(ev);
    const types = events.map((e) => e.type).filter((t) => t !== 'keepalive');
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    const seqs = events.filter((e) => e.type !== 'keepalive').map((e) => e.sequence_number);
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'sequence numbers are not 0..n (events lost or reordered)');
    const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    assert.equal(text, 'Hello from mock');
    const done = events.at(-1).response;
    assert.equal(done.usage.input_tokens_details.cached_tokens, 1920);
    assert.equal(done.usage.output_tokens_details.reasoning_tokens, 32);
    const reasoning = events.find((e) => e.type === 'response.output_item.done' && e.item.type === 'reasoning');
    assert.ok(reasoning?.item.encrypted_content, 'reasoning encrypted_content lost');
  });

  it('responses.stream() helper: finalResponse text and a tool call', async () => {
    const s = client.responses.stream({ model: 'gpt-5.5', input: 'hi' });
    let deltas = '';
    s.on('response.output_text.delta', (e) => (deltas += e.delta));
    const final = await s.finalResponse();
    assert.equal(final.output_text, 'Hello from mock');
    assert.equal(deltas, 'Hello from mock');

    const t = client.responses.stream({ model: 'gpt-5.5', input: 'run [[mock:tool_call]]' });
    const tf = await t.finalResponse();
    const fc = tf.output.find((o) => o.type === 'function_call');
    assert.ok(fc, 'no function_call in final response');
    assert.equal(fc.name, 'exec_command');
    assert.deepEqual(JSON.parse(fc.arguments), { cmd: 'echo relay-tool-ok' });
  });

  it('chat.completions stream with stream_options.include_usage ends with a usage chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const real = chunks.filter((c) => c.object === 'chat.completion.chunk');
    assert.equal(real.length, chunks.length, `non-chunk objects in chat stream: ${JSON.stringify(chunks.find((c) => c.object !== 'chat.completion.chunk'))}`);
    const text = real.map((c) => c.choices[0]?.delta?.content ?? '').join('');
    assert.equal(text, 'Hello from mock');
    const last = real.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.total_tokens, 29);
    assert.equal(real.at(-2).choices[0].finish_reason, 'stop');
  });

  it('chat.completions non-stream', async () => {
    const c = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(c.choices[0].message.content, 'Hello from mock');
    assert.equal(c.usage.total_tokens, 29);
  });

  it('models.list', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.ok(ids.includes('gpt-5.5'), `models: ${ids.join(',')}`);
  });

  it('embeddings.create (base64, decoded by the SDK)', async () => {
    const e = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['alpha', 'beta'] });
    assert.equal(e.data.length, 2);
    assert.equal(e.data[1].embedding.length, 8);
    assert.ok(e.data[1].embedding.every(Number.isFinite));
  });

  it('a bad key gets AuthenticationError with code invalid_api_key (and never reaches upstream)', async () => {
    await mock.reset();
    const bad = new OpenAI({ apiKey: 'crk_definitely_not_a_key', baseURL: relay.base, maxRetries: 0 });
    await assert.rejects(bad.responses.create({ model: 'gpt-5.5', input: 'hi' }), (err) => {
      assert.ok(err instanceof OpenAI.AuthenticationError, `got ${err?.constructor?.name}: ${err}`);
      assert.equal(err.status, 401);
      assert.equal(err.code, 'invalid_api_key');
      assert.ok(err.requestID, 'no x-request-id on the 401');
      return true;
    });
    assert.equal((await mock.log()).length, 0, 'an unauthenticated request reached upstream');
  });
});
