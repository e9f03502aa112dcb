#!/usr/bin/env node
// Mock OpenAI-compatible upstream for codex-relay's tests. Plain Node, no npm dependencies.
// Follows shared/codex-protocol.md (what Codex CLI 0.169.0 and the openai SDK 6.49.0 send and
// expect). Scenarios are chosen per request by a `[[mock:NAME[:ARG]]]` marker in the last user
// text; see README.md and scenarios.mjs.
//
//   node tests/mock-provider/server.mjs --host 127.0.0.1 --http-port 0 --https-port 0 \
//        --tls-cert cert.pem --tls-key key.pem --api-key SECRET [--models a,b,c]
//
// Prints one JSON line {"http":PORT,"https":PORT} on stdout once both listeners are up
// (https is null when no --tls-cert/--tls-key is given).

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { selectScenario, lastUserTextResponses, lastUserTextChat } from './scenarios.mjs';
import { httpFailure, nonStreamFailure, unauthorized, errorBody } from './errors.mjs';
import { streamSteps, nonStreamResponse } from './responses.mjs';
import { chatStreamSteps, chatNonStream, modelsList, embeddings } from './chat.mjs';
import { createAccounts, parseKeySpecs, sha8 } from './faults.mjs';

/** Wall-clock milliseconds with sub-ms resolution; comparable across processes on one host. */
export const nowMs = () => performance.timeOrigin + performance.now();

