// The cluster topology fault test (issue 7). Started by tests/cluster/run.sh inside the client
// namespace, after it has built the namespaces and started PostgreSQL and Redis; see run.sh for
// the topology and docs/testing-cluster.md for what is checked and why.
//
// It starts the mock provider (TLS), four egress proxies (deploy/egress configs, rendered by the
// e2e harness) and the relay nodes a1 (region a) and b1 (region b), each with `ip netns exec`
// in its namespace, sets the deployment up with the admin CLI against PostgreSQL, then runs:
//
//   baseline  streaming and non-streaming /v1/responses (raw HTTP and the openai SDK) on both
//             nodes; each upstream request left through its account's egress in the node's region
//   config    a new key (CLI) until b1 accepts it, polled every 20 ms: CONFIG_PROPAGATION_MS
//   kill-a1   load on both nodes, SIGKILL a1: b1 keeps serving; a1 restarted (its journal must
//             reach the store)
//   redis-cut Redis's link down: both nodes keep serving (limits fail open); link up again
//   pg-down   PostgreSQL stopped: both nodes keep serving on their last snapshot; started again
//   cooling   acct-1 fails on a1 (mock fault): b1's /metrics shows acct-1 cooling (shared through
//             Redis): SHARED_COOLING_MS
//   records   every completed request's record in PostgreSQL's usage_records, exactly once:
//             CLUSTER_RECORDS sent=N completed=C recorded_of_completed=R missing=M duplicates=D
//   pinning   every upstream request and connection the mock saw came from an egress, the one of
//             its account, in the region of the node that sent it
//
// One line per phase starts with CLUSTER_PHASE; failed checks print "CLUSTER_CHECK FAIL ..."; the
// last line is CLUSTER_RESULT PASS or FAIL (exit status 0 or 1).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mockAdmin, renderEgressConfig, sleep, nowMs, waitForLine } from '../e2e/lib/harness.mjs';
import OpenAI from '../e2e/node_modules/openai/index.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(here, '..', '..');
const MOCK_SERVER = path.join(REPO_ROOT, 'tests', 'mock-provider', 'server.mjs');

const env = process.env;
const need = (k) => {
  if (!env[k]) throw new Error(`cluster.mjs: ${k} is not set (start it through tests/cluster/run.sh)`);
  return env[k];
};
const RELAY_BIN = need('RELAY_BIN');
const WORK = need('CLUSTER_WORK');
const PREFIX = need('CLUSTER_PREFIX');
const STORE = env.CLUSTER_STORE || 'postgres';
const NS = {
  pg: need('CLUSTER_NS_PG'),
  redis: need('CLUSTER_NS_REDIS'),
  provider: need('CLUSTER_NS_PROVIDER'),
  a: need('CLUSTER_NS_REGION_A'),
  b: need('CLUSTER_NS_REGION_B'),
};
const PG_URL = env.CLUSTER_PG_URL || '';
const PG_DIR = env.CLUSTER_PG_DIR || '';
const PG_BIN = env.CLUSTER_PG_BIN || '/usr/lib/postgresql/15/bin';
const REDIS_URL = need('CLUSTER_REDIS_URL');
if (STORE === 'postgres' && !PG_URL) throw new Error('cluster.mjs: CLUSTER_PG_URL is not set');

const ADDR = { pg: '10.77.0.2', redis: '10.77.0.3', provider: '10.77.0.4', client: '10.77.0.30' };
const REDIS_PORT = Number(new URL(REDIS_URL).port);
const MOCK_HTTP = 8080; // its /__mock API (plain http, reached from the client namespace)
const MOCK_HTTPS = 8443; // what the accounts and the egresses use
const ACCOUNTS = ['acct-1', 'acct-2'];
const TENANT = 'team-c';
/** Each account has one egress per region, never shared (pinned). */
const EGRESSES = [
  { name: 'acct-1-a', account: 'acct-1', region: 'a', ns: 'a', kind: 'tinyproxy', ip: '10.77.0.11', port: 8888 },
  { name: 'acct-2-a', account: 'acct-2', region: 'a', ns: 'a', kind: 'tinyproxy', ip: '10.77.0.12', port: 8888 },
  { name: 'acct-1-b', account: 'acct-1', region: 'b', ns: 'b', kind: 'dante', ip: '10.77.0.21', port: 1080 },
  { name: 'acct-2-b', account: 'acct-2', region: 'b', ns: 'b', kind: 'dante', ip: '10.77.0.22', port: 1080 },
].map((e) => ({ ...e, url: `${e.kind === 'dante' ? 'socks5h' : 'http'}://${e.ip}:${e.port}` }));
const NODES = {
  a1: { name: 'a1', region: 'a', ns: 'a', ip: '10.77.0.10' },
  b1: { name: 'b1', region: 'b', ns: 'b', ip: '10.77.0.20' },
};
for (const n of Object.values(NODES)) {
  n.url = `http://${n.ip}:8080`;
  n.metricsUrl = `http://${n.ip}:9464/metrics`;
}
// Load: workers per node, and a pause between one worker's requests (a 2-core machine runs
// everything here).
const WORKERS = Number(env.CLUSTER_WORKERS || 3);
const PAUSE_MS = Number(env.CLUSTER_PAUSE_MS || 10);
const PHASE_MS = Number(env.CLUSTER_PHASE_MS || 4000);

