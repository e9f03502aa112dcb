// TLS on the client listener: the openai SDK over https with the test CA (plain and streamed),
// modern protocol defaults, failed handshakes, a certificate reload on SIGHUP (new connections
// see the new certificate, an open stream keeps going, a bad file keeps the old one), and a
// TLS client's hang-up still cancelling the upstream request.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import {
  RELAY_BIN,
  startMock,
  startRelay,
  relaySkip,
  tlsFiles,
  tmpDir,
  freePort,
  waitForLine,
  parseHttp,
  checkErrorModel,
  nonce,
  sleep,
  pollUntil,
  runCodex,
  MODELS,
} from './lib/harness.mjs';

const skip = relaySkip();

/** A server certificate for 127.0.0.1 signed by the test CA, with its own subject. */
function makeCert(dir, ca, cn) {
  const key = path.join(dir, `${cn}.key`);
  const cert = path.join(dir, `${cn}.pem`);
  const csr = path.join(dir, `${cn}.csr`);
  const ext = path.join(dir, `${cn}.ext`);
  fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  execFileSync('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${cn}`, '-keyout', key, '-out', csr], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.ca, '-CAkey', path.join(ca.dir, 'ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', '2', '-sha256', '-extfile', ext, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** A fetch for the SDK over node:https with the test CA; records each connection's TLS facts. */
function tlsFetch(ca, seen) {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const headers = Object.fromEntries(new Headers(init.headers ?? {}));
      const req = https.request(
        { host: u.hostname, port: u.port, path: u.pathname + u.search, method: init.method ?? 'GET', headers, ca, agent: false, ALPNProtocols: ['http/1.1'] },
        (res) => {
          const s = res.socket;
          seen.push({ subject: s.getPeerCertificate().subject?.CN, alpn: s.alpnProtocol, protocol: s.getProtocol(), cipher: s.getCipher()?.name });
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : String(v));
          resolve(new Response(Readable.toWeb(res), { status: res.statusCode, headers: h }));
        },
      );
      req.on('error', reject);
      init.signal?.addEventListener('abort', () => req.destroy(new Error('aborted')));
      req.end(init.body === undefined || init.body === null ? undefined : typeof init.body === 'string' ? init.body : Buffer.from(init.body));
    });
}

/** Connects with TLS; resolves with the socket once the handshake is done. */
function tlsConnect(port, ca, opts = {}) {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca, ALPNProtocols: ['http/1.1'], ...opts });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Writes `raw` on a connected TLS socket and collects the reply until the relay closes. */
function tlsExchange(sock, raw, { onData, ms = 15000 } = {}) {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => finish(false), ms);
    const finish = (closed) => {
      clearTimeout(t);
      resolve({ ...parseHttp(buf), text: buf.toString('utf8'), closed });
    };
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      onData?.(buf.toString('utf8'));
    });
    sock.on('error', () => {});
    sock.on('close', () => finish(true));
    sock.write(raw);
  });
}