function parseArgs(argv) {
  const o = {
    host: '127.0.0.1',
    httpPort: 0,
    httpsPort: null,
    tlsCert: null,
    tlsKey: null,
    apiKeys: [],
    models: ['gpt-5.5', 'gpt-4o-mini', 'text-embedding-3-small'],
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case '--host': o.host = v(); break;
      case '--http-port': o.httpPort = Number(v()); break;
      case '--https-port': o.httpsPort = Number(v()); break;
      case '--tls-cert': o.tlsCert = v(); break;
      case '--tls-key': o.tlsKey = v(); break;
      case '--api-key': o.apiKeys.push(v()); break;
      case '--api-keys': o.apiKeys.push(...v().split(',').map((s) => s.trim()).filter(Boolean)); break;
      case '--models': o.models = v().split(',').map((s) => s.trim()).filter(Boolean); break;
      case '-h':
      case '--help':
        process.stdout.write(
          'usage: server.mjs [--host H] [--http-port P] [--https-port P --tls-cert C --tls-key K]\n' +
            '                  [--api-key [LABEL=]KEY]... [--api-keys [L1=]K1,[L2=]K2] [--models a,b]\n',
        );
        process.exit(0);
      // eslint-disable-next-line no-fallthrough
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  return o;
}

// The account-revealing headers every /v1 response carries; a relay must strip all of them
// except x-request-id / openai-processing-ms (which it may replace or keep).
function upstreamHeaders() {
  return {
    'x-request-id': `req_mock_${randomBytes(12).toString('hex')}`,
    'openai-processing-ms': String(10 + Math.floor(Math.random() * 40)),
    'openai-organization': 'org-mock-secret',
    'openai-project': 'proj_mock_secret',
    'openai-version': '2020-10-01',
    'set-cookie': '__cf_bm=mock; path=/',
    'x-ratelimit-limit-requests': '5000',
    'x-ratelimit-remaining-requests': '4999',
    'x-ratelimit-reset-requests': '12ms',
    'x-ratelimit-limit-tokens': '2000000',
    'x-ratelimit-remaining-tokens': '1999000',
    'x-ratelimit-reset-tokens': '30ms',
  };
}

/**
 * opts.apiKeys: ["KEY" | "LABEL=KEY" | {label, key}] (labels default to the index);
 * opts.apiKey: one key (the old single-key form). Neither: no auth.
 */
export function createMock(opts = {}) {
  const specs = [...(opts.apiKeys ?? []), ...(opts.apiKey != null ? [opts.apiKey] : [])];
  const accounts = createAccounts(
    specs.some((x) => typeof x === 'object')
      ? specs.map((x, i) => (typeof x === 'object' ? { label: String(x.label ?? i), key: x.key } : { label: String(i), key: x }))
      : parseKeySpecs(specs),
  );
  const models = opts.models ?? ['gpt-5.5', 'gpt-4o-mini', 'text-embedding-3-small'];
  let log = [];
  const bodies = new Map();
  let nextId = 1;
  // One entry per TCP connection accepted by either listener (see onConnection).
  let connections = [];
  let nextConnId = 1;

  function headerObject(req) {
    const h = {};
    const raw = req.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const k = raw[i].toLowerCase();
      h[k] = k in h ? `${h[k]}, ${raw[i + 1]}` : raw[i + 1];
    }
    return h;
  }

  function sendJson(res, status, obj, extraHeaders = {}) {
    const data = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, {
      ...upstreamHeaders(),
      ...extraHeaders,
      'content-type': 'application/json',
      'content-length': data.length,
    });
    res.end(data);
  }

  function sendFailure(res, f) {
    if (f.html) {
      const data = Buffer.from(f.html);
      res.writeHead(f.status, {
        ...upstreamHeaders(),
        ...(f.headers || {}),
        'content-type': 'text/html',
        'content-length': data.length,
      });
      res.end(data);
    } else {
      sendJson(res, f.status, f.json, f.headers || {});
    }
  }

  function sleep(ms, ex) {
    return new Promise((resolve) => {
      if (ex.closed) return resolve();
      const t = setTimeout(() => {
        ex.timers.delete(t);
        resolve();
      }, ms);
      ex.timers.add(t);
      ex.wake.add(resolve);
    });
  }

  /** Plays a list of steps as an SSE body. `fmt` is 'responses' (event: + data:) or 'chat'. */
  async function playSse(ex, steps, fmt) {
    const { res, entry } = ex;
    res.writeHead(200, {
      ...upstreamHeaders(),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
    });
    res.flushHeaders();
    entry.status = 200;
    let seq = 0;
    for (const step of steps) {
      if (ex.closed) return;
      if (step.sleep !== undefined) {
        await sleep(step.sleep, ex);
        continue;
      }
      if (step.destroy) {
        entry.destroyed_by_mock = true;
        res.socket?.destroy();
        res.destroy();
        return;
      }
      if (step.end) {
        res.end();
        return;
      }
      let text;
      let type;
      let s;
      if (step.raw !== undefined) {
        text = step.raw;
        type = step.type;
        s = seq++;
      } else if (fmt === 'responses') {
        const { type: t, ...rest } = step.event;
        s = seq++;
        const ev = { type: t, sequence_number: s, ...rest };
        type = t;
        text = `event: ${t}\ndata: ${JSON.stringify(ev)}\n\n`;
      } else {
        s = seq++;
        type = step.event.object || (step.event.error ? 'error' : 'data');
        text = `data: ${JSON.stringify(step.event)}\n\n`;
      }
      const flushed = res.write(text);
      entry.events.push({ seq: s, type, sent_at_ms: nowMs() });
      entry.last_write_at_ms = nowMs();
      if (!flushed) {
        // Honour backpressure like a real server: the relay's pace decides ours.
        entry.drain_waits++;
        await new Promise((resolve) => {
          const done = () => {
            ex.wake.delete(done);
            res.off('drain', done);
            resolve();
          };
          ex.wake.add(done);
          res.once('drain', done);
        });
      }
    }
    if (!res.writableEnded) res.end();
  }

  async function handleV1(ex, route, body) {
    const { req, res, entry } = ex;
    const kind =
      route === 'POST /v1/responses'
        ? 'responses'
        : route === 'POST /v1/chat/completions'
          ? 'chat'
          : route === 'POST /v1/embeddings'
            ? 'embeddings'
            : route === 'GET /v1/models'
              ? 'models'
              : null;
    if (!kind) {
      entry.scenario = 'unknown_route';
      return sendJson(
        res,
        404,
        errorBody(`Invalid URL (${req.method} ${entry.path})`, 'invalid_request_error', null),
      );
    }
    let sc = selectScenario(kind, body, entry.headers);
    entry.scenario = sc.arg !== null ? `${sc.name}:${sc.arg}` : sc.name;

    // A per-account fault wins over the marker (slow_first_byte only delays it).
    const fault = accounts.take(entry.account_label, entry.path);
    if (fault) {
      entry.fault = fault.arg !== null ? `${fault.fault}:${fault.arg}` : fault.fault;
      switch (fault.fault) {
        case 'timeout':
          entry.scenario = 'fault:timeout';
          // Never a status line: wait until the client gives up.
          await new Promise((resolve) => (ex.closed ? resolve() : ex.wake.add(resolve)));
          return;
        case 'slow_first_byte':
          await sleep(Math.max(0, fault.arg ?? 1000), ex);
          if (ex.closed) return;
          break;
        case 'http_500':
        case 'http_401':
          entry.scenario = `fault:${fault.fault}`;
          return sendFailure(res, httpFailure({ name: fault.fault, arg: null, args: [] }));
        case 'http_429': {
          const secs = fault.arg ?? 1;
          entry.scenario = `fault:http_429:${secs}`;
          return sendFailure(res, httpFailure({ name: 'http_429', arg: String(secs), args: [String(secs)] }));
        }
        case 'failed_before_output':
          entry.scenario = 'fault:failed_before_output';
          sc = { name: 'failed_server_error', arg: null, args: [] };
          if (!(body.stream === true && (kind === 'responses' || kind === 'chat'))) {
            return sendFailure(res, nonStreamFailure(sc));
          }
          break;
        default:
          break;
      }
    }

    if (sc.name === 'slow_headers') await sleep(Math.max(0, Number(sc.args[0]) || 0), ex);
    if (ex.closed) return;

    const f = httpFailure(sc);
    if (f) return sendFailure(res, f);

    if (kind === 'models') return sendJson(res, 200, modelsList(models));
    if (kind === 'embeddings') return sendJson(res, 200, embeddings(body));

    if (body.stream === true) {
      const steps = kind === 'responses' ? streamSteps(sc, body) : chatStreamSteps(sc, body);
      return playSse(ex, steps, kind === 'responses' ? 'responses' : 'chat');
    }
    const nf = nonStreamFailure(sc);
    if (nf) return sendFailure(res, nf);
    const obj = kind === 'responses' ? nonStreamResponse(sc, body) : chatNonStream(sc, body);
    const data = Buffer.from(JSON.stringify(obj));
    if (sc.name === 'cut_mid_stream' || sc.name === 'eof_before_completed') {
      const cut = sc.name === 'cut_mid_stream';
      res.writeHead(200, {
        ...upstreamHeaders(),
        'content-type': 'application/json',
        ...(cut ? { 'content-length': data.length } : {}),
      });
      res.write(data.subarray(0, Math.floor(data.length / 2)));
      if (cut) {
        await sleep(50, ex);
        entry.destroyed_by_mock = true;
        res.socket?.destroy();
      } else res.end();
      return;
    }
    return sendJson(res, 200, obj);
  }

  async function handle(req, res, scheme) {
    const url = new URL(req.url, 'http://mock.invalid');
    const path = url.pathname;

    if (path === '/__mock/log' && req.method === 'GET') {
      const withBodies = url.searchParams.get('bodies') === '1';
      const since = Number(url.searchParams.get('since') || 0);
      let out = since > 0 ? log.filter((e) => e.id >= since) : log;
      if (withBodies) out = out.map((e) => ({ ...e, body: bodies.get(e.id) ?? null }));
      const data = Buffer.from(JSON.stringify(out));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': data.length });
      return res.end(data);
    }
    if (path === '/__mock/reset' && req.method === 'POST') {
      req.resume();
      log = [];
      bodies.clear();
      accounts.clear();
      connections = [];
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"ok":true}');
    }
    if (path === '/__mock/faults') {
      const reply = (status, obj) => {
        const data = Buffer.from(JSON.stringify(obj));
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length });
        res.end(data);
      };
      if (req.method === 'GET') {
        req.resume();
        return reply(200, { faults: accounts.list(), accounts: accounts.labels(), next_id: nextId });
      }
      if (req.method === 'POST' || req.method === 'DELETE') {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        try {
          if (req.method === 'DELETE') accounts.clear();
          else {
            const spec = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
            for (const one of Array.isArray(spec) ? spec : [spec]) accounts.set(one);
          }
        } catch (err) {
          return reply(400, { error: String(err && err.message ? err.message : err) });
        }
        // next_id: the id the next logged request gets, to split the log at this moment.
        return reply(200, { ok: true, faults: accounts.list(), next_id: nextId });
      }
      req.resume();
      return reply(405, { error: 'GET, POST or DELETE' });
    }
    if (path === '/__mock/ip' && (req.method === 'GET' || req.method === 'HEAD')) {
      // The caller's address as seen by the mock (an echo endpoint for `egress verify`): plain
      // text, no newline; `?format=json` gives {"ip":"…","port":N,"scheme":"http"|"https"}.
      req.resume();
      const peer = peerOf(req.socket);
      const data = Buffer.from(
        url.searchParams.get('format') === 'json' ? JSON.stringify({ ip: peer.address, port: peer.port, scheme }) : peer.address ?? '',
      );
      res.writeHead(200, {
        'content-type': url.searchParams.get('format') === 'json' ? 'application/json' : 'text/plain; charset=utf-8',
        'content-length': data.length,
        'cache-control': 'no-store',
      });
      return res.end(req.method === 'HEAD' ? undefined : data);
    }
    if (path === '/__mock/connections' && req.method === 'GET') {
      req.resume();
      const since = Number(url.searchParams.get('since') || 0);
      const data = Buffer.from(JSON.stringify(since > 0 ? connections.filter((c) => c.id >= since) : connections));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': data.length });
      return res.end(data);
    }
    if (path === '/__mock/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"ok":true}');
    }

    const peer = peerOf(req.socket);
    const entry = {
      id: nextId++,
      scheme,
      peer: peer.address,
      peer_port: peer.port,
      method: req.method,
      path,
      url: req.url,
      http_version: req.httpVersion,
      headers: headerObject(req),
      raw_headers: req.rawHeaders.slice(),
      received_at_ms: nowMs(),
      body_bytes: 0,
      body_sha256: null,
      scenario: null,
      account_label: null,
      key_sha256: null,
      fault: null,
      model: null,
      prompt_cache_key: null,
      stream: null,
      last_user_text: null,
      function_call_outputs: [],
      status: null,
      events: [],
      closed_at_ms: null,
      finished: false,
      aborted: false,
      destroyed_by_mock: false,
      drain_waits: 0,
      last_write_at_ms: null,
    };
    log.push(entry);
    const ex = { req, res, entry, closed: false, timers: new Set(), wake: new Set() };
    res.on('close', () => {
      ex.closed = true;
      entry.closed_at_ms = nowMs();
      entry.finished = res.writableFinished;
      entry.aborted = !res.writableFinished && !entry.destroyed_by_mock;
      for (const t of ex.timers) clearTimeout(t);
      for (const w of ex.wake) w();
    });
    const origWriteHead = res.writeHead.bind(res);
    res.writeHead = (status, ...rest) => {
      entry.status = status;
      return origWriteHead(status, ...rest);
    };

    const chunks = [];
    for await (const c of req) chunks.push(c);
    const raw = Buffer.concat(chunks);
    entry.body_bytes = raw.length;
    entry.body_sha256 = createHash('sha256').update(raw).digest('hex');
    bodies.set(entry.id, raw.toString('utf8'));

    if (!path.startsWith('/v1/')) {
      entry.scenario = 'unknown_route';
      return sendJson(res, 404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null));
    }
    {
      const auth = entry.headers['authorization'] || '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : null;
      if (token !== null) entry.key_sha256 = sha8(token);
      const acc = accounts.authenticate(token);
      if (acc === null) {
        entry.scenario = 'unauthorized';
        const u = unauthorized(auth.replace(/^Bearer\s+/i, ''));
        return sendJson(res, u.status, u.json);
      }
      if (acc) entry.account_label = acc.label;
    }
    let body = {};
    if (req.method === 'POST') {
      try {
        body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
      } catch {
        entry.scenario = 'invalid_json';
        return sendJson(
          res,
          400,
          errorBody(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
            'invalid_request_error',
            null,
          ),
        );
      }
      if (!body || typeof body !== 'object') body = {};
      entry.model = typeof body.model === 'string' ? body.model : null;
      entry.stream = body.stream === true;
      if (typeof body.prompt_cache_key === 'string') entry.prompt_cache_key = body.prompt_cache_key.slice(0, 200);
      const lut = path === '/v1/chat/completions' ? lastUserTextChat(body) : lastUserTextResponses(body);
      entry.last_user_text = lut ? lut.slice(0, 2000) : null;
      if (Array.isArray(body.input)) {
        for (const it of body.input) {
          if (it && it.type === 'function_call_output') {
            entry.function_call_outputs.push(typeof it.output === 'string' ? it.output : JSON.stringify(it.output));
          }
        }
      }
    }
    return handleV1(ex, `${req.method} ${path}`, body);
  }

  const onRequest = (scheme) => (req, res) => {
    handle(req, res, scheme).catch((err) => {
      process.stderr.write(`mock: handler error: ${err && err.stack}\n`);
      if (!res.headersSent) {
        try {
          sendJson(res, 500, errorBody(`mock internal error: ${err}`, 'server_error', null));
        } catch {}
      } else res.destroy();
    });
  };

  /** Records a TCP connection accepted by the `scheme` listener (before any TLS handshake). */
  const onConnection = (scheme) => (sock) => {
    const peer = peerOf(sock);
    const c = { id: nextConnId++, scheme, peer: peer.address, peer_port: peer.port, opened_at_ms: nowMs(), closed_at_ms: null };
    connections.push(c);
    sock.once('close', () => {
      c.closed_at_ms = nowMs();
    });
  };

  return {
    onRequest,
    onConnection,
    getLog: () => log,
    getConnections: () => connections,
    accounts,
    reset: () => {
      log = [];
      bodies.clear();
      accounts.clear();
      connections = [];
    },
  };
}