// ---------------------------------------------------------------- checks and output

const failures = [];
function check(ok, what) {
  if (!ok) {
    failures.push(what);
    console.log(`CLUSTER_CHECK FAIL ${what}`);
  }
  return ok;
}
const phaseLine = (name, ok, detail) => console.log(`CLUSTER_PHASE ${name}: ${ok ? 'ok' : 'FAIL'}; ${detail}`);
const t0Run = Date.now();
const elapsed = () => `${((Date.now() - t0Run) / 1000).toFixed(1)}s`;
const info = (msg) => console.log(`cluster [${elapsed()}]: ${msg}`);

// ---------------------------------------------------------------- processes

const procs = new Set();
process.on('exit', () => {
  for (const c of procs) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
});

/**
 * Runs `cmd args` in namespace `ns` (ip netns exec, which execs it: the child's pid is the
 * command's), its stdout and stderr appended to `log`.
 */
function nsSpawn(ns, cmd, args, { env: extra = {}, log }) {
  const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
    env: { ...process.env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = fs.createWriteStream(log, { flags: 'a' });
  child.stdout.on('data', (d) => out.write(d));
  child.stderr.on('data', (d) => out.write(d));
  child.on('close', () => out.end());
  procs.add(child);
  child.on('exit', () => procs.delete(child));
  return child;
}

const running = (c) => c && c.exitCode === null && c.signalCode === null;

async function stopChild(child, sig = 'SIGTERM', ms = 3000) {
  if (!running(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(sig);
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(t);
}

function tcpOpen(host, port, ms = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, ms);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

async function waitTcp(host, port, ms, what, child = null) {
  const end = Date.now() + ms;
  for (;;) {
    if (child && !running(child)) throw new Error(`${what} exited before it listened`);
    if (await tcpOpen(host, port)) return;
    if (Date.now() > end) throw new Error(`${what} not listening on ${host}:${port} after ${ms} ms`);
    await sleep(50);
  }
}

/** Runs a command here (client namespace); returns {code, stdout, stderr}. */
function run(cmd, args, { env: extra = {}, timeout = 30000 } = {}) {
  const r = spawnSync(cmd, args, { env: { ...process.env, ...extra }, encoding: 'utf8', timeout });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}
function runOk(cmd, args, opts) {
  const r = run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.code}): ${r.stderr.trim()}`);
  return r.stdout.trim();
}

// ---------------------------------------------------------------- mock provider

const mockKeys = Object.fromEntries(ACCOUNTS.map((a) => [a, `sk-${a}-${randomBytes(8).toString('hex')}`]));
const mockBase = `http://${ADDR.provider}:${MOCK_HTTP}`;
let mockChild = null;

async function startMock() {
  const tls = path.join(WORK, 'tls');
  const args = [MOCK_SERVER, '--host', ADDR.provider, '--http-port', String(MOCK_HTTP), '--https-port', String(MOCK_HTTPS)];
  args.push('--tls-cert', path.join(tls, 'server.pem'), '--tls-key', path.join(tls, 'server.key'));
  for (const a of ACCOUNTS) args.push('--api-key', `${a}=${mockKeys[a]}`);
  mockChild = nsSpawn(NS.provider, process.execPath, args, { log: path.join(WORK, 'mock.log') });
  await waitForLine(mockChild, /^\{.*"http".*\}$/, 10000, 'mock provider', { stderr: true });
}

const mockApi = (method, pathname, body) => mockAdmin(mockBase, method, pathname, body);

// ---------------------------------------------------------------- egress proxies

const egressChildren = new Map();

async function startEgress(e) {
  const dir = path.join(WORK, `egress-${e.name}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.chmodSync(dir, 0o777); // the daemons drop root for their own users
  const { configFile } = renderEgressConfig(e.kind, {
    dir,
    listen: e.ip,
    port: e.port,
    outgoing: e.ip,
    relays: [NODES.a1.ip, NODES.b1.ip],
    target: { host: ADDR.provider, port: MOCK_HTTPS },
  });
  const bin = e.kind === 'dante' ? '/usr/sbin/danted' : 'tinyproxy';
  const args = e.kind === 'dante' ? ['-f', configFile, '-p', path.join(dir, 'danted.pid')] : ['-d', '-c', configFile];
  const child = nsSpawn(NS[e.ns], bin, args, { log: path.join(dir, 'out.log') });
  egressChildren.set(e.name, child);
  await waitTcp(e.ip, e.port, 10000, `${e.kind} ${e.name}`, child);
}

/**
 * The plumbing alone, before any relay: from each region's relay address, through each egress
 * (also the other region's: a node falls back to them), the mock's echo endpoint must see the
 * egress's own address.
 */
function checkEgressPlumbing() {
  const ca = path.join(WORK, 'tls', 'ca.pem');
  for (const node of Object.values(NODES)) {
    for (const e of EGRESSES) {
      const r = run('ip', [
        'netns', 'exec', NS[node.ns], 'curl', '-sS', '--max-time', '5', '--interface', node.ip, '-x', e.url, '--cacert', ca,
        `https://${ADDR.provider}:${MOCK_HTTPS}/__mock/ip`,
      ]);
      if (r.code !== 0 || r.stdout.trim() !== e.ip) {
        throw new Error(`from ${node.ip} through ${e.name} (${e.url}) the mock saw ${JSON.stringify(r.stdout)} (curl ${r.code}: ${r.stderr.trim()}), want ${e.ip}`);
      }
    }
  }
}