function rawRequest(key, body) {
  return (
    `POST /v1/responses HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${key}\r\n` +
    `content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

describe('TLS on the client listener', { skip }, () => {
  let mock;
  let setup;
  let child;
  let port;
  let logFile;
  let live;
  let ca;
  let certs;
  const base = () => `https://127.0.0.1:${port}/v1`;
  const sdk = (seen = []) => new OpenAI({ apiKey: setup.key, baseURL: base(), maxRetries: 0, timeout: 20000, fetch: tlsFetch(ca.caPem, seen) });
  const subjectOfNewConnection = async () => {
    const s = await tlsConnect(port, ca.caPem);
    const cn = s.getPeerCertificate().subject?.CN;
    s.destroy();
    return cn;
  };
  const assertServes = async (ctx) => {
    const r = await sdk().responses.create({ model: 'gpt-5.5', input: `ok ${nonce()}` });
    assert.equal(r.output_text, 'Hello from mock', ctx);
  };

  before(async () => {
    ca = tlsFiles();
    ca.caPem = fs.readFileSync(ca.ca);
    const dir = tmpDir('relay-tls');
    certs = { first: makeCert(dir, ca, 'relay-first'), second: makeCert(dir, ca, 'relay-second') };
    live = { cert: path.join(dir, 'live.pem'), key: path.join(dir, 'live.key') };
    fs.copyFileSync(certs.first.cert, live.cert);
    fs.copyFileSync(certs.first.key, live.key);
    mock = await startMock({ tls: false });
    // startRelay sets up the data dir (tenant, key, account) over plain HTTP; serve again with TLS.
    setup = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }] });
    await setup.stop();
    port = await freePort();
    logFile = path.join(setup.dataDir, 'serve-tls.log');
    const out = fs.createWriteStream(logFile);
    child = spawn(RELAY_BIN, ['--data-dir', setup.dataDir, 'serve', '--listen', `127.0.0.1:${port}`], {
      env: { ...process.env, ...setup.serveEnv, CODEX_RELAY_SERVER_TLS_CERT_FILE: live.cert, CODEX_RELAY_SERVER_TLS_KEY_FILE: live.key, CODEX_RELAY_LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr.on('data', (d) => out.write(d));
    await waitForLine(child, /codex-relay listening on (https:\/\/\S+)/, 15000, 'relay serve (TLS)');
    child.stdout.on('data', (d) => out.write(d));
  });
  after(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    await mock?.stop();
  });

  it('the openai SDK gets a response over https, TLS 1.3 with ALPN http/1.1', async () => {
    const seen = [];
    const r = await sdk(seen).responses.create({ model: 'gpt-5.5', input: `hi ${nonce()}` });
    assert.equal(r.output_text, 'Hello from mock');
    assert.equal(seen[0].subject, 'relay-first');
    assert.equal(seen[0].protocol, 'TLSv1.3');
    assert.equal(seen[0].alpn, 'http/1.1');
  });

  it('the openai SDK streams over https', async () => {
    const stream = await sdk().responses.create({ model: 'gpt-5.5', input: `[[mock:paced:5:20]] ${nonce()}`, stream: true });
    const types = [];
    for await (const ev of stream) types.push(ev.type);
    assert.ok(types.filter((t) => t === 'response.output_text.delta').length >= 5, types.join(','));
    assert.equal(types.at(-1), 'response.completed');
  });

  it('the Codex CLI works over https with the test CA (SSL_CERT_FILE)', async () => {
    const run = await runCodex({ baseUrl: base(), key: setup.key, prompt: 'Say hello', env: { SSL_CERT_FILE: ca.ca } });
    const why = `codex exit ${run.code}; stderr: ${run.stderr.slice(-1500)}`;
    assert.equal(run.code, 0, why);
    assert.match(run.stdout, /Hello from mock/, why);
  });

  it('TLS 1.2 clients get an ECDHE AEAD suite; TLS 1.1 and plain HTTP are refused', async () => {
    const s = await tlsConnect(port, ca.caPem, { maxVersion: 'TLSv1.2' });
    const cipher = s.getCipher();
    s.destroy();
    assert.equal(cipher.version, 'TLSv1.2');
    assert.match(cipher.name, /^ECDHE-(ECDSA|RSA)-(AES\d+-GCM|CHACHA20-POLY1305)/);
    await assert.rejects(tlsConnect(port, ca.caPem, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' }));
    // A plain-HTTP request to the TLS port: the handshake fails, no HTTP answer.
    const reply = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      let got = '';
      c.on('data', (d) => (got += d.toString('latin1')));
      c.on('error', () => {});
      c.on('close', () => resolve(got));
      c.write('GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n');
    });
    assert.ok(!reply.startsWith('HTTP/'), `plain HTTP got an HTTP reply: ${reply.slice(0, 100)}`);
    await assertServes('after refused handshakes');
  });

  it('a connection that never handshakes is closed after header_timeout', async () => {
    const closed = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.on('error', () => {});
      const t = setTimeout(() => resolve(false), 5000);
      c.on('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    assert.ok(closed, 'the relay kept a silent connection open past header_timeout');
    await assertServes('after a silent connection');
  });

  it('a smuggling-shaped request over TLS gets 400 bad_request', async () => {
    const s = await tlsConnect(port, ca.caPem);
    const body = JSON.stringify({ model: 'gpt-5.5', input: 'x' });
    const raw = rawRequest(setup.key, body).replace('connection: close', 'transfer-encoding: chunked');
    const r = await tlsExchange(s, raw);
    assert.equal(r.status, 400, r.text.slice(0, 300));
    checkErrorModel(assert, r.body, { code: 'bad_request' }, 'CL+TE over TLS');
    s.destroy();
  });

  it('a TLS client hanging up mid-stream cancels the upstream request', async () => {
    const tag = nonce('tls-hangup');
    const s = await tlsConnect(port, ca.caPem);
    const body = JSON.stringify({ model: 'gpt-5.5', stream: true, input: `[[mock:paced:100:100]] ${tag}` });
    await tlsExchange(s, rawRequest(setup.key, body), {
      ms: 10000,
      onData: (text) => {
        if ((text.match(/response\.output_text\.delta/g) ?? []).length >= 4) s.destroy();
      },
    });
    const entry = await mock.waitFor((e) => e.last_user_text?.includes(tag) && e.closed_at_ms, 3000);
    assert.ok(entry, 'the upstream request was not closed within 3 s of the hang-up');
    assert.ok(entry.aborted, 'the upstream stream ran to completion instead of being cancelled');
    assert.ok(entry.events.length < 60, `the mock kept sending: ${entry.events.length} events`);
  });

  it('SIGHUP reloads the certificate: new connections see it, an open stream keeps going', async () => {
    const tag = nonce('reload');
    const s = await tlsConnect(port, ca.caPem);
    const openSubject = s.getPeerCertificate().subject?.CN;
    assert.equal(openSubject, 'relay-first');
    const body = JSON.stringify({ model: 'gpt-5.5', stream: true, input: `[[mock:paced:30:50]] ${tag}` });
    let reloaded = null;
    const done = tlsExchange(s, rawRequest(setup.key, body), {
      onData: (text) => {
        if (!reloaded && text.includes('response.output_text.delta')) {
          fs.copyFileSync(certs.second.cert, live.cert);
          fs.copyFileSync(certs.second.key, live.key);
          child.kill('SIGHUP');
          reloaded = pollUntil(async () => (await subjectOfNewConnection()) === 'relay-second', 5000);
        }
      },
    });
    const r = await done;
    assert.ok(reloaded, 'the stream never started');
    assert.ok(await reloaded, 'new connections never saw the reloaded certificate');
    assert.equal(r.status, 200);
    assert.ok(r.body.includes('response.completed'), `the open stream did not complete: ${r.body.slice(-300)}`);
    assert.equal((r.body.match(/event: response\.output_text\.delta/g) ?? []).length, 30);
    assert.equal(await subjectOfNewConnection(), 'relay-second');
    await assertServes('after the reload');
  });

  it('a bad certificate file on SIGHUP keeps the previous one and names the file in the log', async () => {
    const secret = `NOT-A-CERT-${randomBytes(6).toString('hex')}`;
    fs.writeFileSync(live.cert, `-----BEGIN CERTIFICATE-----\n${secret}\n-----END CERTIFICATE-----\n`);
    child.kill('SIGHUP');
    const logged = await pollUntil(() => fs.readFileSync(logFile, 'utf8').includes('TLS reload failed'), 5000);
    assert.ok(logged, 'no reload error in the log');
    const log = fs.readFileSync(logFile, 'utf8');
    assert.ok(log.includes(live.cert), 'the error does not name the file');
    assert.ok(!log.includes(secret), 'the log holds the file contents');
    assert.equal(await subjectOfNewConnection(), 'relay-second');
    await assertServes('after a bad reload');
    // A failed handshake was logged at debug, without secrets.
    assert.ok(log.includes('tls_handshake_failed'), 'failed handshakes are not logged at debug');
    assert.ok(!log.includes(setup.key), 'the relay key reached the log');
  });
});