/** The remote address of a socket, IPv4-mapped IPv6 (`::ffff:1.2.3.4`) normalised to IPv4. */
export function peerOf(sock) {
  let address = sock?.remoteAddress ?? null;
  if (address && address.startsWith('::ffff:') && address.includes('.')) address = address.slice(7);
  return { address, port: sock?.remotePort ?? null };
}

function listen(server, host, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address().port));
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const mock = createMock({ apiKeys: o.apiKeys, models: o.models });
  const servers = [];
  const sockets = new Set();
  const track = (s) => {
    s.setNoDelay(true);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  };

  const httpServer = http.createServer({ noDelay: true, keepAlive: true }, mock.onRequest('http'));
  httpServer.on('connection', track);
  httpServer.on('connection', mock.onConnection('http'));
  httpServer.keepAliveTimeout = 5000;
  servers.push(httpServer);
  const out = { http: await listen(httpServer, o.host, o.httpPort), https: null };

  if (o.httpsPort !== null && o.tlsCert && o.tlsKey) {
    const httpsServer = https.createServer(
      { cert: fs.readFileSync(o.tlsCert), key: fs.readFileSync(o.tlsKey), noDelay: true, keepAlive: true },
      mock.onRequest('https'),
    );
    httpsServer.on('connection', track);
    httpsServer.on('connection', mock.onConnection('https'));
    httpsServer.keepAliveTimeout = 5000;
    servers.push(httpsServer);
    out.https = await listen(httpsServer, o.host, o.httpsPort);
  }

  const stop = () => {
    for (const s of servers) s.close();
    for (const s of sockets) s.destroy();
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(JSON.stringify(out) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/server.mjs')) {
  main().catch((err) => {
    process.stderr.write(`mock: ${err && err.stack ? err.stack : err}\n`);
    process.exit(2);
  });
}