// ---------------------------------------------------------------- the relay: CLI and nodes

const masterKeyFile = path.join(WORK, 'master.key');
const sharedSqliteDir = path.join(WORK, 'shared-data'); // CLUSTER_STORE=sqlite only

function storeToml(dataDir) {
  const lines = ['[store]', `data_dir = "${STORE === 'sqlite' ? sharedSqliteDir : dataDir}"`, `master_key_file = "${masterKeyFile}"`];
  if (STORE === 'postgres') lines.push('backend = "postgres"', `postgres_url = "${PG_URL}"`);
  return lines.join('\n');
}

const adminConfig = path.join(WORK, 'admin.toml');
const cliEnv = Object.fromEntries(ACCOUNTS.map((a) => [`MOCK_KEY_${a.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`, mockKeys[a]]));

function cli(args) {
  return runOk(RELAY_BIN, ['--config', adminConfig, ...args], { env: cliEnv });
}

function writeNodeConfig(node) {
  node.dataDir = path.join(WORK, `node-${node.name}`);
  fs.mkdirSync(node.dataDir, { recursive: true, mode: 0o700 });
  node.config = path.join(node.dataDir, 'relay.toml');
  node.log = path.join(node.dataDir, 'serve.log');
  const toml = [
    '[server]',
    `listen = "${node.ip}:8080"`,
    `region = "${node.region}"`,
    `node = "${node.name}"`,
    '',
    storeToml(node.dataDir),
    '',
    '[redis]',
    `url = "${REDIS_URL}"`,
    `key_prefix = "${PREFIX}:"`,
    'failure_mode = "open"',
    '',
    '[admin]',
    `listen = "${node.ip}:9464"`,
    '',
    '[pool]',
    // Long enough to be seen on the other node, short enough not to matter afterwards.
    'server_error_base_ms = 5000',
    'server_error_max_ms = 10000',
    '',
  ].join('\n');
  fs.writeFileSync(node.config, toml);
}

async function startNode(node) {
  const t0 = nowMs();
  node.child = nsSpawn(NS[node.ns], RELAY_BIN, ['--config', node.config, 'serve'], { log: node.log });
  await waitForLine(node.child, /codex-relay listening on (http:\/\/\S+)/, 20000, `relay ${node.name}`, { stderr: true });
  const comm = fs.readFileSync(`/proc/${node.child.pid}/comm`, 'utf8').trim();
  if (!comm.startsWith('codex-relay')) throw new Error(`pid ${node.child.pid} of node ${node.name} is ${comm}, not the relay`);
  const h = await httpRequest(node, '/healthz', { method: 'GET' });
  if (h.status !== 200) throw new Error(`${node.name} /healthz answered ${h.status}`);
  return nowMs() - t0;
}

async function metrics(node) {
  try {
    const r = await fetch(node.metricsUrl, { signal: AbortSignal.timeout(2000) });
    return await r.text();
  } catch {
    return '';
  }
}

/** The value of the sample `name{labels}` (labels as written, in order), or null. */
function sample(text, name, labels = {}) {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const ok = Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`));
    if (ok) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}
/** The sum of every sample of `name` (all label sets). */
function sampleSum(text, name) {
  let s = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) s += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return s;
}

async function waitEgressesUp(node, ms = 15000) {
  const end = Date.now() + ms;
  let text = '';
  for (;;) {
    text = await metrics(node);
    const up = EGRESSES.filter((e) => sample(text, 'codex_relay_egress_state', { egress: e.name, state: 'up' }) === 1);
    if (up.length === EGRESSES.length) return;
    if (Date.now() > end) {
      throw new Error(`${node.name}: egresses up after ${ms} ms: ${up.map((e) => e.name).join(',') || 'none'}`);
    }
    await sleep(200);
  }
}

// ---------------------------------------------------------------- requests

let relayKey = null;

/**
 * One HTTP request to a node on a fresh connection (as Codex makes them: no keep-alive race
 * with a node that restarts). Returns {status, headers, text} or {error}.
 */
function httpRequest(node, pathname, { method = 'POST', headers = {}, body, timeoutMs = 20000 } = {}) {
  return new Promise((resolve) => {
    const u = new URL(pathname, node.url);
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method, headers, agent: false, timeout: timeoutMs },
      (res) => {
        const chunks = [];
        res.on('data', (d) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => resolve({ status: res.statusCode, error: err.code || String(err), text: Buffer.concat(chunks).toString('utf8') }));
        res.on('aborted', () => resolve({ status: res.statusCode, error: 'aborted', text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: null, error: err.code || err.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** Every request of the scenario with our id: id -> {node, phase, stream, ok, status, error}. */
const ledger = new Map();

function completeResponse(stream, text) {
  if (stream) return text.includes('Hello from mock') && text.includes('response.completed');
  try {
    return JSON.parse(text).output?.at(-1)?.content?.[0]?.text === 'Hello from mock';
  } catch {
    return false;
  }
}

/**
 * POST /v1/responses on `node` with our request id `PREFIX-phase-node-i` (the relay echoes it
 * and records it) and the marker `PREFIX phase node i` in the input (the mock logs it).
 */
async function respond(node, phase, i, stream) {
  const id = `${PREFIX}-${phase}-${node.name}-${i}`;
  const input = `${PREFIX} ${phase} ${node.name} ${i}`;
  const entry = { node: node.name, phase, stream, ok: false, status: null, error: null };
  ledger.set(id, entry);
  const t0 = nowMs();
  const r = await httpRequest(node, '/v1/responses', {
    headers: { authorization: `Bearer ${relayKey}`, 'content-type': 'application/json', 'x-request-id': id },
    body: JSON.stringify({ model: 'gpt-5.5', input, stream }),
  });
  entry.ms = nowMs() - t0;
  entry.status = r.status;
  entry.error = r.error ?? null;
  entry.ok = !r.error && r.status === 200 && completeResponse(stream, r.text);
  if (entry.ok && r.headers['x-request-id'] !== id) {
    entry.ok = false;
    entry.error = `x-request-id ${r.headers['x-request-id']}, want ${id}`;
  }
  if (!entry.ok && !entry.error) entry.error = `status ${r.status}: ${(r.text || '').slice(0, 200)}`;
  return { id, ...entry };
}

/** Workers sending to `node` until stopped; every other request streamed. */
function startLoad(node, phase, { workers = WORKERS } = {}) {
  const st = { node: node.name, phase, sent: 0, ok: 0, failed: [], ms: [] };
  let stopped = false;
  let next = 0;
  const worker = async () => {
    while (!stopped) {
      const i = next++;
      const r = await respond(node, phase, i, i % 2 === 0);
      st.sent++;
      if (r.ok) {
        st.ok++;
        st.ms.push(r.ms);
      } else st.failed.push(r);
      if (PAUSE_MS) await sleep(PAUSE_MS);
    }
  };
  const all = Promise.all(Array.from({ length: workers }, worker));
  return {
    st,
    stop: async () => {
      stopped = true;
      await all;
      return st;
    },
  };
}

const pct = (arr, p) => {
  if (!arr.length) return NaN;
  const s = [...arr].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const fmtLoad = (st) =>
  `${st.node} ok=${st.ok}/${st.sent} p50=${Math.round(pct(st.ms, 50))}ms max=${Math.round(Math.max(0, ...st.ms))}ms` +
  (st.failed.length ? ` failed=${st.failed.length} (first: ${st.failed[0].id}: ${st.failed[0].error})` : '');

async function loadFor(nodes, phase, ms) {
  const loads = nodes.map((n) => startLoad(n, phase));
  await sleep(ms);
  return Promise.all(loads.map((l) => l.stop()));
}

// ---------------------------------------------------------------- records in the store

function recordCounts() {
  const q = `SELECT request_id, count(*), min(node), min(region) FROM usage_records WHERE request_id LIKE '${PREFIX}-%' GROUP BY request_id`;
  let r;
  if (STORE === 'postgres') r = run(path.join(PG_BIN, 'psql'), ['-X', '-At', '-F', ' ', '-d', PG_URL, '-c', q], { timeout: 10000 });
  else r = run('sqlite3', ['-separator', ' ', path.join(sharedSqliteDir, 'relay.db'), q], { timeout: 10000 });
  if (r.code !== 0) return { error: r.stderr.trim() };
  const counts = new Map();
  const where = new Map();
  for (const line of r.stdout.split('\n')) {
    const [id, n, node, region] = line.trim().split(' ');
    if (!id) continue;
    counts.set(id, Number(n));
    where.set(id, { node, region });
  }
  return { counts, where };
}

function pgFixture(cmd) {
  return run(
    'ip',
    ['netns', 'exec', NS.pg, path.join(REPO_ROOT, 'scripts', 'test-postgres.sh'), cmd, PG_DIR],
    { env: { TEST_FIXTURE_ADDR: ADDR.pg, TEST_FIXTURE_PORT: String(new URL(PG_URL).port), TEST_PG_ALLOW_CIDR: '10.77.0.0/24' }, timeout: 60000 },
  );
}

// ---------------------------------------------------------------- phases

async function setup() {
  info(`store ${STORE}; redis ${REDIS_URL}${STORE === 'postgres' ? `; postgres ${PG_URL}` : ''}`);
  await startMock();
  for (const e of EGRESSES) await startEgress(e);
  checkEgressPlumbing();
  info('mock provider and 4 egresses up; every egress reaches the mock from both regions with its own address');

  fs.writeFileSync(masterKeyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  if (STORE === 'sqlite') fs.mkdirSync(sharedSqliteDir, { recursive: true, mode: 0o700 });
  const adminDir = path.join(WORK, 'admin-data');
  fs.writeFileSync(adminConfig, `${storeToml(adminDir)}\n`);
  const help = run(RELAY_BIN, ['--help']).stdout;
  if (/^\s+migrate\b/m.test(help)) cli(['migrate']);
  cli(['tenant', 'add', TENANT, '--rps', '1000', '--rpm', '60000', '--concurrency', '64']);
  relayKey = cli(['key', 'add', TENANT]);
  if (!/^crk_\S+$/.test(relayKey)) throw new Error(`key add printed ${JSON.stringify(relayKey)}`);
  const ca = path.join(WORK, 'tls', 'ca.pem');
  for (const a of ACCOUNTS) {
    const v = `MOCK_KEY_${a.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    cli(['account', 'add', a, '--base-url', `https://${ADDR.provider}:${MOCK_HTTPS}/v1`, '--api-key-env', v, '--ca-file', ca]);
  }
  for (const e of EGRESSES) cli(['egress', 'add', e.name, '--url', e.url, '--account', e.account, '--region', e.region]);
  info(`tenant ${TENANT}, its key, ${ACCOUNTS.length} accounts and ${EGRESSES.length} egresses added with the CLI`);

  for (const node of Object.values(NODES)) {
    writeNodeConfig(node);
    const ms = await startNode(node);
    info(`node ${node.name} (region ${node.region}) listening on ${node.url} after ${Math.round(ms)} ms`);
  }
  for (const node of Object.values(NODES)) await waitEgressesUp(node);
}

async function phaseBaseline() {
  const results = [];
  for (const node of Object.values(NODES)) {
    // Raw HTTP, 16 per node, every other one streamed, 4 at a time.
    for (let i = 0; i < 16; i += 4) {
      results.push(...(await Promise.all([0, 1, 2, 3].map((k) => respond(node, 'base', i + k, (i + k) % 2 === 0)))));
    }
    // The official SDK, streaming and not.
    const client = new OpenAI({ baseURL: `${node.url}/v1`, apiKey: relayKey, maxRetries: 0, timeout: 20000 });
    for (const stream of [false, true]) {
      const id = `${PREFIX}-base-${node.name}-sdk${stream ? 's' : 'n'}`;
      const entry = { node: node.name, phase: 'base', stream, ok: false, status: null, error: null };
      ledger.set(id, entry);
      try {
        const { data, response } = await client.responses
          .create({ model: 'gpt-5.5', input: `${PREFIX} base ${node.name} sdk-${stream}`, stream }, { headers: { 'x-request-id': id } })
          .withResponse();
        entry.status = response.status;
        let text = '';
        let completed = false;
        if (stream) {
          for await (const ev of data) {
            if (ev.type === 'response.output_text.delta') text += ev.delta;
            if (ev.type === 'response.completed') completed = true;
          }
        } else {
          text = data.output_text;
          completed = data.status === 'completed';
        }
        entry.ok = completed && text === 'Hello from mock' && response.headers.get('x-request-id') === id;
        if (!entry.ok) entry.error = `sdk: completed=${completed} text=${JSON.stringify(text)} id=${response.headers.get('x-request-id')}`;
      } catch (err) {
        entry.error = `sdk: ${err.message}`;
      }
      results.push({ id, ...entry });
    }
  }
  const bad = results.filter((r) => !r.ok);
  check(bad.length === 0, `baseline: ${bad.length} of ${results.length} requests failed: ${bad.slice(0, 3).map((r) => `${r.id} ${r.error}`).join('; ')}`);
  // Which egress each took (the mock's view): the node's region's egress of the account.
  const log = await mockApi('GET', `/__mock/log`);
  const byEgress = {};
  let wrong = 0;
  for (const e of log) {
    const m = new RegExp(`^${PREFIX} base (a1|b1) `).exec(e.last_user_text || '');
    if (!m) continue;
    const want = EGRESSES.find((x) => x.account === e.account_label && x.region === NODES[m[1]].region);
    const got = EGRESSES.find((x) => x.ip === e.peer);
    byEgress[got?.name ?? e.peer] = (byEgress[got?.name ?? e.peer] || 0) + 1;
    if (!want || e.peer !== want.ip) wrong++;
  }
  const seen = Object.values(byEgress).reduce((a, b) => a + b, 0);
  check(seen >= results.length, `baseline: the mock saw ${seen} of the ${results.length} requests`);
  check(wrong === 0, `baseline: ${wrong} requests left through another egress than their account's in the node's region`);
  phaseLine(
    'baseline',
    bad.length === 0 && wrong === 0 && seen >= results.length,
    `${results.length - bad.length}/${results.length} ok (raw HTTP and openai SDK, streaming and not, both nodes); egresses used: ${JSON.stringify(byEgress)}`,
  );
}

/**
 * Adds a key with the CLI and polls `nodes` every 20 ms (with a body that is not JSON: a known
 * key gets 400, after identify, and nothing goes upstream) until each accepts it, at most
 * `ms` after the CLI returned. Returns {cliMs, byNode: {name: ms | null}, last: {name: status}}.
 */
async function measurePropagation(nodes, ms = 5000) {
  const tCli0 = nowMs();
  const newKey = cli(['key', 'add', TENANT]);
  const tCli = nowMs();
  const byNode = {};
  const last = {};
  await Promise.all(
    nodes.map(async (node) => {
      byNode[node.name] = null;
      for (;;) {
        const r = await httpRequest(node, '/v1/responses', {
          headers: { authorization: `Bearer ${newKey}`, 'content-type': 'application/json' },
          body: '{not json',
          timeoutMs: 2000,
        });
        last[node.name] = r.status ?? r.error;
        if (r.status !== null && r.status !== 401) {
          byNode[node.name] = Math.round(nowMs() - tCli);
          return;
        }
        if (nowMs() - tCli > ms) return;
        await sleep(20);
      }
    }),
  );
  return { cliMs: Math.round(tCli - tCli0), byNode, last };
}

async function phaseConfig() {
  const p = await measurePropagation([NODES.b1, NODES.a1]);
  const ms = p.byNode.b1;
  console.log(`CONFIG_PROPAGATION_MS=${ms ?? 'timeout'}`);
  let ok = check(ms !== null && ms < 5000, `config: b1 did not accept the new key within 5000 ms (last answer ${p.last.b1})`);
  ok = check(p.last.b1 === 400, `config: b1 answered the not-JSON probe with ${p.last.b1}, want 400`) && ok;
  ok = check(p.byNode.a1 !== null && p.last.a1 === 400, `config: a1 answered the new key with ${p.last.a1}, want 400`) && ok;
  phaseLine('config', ok, `new key (CLI ${p.cliMs} ms) accepted by b1 ${ms ?? '-'} ms after the CLI returned, by a1 after ${p.byNode.a1 ?? '-'} ms (polled every 20 ms)`);
}

async function phaseKill() {
  const a1 = NODES.a1;
  const b1 = NODES.b1;
  const la = startLoad(a1, 'kill');
  const lb = startLoad(b1, 'kill');
  await sleep(1500);
  const tKill = nowMs();
  a1.child.kill('SIGKILL');
  await new Promise((r) => (running(a1.child) ? a1.child.once('exit', r) : r()));
  // For the records phase: what a1's journal held at the kill (a record missing later was then
  // either never written, or written and not delivered).
  try {
    fs.cpSync(path.join(a1.dataDir, 'journal'), path.join(a1.dataDir, 'journal-at-kill'), { recursive: true });
  } catch {}
  // a1's workers see their in-flight requests cut; they stop here, b1's go on.
  const sa = await la.stop();
  await sleep(2500);
  const sb = await lb.stop();
  check(sb.failed.length === 0 && sb.ok > 0, `kill-a1: b1 ${fmtLoad(sb)}`);
  check(sa.ok > 0, `kill-a1: a1 served nothing before the kill`);
  // Restart a1 on the same data dir: it must come up and deliver its journal.
  const down = Math.round(nowMs() - tKill);
  let restartMs = null;
  try {
    restartMs = Math.round(await startNode(a1));
    await waitEgressesUp(a1);
  } catch (err) {
    check(false, `kill-a1: a1 did not restart: ${err.message}`);
  }
  let after = null;
  if (restartMs !== null) {
    after = await loadFor([a1], 'kill-after', 1000);
    check(after[0].failed.length === 0 && after[0].ok > 0, `kill-a1: a1 after its restart ${fmtLoad(after[0])}`);
  }
  const ok = sb.failed.length === 0 && sb.ok > 0 && restartMs !== null && after?.[0].failed.length === 0;
  phaseLine(
    'kill-a1',
    ok,
    `during the kill: ${fmtLoad(sb)}; a1 before the kill ok=${sa.ok}, cut in flight=${sa.failed.length}; a1 down ${down} ms, restarted in ${restartMs ?? '-'} ms` +
      (after ? `, then ${fmtLoad(after[0])}` : ''),
  );
}

async function phaseRedisCut() {
  const before = {};
  for (const n of Object.values(NODES)) before[n.name] = sampleSum(await metrics(n), 'codex_relay_limits_fail_open_calls_total');
  runOk('ip', ['-n', NS.redis, 'link', 'set', 'eth0', 'down']);
  let restored = false;
  try {
    check(!(await tcpOpen(ADDR.redis, REDIS_PORT, 500)), 'redis-cut: Redis still reachable with its link down');
    const st = await loadFor(Object.values(NODES), 'redis', PHASE_MS);
    const failOpen = {};
    for (const n of Object.values(NODES)) failOpen[n.name] = sampleSum(await metrics(n), 'codex_relay_limits_fail_open_calls_total') - before[n.name];
    runOk('ip', ['-n', NS.redis, 'link', 'set', 'eth0', 'up']);
    restored = true;
    for (const s of st) check(s.failed.length === 0 && s.ok > 0, `redis-cut: ${fmtLoad(s)}`);
    for (const [n, v] of Object.entries(failOpen)) check(v > 0, `redis-cut: ${n} answered no limit call locally (codex_relay_limits_fail_open_calls_total +${v}): was Redis used at all?`);
    const t = nowMs();
    await waitTcp(ADDR.redis, REDIS_PORT, 10000, 'redis after its link came back');
    const back = Math.round(nowMs() - t);
    await sleep(1000);
    phaseLine(
      'redis-cut',
      st.every((s) => s.failed.length === 0 && s.ok > 0) && Object.values(failOpen).every((v) => v > 0),
      `link down ${PHASE_MS} ms: ${st.map(fmtLoad).join('; ')}; limit calls answered locally ${JSON.stringify(failOpen)}; Redis reachable again ${back} ms after link up`,
    );
  } finally {
    if (!restored) run('ip', ['-n', NS.redis, 'link', 'set', 'eth0', 'up']);
  }
}

async function phasePgDown() {
  if (STORE !== 'postgres') {
    phaseLine('pg-down', true, 'skipped (CLUSTER_STORE=sqlite)');
    return;
  }
  const stop = pgFixture('stop');
  if (!check(stop.code === 0, `pg-down: stopping PostgreSQL failed: ${stop.stderr}`)) return;
  let started = false;
  try {
    check(!(await tcpOpen(ADDR.pg, Number(new URL(PG_URL).port), 500)), 'pg-down: PostgreSQL still accepts connections');
    const st = await loadFor(Object.values(NODES), 'pg', PHASE_MS);
    const t = nowMs();
    const start = pgFixture('start');
    started = start.code === 0;
    check(started, `pg-down: starting PostgreSQL again failed: ${start.stderr}`);
    const startMs = Math.round(nowMs() - t);
    for (const s of st) check(s.failed.length === 0 && s.ok > 0, `pg-down: ${fmtLoad(s)}`);
    // Served after it is back, too (a node whose store connection broke must reconnect), and
    // config changes reach the nodes again (their LISTEN connection broke with the server).
    await sleep(1000);
    const after = await loadFor(Object.values(NODES), 'pg-after', 1000);
    for (const s of after) check(s.failed.length === 0 && s.ok > 0, `pg-down: after the restart ${fmtLoad(s)}`);
    const p = await measurePropagation(Object.values(NODES));
    console.log(`CONFIG_PROPAGATION_AFTER_PG_MS=${p.byNode.b1 ?? 'timeout'}`);
    const propOk = Object.values(NODES).every((n) => p.byNode[n.name] !== null && p.last[n.name] === 400);
    check(propOk, `pg-down: a key added after the restart: ${JSON.stringify(p.byNode)} ms, last answers ${JSON.stringify(p.last)} (want 400 within 5000 ms)`);
    phaseLine(
      'pg-down',
      [...st, ...after].every((s) => s.failed.length === 0 && s.ok > 0) && started && propOk,
      `PostgreSQL stopped ${PHASE_MS} ms: ${st.map(fmtLoad).join('; ')}; started again in ${startMs} ms; after: ${after.map(fmtLoad).join('; ')}; ` +
        `a new key then reached a1 in ${p.byNode.a1 ?? '-'} ms, b1 in ${p.byNode.b1 ?? '-'} ms`,
    );
  } finally {
    if (!started) pgFixture('start');
  }
}

async function phaseCooling() {
  const a1 = NODES.a1;
  const b1 = NODES.b1;
  const cooling = async (node) => sample(await metrics(node), 'codex_relay_account_state', { account: 'acct-1', state: 'cooling' });
  const bBefore = await cooling(b1);
  check(bBefore === 0, `cooling: acct-1 already cooling on b1 before the fault (${bBefore})`);
  await mockApi('POST', '/__mock/faults', { label: 'acct-1', fault: 'http_500', path: '/v1/responses' });
  let tCool = null;
  let sent = 0;
  try {
    // Requests to a1 until one of them hit acct-1 (it then fails over to acct-2: still ok).
    for (let i = 0; i < 40 && tCool === null; i++) {
      const r = await respond(a1, 'cool', i, false);
      sent++;
      check(r.ok, `cooling: ${r.id} failed: ${r.error}`);
      if ((await cooling(a1)) === 1) tCool = nowMs();
    }
    if (!check(tCool !== null, `cooling: acct-1 never cooling on a1 after ${sent} requests with its 500s`)) {
      phaseLine('cooling', false, 'acct-1 did not cool on a1');
      return;
    }
    let seen = null;
    while (nowMs() - tCool < 3000) {
      if ((await cooling(b1)) === 1) {
        seen = nowMs();
        break;
      }
      await sleep(20);
    }
    const ms = seen === null ? null : Math.round(seen - tCool);
    console.log(`SHARED_COOLING_MS=${ms ?? 'timeout'}`);
    check(ms !== null, 'cooling: b1 did not show acct-1 cooling within 3000 ms of a1 (codex_relay_account_state)');
    phaseLine('cooling', ms !== null, `acct-1 cooling on a1 after ${sent} requests (all ok through acct-2); on b1 ${ms ?? '-'} ms later`);
  } finally {
    await mockApi('POST', '/__mock/faults', { label: 'acct-1', fault: 'none' });
  }
}

async function phaseRecords() {
  const completed = [...ledger].filter(([, e]) => e.ok).map(([id]) => id);
  const deadline = Date.now() + Number(env.CLUSTER_RECORDS_WAIT_MS || 30000);
  let res;
  let missing;
  const t = nowMs();
  for (;;) {
    res = recordCounts();
    missing = res.counts ? completed.filter((id) => !res.counts.has(id)) : completed;
    if (missing.length === 0 || Date.now() > deadline) break;
    await sleep(500);
  }
  const counts = res.counts ?? new Map();
  const duplicates = [...counts.values()].reduce((s, n) => s + Math.max(0, n - 1), 0);
  const recordedOfCompleted = completed.length - missing.length;
  const recordedOther = [...counts.keys()].filter((id) => !ledger.get(id)?.ok).length;
  // Each record names the node (and its region) that served the request.
  const misplaced = completed.filter((id) => {
    const w = res.where?.get(id);
    const e = ledger.get(id);
    return w && (w.node !== e.node || w.region !== NODES[e.node].region);
  });
  check(misplaced.length === 0, `records: ${misplaced.length} records name another node or region, e.g. ${misplaced[0]} ${JSON.stringify(res.where?.get(misplaced[0]))}`);
  check(!res.error, `records: query failed: ${res.error}`);
  check(missing.length === 0, `records: ${missing.length} completed requests have no record, e.g. ${missing.slice(0, 5).join(', ')}`);
  check(duplicates === 0, `records: ${duplicates} duplicate rows`);
  const byPhase = {};
  for (const id of missing) {
    const e = ledger.get(id);
    byPhase[`${e.phase}/${e.node}`] = (byPhase[`${e.phase}/${e.node}`] || 0) + 1;
  }
  // Of the missing ones, those a1's journal held when it was killed (written, not delivered).
  let inKillJournal = 0;
  if (missing.length) {
    let text = '';
    const dir = path.join(NODES.a1.dataDir, 'journal-at-kill');
    try {
      for (const f of fs.readdirSync(dir)) text += fs.readFileSync(path.join(dir, f), 'latin1');
    } catch {}
    inKillJournal = missing.filter((id) => text.includes(`"request_id":"${id}"`)).length;
    // How far the store believes each journal was delivered (one row per journal name).
    if (STORE === 'postgres') {
      const js = run(path.join(PG_BIN, 'psql'), ['-X', '-At', '-d', PG_URL, '-c', 'SELECT * FROM journal_state'], { timeout: 10000 });
      info(`journal_state in PostgreSQL: ${(js.stdout.trim() || js.stderr.trim()).replace(/\n/g, '; ')}`);
    }
  }
  phaseLine(
    'records',
    missing.length === 0 && duplicates === 0 && !res.error && misplaced.length === 0,
    `${recordedOfCompleted}/${completed.length} completed requests recorded after ${Math.round(nowMs() - t)} ms; records of requests not completed: ${recordedOther}` +
      (missing.length ? `; missing by phase/node ${JSON.stringify(byPhase)}, of them in a1's journal at its kill: ${inKillJournal}` : ''),
  );
  console.log(
    `CLUSTER_RECORDS sent=${ledger.size} completed=${completed.length} recorded_of_completed=${recordedOfCompleted} missing=${missing.length} duplicates=${duplicates}`,
  );
}

async function phasePinning() {
  const log = await mockApi('GET', '/__mock/log');
  const conns = await mockApi('GET', '/__mock/connections');
  const egressIps = new Set(EGRESSES.map((e) => e.ip));
  const direct = log.filter((e) => !egressIps.has(e.peer));
  // The https listener only: the http one is the test's own /__mock API.
  const tlsConns = conns.filter((c) => c.scheme === 'https');
  // node has no address for a connection reset before its accept handler ran (an egress's
  // connection cut when a node was killed): such a one says nothing of where it came from. The
  // requests above are attributed in full.
  const unattributed = tlsConns.filter((c) => c.peer === null).length;
  const directConns = tlsConns.filter((c) => c.peer !== null && !egressIps.has(c.peer));
  let wrongAccount = 0;
  let wrongRegion = 0;
  let ours = 0;
  const re = new RegExp(`^${PREFIX} (\\S+) (a1|b1) `);
  for (const e of log) {
    const eg = EGRESSES.find((x) => x.ip === e.peer);
    if (eg && e.account_label && eg.account !== e.account_label) wrongAccount++;
    const m = re.exec(e.last_user_text || '');
    if (!m) continue;
    ours++;
    if (eg && eg.region !== NODES[m[2]].region) wrongRegion++;
  }
  // The plumbing check's own curl requests (before the relays) are echo requests: not logged.
  check(direct.length === 0, `pinning: ${direct.length} upstream requests not from an egress, e.g. peer ${direct[0]?.peer}`);
  check(directConns.length === 0, `pinning: ${directConns.length} connections to the mock not from an egress, e.g. ${directConns[0]?.peer}`);
  check(wrongAccount === 0, `pinning: ${wrongAccount} requests through another account's egress`);
  check(wrongRegion === 0, `pinning: ${wrongRegion} requests through the other region's egress`);
  phaseLine(
    'pinning',
    direct.length + directConns.length + wrongAccount + wrongRegion === 0,
    `${log.length} upstream requests (${ours} of the load) and ${tlsConns.length} TLS connections seen by the mock: direct ${direct.length + directConns.length}, reset before the mock saw their address ${unattributed}, wrong account ${wrongAccount}, other region ${wrongRegion}`,
  );
}

// ---------------------------------------------------------------- main

async function main() {
  try {
    await setup();
  } catch (err) {
    console.log(`CLUSTER_CHECK FAIL setup: ${err.message}`);
    console.log('CLUSTER_RESULT FAIL (setup)');
    return 1;
  }
  const phases = [
    ['baseline', phaseBaseline],
    ['config', phaseConfig],
    ['kill-a1', phaseKill],
    ['redis-cut', phaseRedisCut],
    ['pg-down', phasePgDown],
    ['cooling', phaseCooling],
    ['records', phaseRecords],
    ['pinning', phasePinning],
  ];
  for (const [name, fn] of phases) {
    info(`phase ${name}`);
    try {
      await fn();
    } catch (err) {
      check(false, `${name}: ${err.stack || err.message}`);
      phaseLine(name, false, `error: ${err.message}`);
    }
  }
  for (const n of Object.values(NODES)) await stopChild(n.child);
  await stopChild(mockChild);
  for (const c of egressChildren.values()) await stopChild(c);
  console.log(`CLUSTER_RESULT ${failures.length ? `FAIL (${failures.length} checks failed)` : 'PASS'} in ${elapsed()}`);
  return failures.length ? 1 : 0;
}

process.exitCode = await main();
