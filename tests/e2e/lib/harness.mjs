// Shared plumbing for the e2e tests: the mock provider (HTTP + HTTPS), the relay (set up with
// its own CLI, then `serve`), the real Codex CLI, curl, and raw sockets.
//
// Environment (set by run.sh; sensible defaults for running one file by hand):
//   RELAY_BIN      path to the codex-relay binary (tests that need it skip when unset)
//   E2E_WORK       work dir (default tests/e2e/.work)
//   E2E_TLS_DIR    dir with ca.pem, server.pem, server.key (made with openssl when missing)

import { before, after } from 'node:test';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, '..');
export const REPO_ROOT = path.resolve(E2E_DIR, '..', '..');
export const MOCK_SERVER = path.join(REPO_ROOT, 'tests', 'mock-provider', 'server.mjs');
export const CODEX_BIN = path.join(E2E_DIR, 'node_modules', '.bin', 'codex');
export const WORK = process.env.E2E_WORK || path.join(E2E_DIR, '.work');
export const RELAY_BIN = process.env.RELAY_BIN ? path.resolve(process.env.RELAY_BIN) : null;

/** Models every test account serves. */
export const MODELS = ['gpt-5.5', 'gpt-4o-mini', 'text-embedding-3-small'];

/** Relay timeouts used by the tests (small, so the suite is quick). */
export const RELAY_ENV = {
  CODEX_RELAY_SERVER_HEADER_TIMEOUT_MS: '1000',
  CODEX_RELAY_SERVER_BODY_TIMEOUT_MS: '2000',
  CODEX_RELAY_SERVER_MAX_BODY_BYTES: String(1024 * 1024),
  CODEX_RELAY_UPSTREAM_HEARTBEAT_INTERVAL_MS: '300',
  // Many relays run at once: each gets a free admin port (relay.adminUrl) instead of 9464.
  CODEX_RELAY_ADMIN_LISTEN: '127.0.0.1:0',
};

/**
 * Account-pool settings for the pool tests (small, so cool-downs and probes fit in a test run).
 * Not part of RELAY_ENV: the other tests run with the relay's defaults.
 */
export const POOL_ENV = {
  CODEX_RELAY_POOL_MAX_ATTEMPTS: '3',
  // Cool-down windows: base doubles per consecutive failure, up to max (docs/pool.md).
  CODEX_RELAY_POOL_SERVER_ERROR_BASE_MS: '1000',
  CODEX_RELAY_POOL_SERVER_ERROR_MAX_MS: '4000',
  CODEX_RELAY_POOL_RATE_LIMITED_BASE_MS: '1000',
  CODEX_RELAY_POOL_RATE_LIMITED_MAX_MS: '4000',
  CODEX_RELAY_POOL_TIMEOUT_BASE_MS: '1000',
  CODEX_RELAY_POOL_TIMEOUT_MAX_MS: '4000',
  CODEX_RELAY_POOL_CONNECT_BASE_MS: '1000',
  CODEX_RELAY_POOL_CONNECT_MAX_MS: '4000',
  CODEX_RELAY_POOL_OVERLOADED_BASE_MS: '1000',
  CODEX_RELAY_POOL_OVERLOADED_MAX_MS: '4000',
  CODEX_RELAY_POOL_HALF_OPEN_SUCCESSES: '2',
  CODEX_RELAY_POOL_PROBE_INTERVAL_MS: '500',
  // A hung account holds a request this long before failover (non-stream and stream).
  CODEX_RELAY_UPSTREAM_FIRST_BYTE_TIMEOUT_MS: '1000',
  CODEX_RELAY_UPSTREAM_STREAM_FIRST_BYTE_TIMEOUT_MS: '1000',
};

export const nowMs = () => performance.timeOrigin + performance.now();
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- child processes

const children = new Set();
function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {}
  }
}
process.on('exit', killAll);

function track(child) {
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

/**
 * Every descendant of `pid` (children, their children …), from /proc. A daemon's forked helpers
 * (dante's children) keep serving open tunnels when their parent is gone, and are then no longer
 * findable as its children: collect them before ending the parent.
 */
export function descendantPids(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch {}
  }
  const out = [];
  const walk = (p) => {
    for (const k of kids.get(p) ?? []) {
      out.push(k);
      walk(k);
    }
  };
  walk(pid);
  return out;
}

async function stopChild(child, ms = 3000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), ms);
  await done;
  clearTimeout(t);
}

/** SIGKILL (it also ends a SIGSTOPped child); resolves when the child has exited. */
async function killChild(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await done;
}

/**
 * Resolves with the first stdout line matching `re` (or stderr line, with `stderr: true`);
 * rejects on exit or timeout, quoting the end of stderr (of both streams, with `stderr: true`).
 */
export function waitForLine(child, re, ms, what, { stderr = false } = {}) {
  return new Promise((resolve, reject) => {
    let tail = '';
    const keepTail = (d) => {
      tail = (tail + d).slice(-4000);
    };
    // One line buffer per stream, so that lines of the two never mix.
    const lineWatcher = () => {
      let buf = '';
      return (d) => {
        if (stderr) keepTail(d);
        buf += d;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          const m = line.match(re);
          if (m) {
            cleanup();
            resolve(m);
            return;
          }
        }
      };
    };
    const onOut = lineWatcher();
    const onErr = stderr ? lineWatcher() : keepTail;
    const quoted = stderr ? 'output' : 'stderr';
    const onExit = (code, sig) => {
      cleanup();
      reject(new Error(`${what} exited (${code ?? sig}) before it was ready; ${quoted}: ${tail}`));
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} not ready after ${ms} ms; ${quoted}: ${tail}`));
    }, ms);
    const cleanup = () => {
      clearTimeout(t);
      child.stdout.off('data', onOut);
      child.stderr.off('data', onErr);
      child.off('exit', onExit);
    };
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', onOut);
    child.stderr.on('data', onErr);
    child.on('exit', onExit);
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function tmpDir(prefix) {
  fs.mkdirSync(WORK, { recursive: true });
  return fs.mkdtempSync(path.join(WORK, `${prefix}-`));
}

// ---------------------------------------------------------------- TLS material

/** CA + server cert for 127.0.0.1/localhost; made by run.sh, or here when missing. */
export function tlsFiles() {
  const dir = process.env.E2E_TLS_DIR || path.join(WORK, 'tls');
  const f = { dir, ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server.pem'), key: path.join(dir, 'server.key') };
  if (!fs.existsSync(f.ca) || !fs.existsSync(f.cert) || !fs.existsSync(f.key)) {
    fs.mkdirSync(dir, { recursive: true });
    execFileSync('bash', [path.join(E2E_DIR, 'lib', 'make-certs.sh'), dir], { stdio: 'ignore' });
  }
  return f;
}

// ---------------------------------------------------------------- mock provider

/**
 * Starts the mock provider. One key (`apiKey`, random by default), or one per account with
 * `apiKeys`: [{label, key?}] or {label: key} (a missing key is made up). Labels are what the
 * mock log reports as `account_label`; name them after the relay accounts that use them.
 */
/** One call to a mock provider's `/__mock/*` control API at `base`; its JSON, or a throw. */
export async function mockAdmin(base, method, pathname, body) {
  const r = await fetch(`${base}${pathname}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const j = await r.json();
  if (r.status !== 200) throw new Error(`mock ${method} ${pathname}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

export async function startMock({ tls = true, apiKey = null, apiKeys = null } = {}) {
  const randomKey = (p) => `sk-${p}-${randomBytes(8).toString('hex')}`;
  let keyList;
  if (apiKeys) {
    const list = Array.isArray(apiKeys) ? apiKeys : Object.entries(apiKeys).map(([label, key]) => ({ label, key }));
    keyList = list.map((k) => ({ label: k.label, key: k.key ?? randomKey(k.label) }));
    apiKey = keyList[0].key;
  } else {
    apiKey = apiKey ?? randomKey('mock');
    keyList = null;
  }
  const args = [MOCK_SERVER, '--host', '127.0.0.1', '--http-port', '0'];
  if (keyList) for (const k of keyList) args.push('--api-key', `${k.label}=${k.key}`);
  else args.push('--api-key', apiKey);
  let files = null;
  if (tls) {
    files = tlsFiles();
    args.push('--https-port', '0', '--tls-cert', files.cert, '--tls-key', files.key);
  }
  const child = track(spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const m = await waitForLine(child, /^\{.*"http".*\}$/, 10000, 'mock provider');
  const ports = JSON.parse(m[0]);
  fs.mkdirSync(WORK, { recursive: true });
  const out = fs.createWriteStream(path.join(WORK, `mock-${ports.http}.log`));
  child.stdout.on('data', (d) => out.write(d));
  child.stderr.on('data', (d) => out.write(d));
  const base = `http://127.0.0.1:${ports.http}`;
  const admin = (method, pathname, body) => mockAdmin(base, method, pathname, body);
  const mock = {
    apiKey,
    /** label -> key (null when started with one unlabelled key). */
    keys: keyList ? Object.fromEntries(keyList.map((k) => [k.label, k.key])) : null,
    ports,
    tls: files,
    child,
    httpBase: `${base}/v1`,
    httpsBase: ports.https ? `https://127.0.0.1:${ports.https}/v1` : null,
    /** The echo endpoint (the caller's address as plain text) on the https listener, else http. */
    echoUrl: ports.https ? `https://127.0.0.1:${ports.https}/__mock/ip` : `${base}/__mock/ip`,
    async log({ bodies = false } = {}) {
      const r = await fetch(`${base}/__mock/log${bodies ? '?bodies=1' : ''}`);
      return r.json();
    },
    async reset() {
      await fetch(`${base}/__mock/reset`, { method: 'POST' });
    },
    /**
     * TCP connections either listener accepted, [{id, scheme, peer, peer_port, opened_at_ms,
     * closed_at_ms}] (with `since`: ids >= since). Unlike the log, this also shows connections
     * that never carried a request (a proxy's CONNECT probe, a TLS handshake that failed).
     */
    async connections(since = 0) {
      const r = await fetch(`${base}/__mock/connections${since ? `?since=${since}` : ''}`);
      return r.json();
    },
    /** Log entries with id >= `since` (see setFault's next_id). */
    async logSince(since, { bodies = false } = {}) {
      const r = await fetch(`${base}/__mock/log?since=${since}${bodies ? '&bodies=1' : ''}`);
      return r.json();
    },
    /**
     * Sets a fault for the requests of one account: `who` is a label (account name), a key or
     * '*'. fault: http_500 | http_429 | http_401 | timeout | failed_before_output |
     * slow_first_byte | none. Returns {faults, next_id} (next_id: first log id after this).
     */
    async setFault(who, fault, { arg = null, count = null, path = null } = {}) {
      const isLabel = mock.keys && who in mock.keys;
      return admin('POST', '/__mock/faults', { ...(isLabel ? { label: who } : { key: who }), fault, arg, count, path });
    },
    async clearFault(who) {
      return mock.setFault(who, 'none');
    },
    async clearFaults() {
      return admin('DELETE', '/__mock/faults');
    },
    async faults() {
      return admin('GET', '/__mock/faults');
    },
    /** Waits until the log has an entry matching `pred` (and returns it). */
    async waitFor(pred, ms = 5000) {
      const end = Date.now() + ms;
      for (;;) {
        const l = await mock.log();
        const e = l.find(pred);
        if (e) return e;
        if (Date.now() > end) return null;
        await sleep(50);
      }
    },
    stop: () => stopChild(child),
  };
  return mock;
}

// ---------------------------------------------------------------- relay

/** Runs a relay CLI command; returns trimmed stdout; throws with stderr on failure. */
export function relayCli(dataDir, args, env = {}) {
  try {
    return execFileSync(RELAY_BIN, ['--data-dir', dataDir, ...args], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20000,
    }).trim();
  } catch (err) {
    throw new Error(`relay CLI ${args.join(' ')} failed (${err.status}): ${err.stderr || err.message}`);
  }
}

/**
 * Runs a relay CLI command that may fail; never throws. Returns {code, stdout, stderr} (code:
 * the exit status, null when killed by the 20 s timeout).
 */
export function relayCliResult(dataDir, args, env = {}) {
  const r = spawnSync(RELAY_BIN, ['--data-dir', dataDir, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 20000,
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

/** True when RELAY_BIN exists and has a `serve` command. */
export function relayAvailable() {
  if (!RELAY_BIN || !fs.existsSync(RELAY_BIN)) return false;
  try {
    const out = execFileSync(RELAY_BIN, ['--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
    return /\bserve\b/.test(out);
  } catch (err) {
    return /\bserve\b/.test(`${err.stdout || ''}${err.stderr || ''}`);
  }
}

/**
 * Skip reason for relay tests, or false. Only skips when RELAY_BIN is unset or when
 * E2E_ALLOW_SKIP=1 (run.sh passes a binary, so there a missing relay fails loudly).
 */
export const relaySkip = () => {
  if (!RELAY_BIN) return 'RELAY_BIN unset (run through tests/e2e/run.sh BIN)';
  if (process.env.E2E_ALLOW_SKIP === '1' && !relayAvailable()) return `relay binary ${RELAY_BIN} has no serve command yet`;
  return false;
};

/** Env var that carries an account's upstream key to `account add --api-key-env`. */
export const accountKeyEnv = (name) => `MOCK_KEY_${String(name).toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;

/**
 * Sets up a data dir with one tenant, one key and accounts pointing at `mock`, then starts
 * `serve`. accounts: [{name, scheme:'http'|'https', models, key, weight, maxConcurrency}]
 * (default one http account). An account's upstream key is `key`, else the mock key labelled
 * with its name (startMock apiKeys), else the mock's single key; each account reads its own from
 * MOCK_KEY_<NAME>. weight/maxConcurrency become `--weight N` / `--max-concurrency N`.
 * `env` is added to serve's environment (e.g. POOL_ENV).
 * `tenantArgs` are added to `tenant add` of the main tenant (e.g. ['--rps', '5']); `tenants`
 * ([{name, args}]) are more tenants, each added with its args and given one key, before serve
 * starts. The returned `keys` maps every tenant name (the main one too) to its key.
 * `beforeServe(cli, dataDir)` (may be async) runs after the accounts are added and before serve
 * starts (e.g. `egress add`, so no request ever sees an account without its egresses);
 * `serveArgs` are added to `serve` (e.g. ['--region', 'eu']).
 */
export async function startRelay(
  mock,
  { accounts, env = {}, tenant = 'team-a', tenantArgs = [], tenants = [], beforeServe = null, serveArgs = [] } = {},
) {
  const dataDir = tmpDir('relay-data');
  const accs = accounts ?? [{ name: 'mock-http', scheme: 'http', models: MODELS }];
  const keyEnv = { MOCK_UPSTREAM_KEY: mock.apiKey };
  for (const a of accs) keyEnv[accountKeyEnv(a.name)] = a.key ?? mock.keys?.[a.name] ?? mock.apiKey;
  const cli = (args, extraEnv = {}) => relayCli(dataDir, args, { ...keyEnv, ...extraEnv });
  cli(['tenant', 'add', tenant, ...tenantArgs]);
  const key = cli(['key', 'add', tenant]);
  if (!/^crk_\S+$/.test(key)) throw new Error(`key add printed ${JSON.stringify(key)}, want crk_...`);
  const keys = { [tenant]: key };
  for (const t of tenants) {
    cli(['tenant', 'add', t.name, ...(t.args ?? [])]);
    const k = cli(['key', 'add', t.name]);
    if (!/^crk_\S+$/.test(k)) throw new Error(`key add ${t.name} printed ${JSON.stringify(k)}, want crk_...`);
    keys[t.name] = k;
  }
  for (const a of accs) {
    const args = ['account', 'add', a.name, '--base-url', a.scheme === 'https' ? mock.httpsBase : mock.httpBase, '--api-key-env', accountKeyEnv(a.name)];
    if (a.models) args.push('--models', a.models.join(','));
    if (a.scheme === 'https') args.push('--ca-file', mock.tls.ca);
    if (a.weight !== undefined) args.push('--weight', String(a.weight));
    if (a.maxConcurrency !== undefined) args.push('--max-concurrency', String(a.maxConcurrency));
    cli(args);
  }
  if (beforeServe) await beforeServe(cli, dataDir);
  const serveEnv = { ...keyEnv, ...RELAY_ENV, ...env };
  const node = await spawnServe(dataDir, serveEnv, 'serve.log', null, serveArgs);
  return {
    dataDir,
    ...node,
    key,
    tenant,
    keys,
    accounts: accs.map((a) => a.name),
    cli,
    /** Like cli, but never throws: {code, stdout, stderr}. */
    cliResult: (args, extraEnv = {}) => relayCliResult(dataDir, args, { ...keyEnv, ...extraEnv }),
    /** serve's environment on top of process.env (startNode starts more nodes with it). */
    serveEnv,
  };
}

/**
 * Starts `serve` on `dataDir` on a free port with `env` on top of process.env, its output in
 * `dataDir/logName` (port: a free one unless given). Returns {port, url, base, child, logFile, stop(), kill9()}.
 */
async function spawnServe(dataDir, env, logName, port = null, serveArgs = []) {
  port = port ?? (await freePort());
  const logFile = path.join(dataDir, logName);
  const child = track(
    spawn(RELAY_BIN, ['--data-dir', dataDir, 'serve', '--listen', `127.0.0.1:${port}`, ...serveArgs], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const out = fs.createWriteStream(logFile);
  child.stderr.on('data', (d) => out.write(d));
  let early = '';
  const grab = (d) => (early += d);
  child.stdout.on('data', grab);
  await waitForLine(child, /codex-relay listening on (http:\/\/\S+)/, 15000, `relay serve (${logName})`);
  child.stdout.off('data', grab);
  out.write(early);
  child.stdout.on('data', (d) => out.write(d));
  const admin = /codex-relay admin listening on (http:\/\/\S+)/.exec(early);
  const url = `http://127.0.0.1:${port}`;
  // Belt and braces: the readiness line should mean /healthz answers.
  const h = await fetch(`${url}/healthz`);
  if (h.status !== 200) throw new Error(`/healthz answered ${h.status}`);
  return {
    port,
    url,
    base: `${url}/v1`,
    /** The admin listener (GET /metrics), or null when serve was started without one. */
    adminUrl: admin ? admin[1] : null,
    child,
    logFile,
    stop: () => stopChild(child),
    /** SIGKILL, as a crashed node: no drain, no settle, no shutdown flush. Resolves on exit. */
    kill9: () => killChild(child),
  };
}

/**
 * Another node of `relay`'s deployment: a second `serve` on the SAME data dir (same tenants,
 * keys, accounts and master key; SQLite in WAL mode takes several processes), on its own port,
 * with relay's serve environment plus `env`. Its log is `serve-PORT.log` in the data dir.
 * With `[redis] url` set (e.g. CODEX_RELAY_REDIS_URL in both envs) the nodes share their tenant
 * limits through Redis; without it each node has its own. `serveArgs` are added to its `serve`
 * (e.g. ['--region', 'us']). Returns the shape of startRelay:
 * {dataDir, port, url, base, key, tenant, keys, accounts, child, logFile, cli, serveEnv, stop(),
 * kill9()}.
 */
export async function startNode(relay, { env = {}, serveArgs = [] } = {}) {
  const serveEnv = { ...relay.serveEnv, ...env };
  const port = await freePort();
  const node = await spawnServe(relay.dataDir, serveEnv, `serve-${port}.log`, port, serveArgs);
  return { ...relay, ...node, serveEnv };
}

/**
 * A mock with one key per account (labelled with the account name) and a relay with those
 * accounts (http, MODELS unless given), started with POOL_ENV + `env`.
 * accounts: [{name, weight?, maxConcurrency?, models?}]. Returns {mock, relay, stop()}.
 */
export async function startPool({ accounts, env = {}, tls = false } = {}) {
  const mock = await startMock({ tls, apiKeys: accounts.map((a) => ({ label: a.name })) });
  let relay;
  try {
    relay = await startRelay(mock, {
      accounts: accounts.map((a) => ({ scheme: 'http', models: MODELS, ...a })),
      env: { ...POOL_ENV, ...env },
    });
  } catch (err) {
    await mock.stop();
    throw err;
  }
  return {
    mock,
    relay,
    stop: async () => {
      await relay.stop();
      await mock.stop();
    },
  };
}

// ---------------------------------------------------------------- Redis

/**
 * Starts a throwaway redis-server on 127.0.0.1 (a free port unless `port` is given), without
 * persistence, its files and log in a fresh dir under WORK; tracked like every child, so it is
 * killed when the test process exits. Returns
 * {url, port, dir, logFile, child, stop(), kill(), pause(), resume(), restart(), cli(...args), keys()}:
 * stop() SIGTERM, kill() SIGKILL (both wait for the exit), pause()/resume() SIGSTOP/SIGCONT (a
 * hung server: connections are accepted by the kernel, nothing is answered), restart() a new,
 * empty server on the same port, cli() runs `redis-cli` against it and returns its stdout,
 * keys() every key (SCAN), sorted.
 */
export async function startRedis({ port: wantPort = null } = {}) {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore', timeout: 10000 });
  } catch {
    throw new Error('redis-server not found: apt-get install redis-server (scripts/setup.sh --test does)');
  }
  const dir = tmpDir('redis');
  const logFile = path.join(dir, 'redis.log');
  const log = fs.createWriteStream(logFile, { flags: 'a' });
  const launch = async (port) => {
    const child = track(
      spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--protected-mode', 'yes', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    child.stdout.on('data', (d) => log.write(d));
    child.stderr.on('data', (d) => log.write(d));
    await waitForLine(child, /Ready to accept connections/, 10000, `redis-server on port ${port}`);
    return child;
  };
  // A port can be taken between freePort() and the bind: try a few (the same one on restart).
  const launchRetrying = async (fixedPort) => {
    let lastErr;
    for (let i = 0; i < 5; i++) {
      const port = fixedPort ?? (await freePort());
      try {
        return { port, child: await launch(port) };
      } catch (err) {
        lastErr = err;
        await sleep(fixedPort ? 300 : 50);
      }
    }
    throw lastErr;
  };
  let { port, child } = await launchRetrying(wantPort);
  const redis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    logFile,
    get child() {
      return child;
    },
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    stop: async () => {
      if (redis.running) child.kill('SIGCONT');
      await stopChild(child);
    },
    kill: () => killChild(child),
    pause: () => {
      child.kill('SIGSTOP');
    },
    resume: () => {
      child.kill('SIGCONT');
    },
    restart: async () => {
      await redis.stop();
      ({ child } = await launchRetrying(port));
    },
    cli: (...args) =>
      execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 5000,
      }),
    keys: () =>
      redis
        .cli('--scan')
        .split('\n')
        .filter((k) => k !== '')
        .sort(),
  };
  return redis;
}

// ---------------------------------------------------------------- egress proxies

/**
 * The egress proxies of the tests are the deploy configs of deploy/egress/ (tinyproxy, dante,
 * squid), copied into a temp dir with only their example values replaced (renderEgressConfig).
 * So every e2e run that goes through an egress also tests those files.
 */
export const EGRESS_DEPLOY_DIR = path.join(REPO_ROOT, 'deploy', 'egress');

/**
 * The example values in deploy/egress/* (see deploy/egress/README.md). renderEgressConfig
 * replaces exactly these, and fails when one is left over (a config that drifted from this
 * list would otherwise be tested only half).
 */
export const EGRESS_EXAMPLE = {
  listen: '10.20.0.10', // the node's private address
  relays: ['10.20.0.21', '10.30.0.21'], // the relays' addresses (the only clients let in)
  outgoing: '203.0.113.10', // the node's fixed public address
  hosts: ['eu.api.openai.com', 'api.openai.com'], // the provider hosts (longest first)
  providerPort: 443,
  ports: { tinyproxy: 8888, dante: 1080, squid: 3128, 'squid-https': 3129 }, // the listening ports
  // squid-https only: its certificate, key and password file.
  squidHttpsFiles: { cert: '/etc/squid/egress-proxy.pem', key: '/etc/squid/egress-proxy.key', passwd: '/etc/squid/egress-passwd' },
};

/** Escapes regex metacharacters (JS and POSIX ERE alike). */
const reEsc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Renders the deploy config of `kind` ('tinyproxy' | 'dante' | 'squid') for a test node into
 * `dir`. Replaced, literally and nothing else:
 *   10.20.0.10                      -> listen  (127.0.0.1)
 *   the listening port (8888/1080/3128) -> port
 *   203.0.113.10                    -> outgoing (127.0.0.2, …: all of 127/8 is local)
 *   10.20.0.21, 10.30.0.21          -> relays[0], relays[1] (127.0.0.1, 127.0.0.8)
 *   eu.api.openai.com, api.openai.com -> target.host (dante: as HOST/32 when it is an address)
 *   provider port 443               -> target.port
 * plus the file locations that point into the system (log, pid, filter, spool) -> into `dir`,
 * and dante's `logoutput: syslog` -> `stderr` (the tests have no syslog). 'squid-https'
 * (squid/squid-https.conf) also gets its certificate, key and password file (`tls`, `users`).
 * Returns {configFile, files}: the paths written.
 */
export function renderEgressConfig(kind, { dir, listen = '127.0.0.1', port, outgoing, relays = ['127.0.0.1', '127.0.0.8'], target, tls = null, users = [] }) {
  const ex = EGRESS_EXAMPLE;
  const replaceAll = (text, pairs) => {
    for (const [from, to] of pairs) text = text.replace(from instanceof RegExp ? from : new RegExp(reEsc(from), 'g'), () => to);
    return text;
  };
  const common = [
    [ex.listen, listen],
    [ex.outgoing, outgoing],
    [ex.relays[0], relays[0]],
    [ex.relays[1], relays[1] ?? relays[0]],
  ];
  const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(target.host);
  const files = {};
  let configFile;
  if (kind === 'tinyproxy') {
    const filterFile = path.join(dir, 'egress-filter');
    let conf = fs.readFileSync(path.join(EGRESS_DEPLOY_DIR, 'tinyproxy', 'tinyproxy.conf'), 'utf8');
    conf = replaceAll(conf, [
      ...common,
      [/^Port 8888$/m, `Port ${port}`],
      [/^ConnectPort 443$/m, `ConnectPort ${target.port}`],
      ['/etc/tinyproxy/egress-filter', filterFile],
      ['/var/log/tinyproxy/', `${dir}/`],
      ['/run/tinyproxy/', `${dir}/`],
    ]);
    let filter = fs.readFileSync(path.join(EGRESS_DEPLOY_DIR, 'tinyproxy', 'egress-filter'), 'utf8');
    filter = replaceAll(filter, ex.hosts.map((h) => [`^${reEsc(h)}:443$`, `^${reEsc(target.host)}:${target.port}$`]));
    fs.writeFileSync(filterFile, filter);
    files.filter = filterFile;
    configFile = path.join(dir, 'tinyproxy.conf');
    fs.writeFileSync(configFile, conf);
  } else if (kind === 'dante') {
    let conf = fs.readFileSync(path.join(EGRESS_DEPLOY_DIR, 'dante', 'sockd.conf'), 'utf8');
    const hostRule = isIp ? `${target.host}/32` : target.host;
    conf = replaceAll(conf, [
      [/^internal: 10\.20\.0\.10 port = 1080$/m, `internal: ${listen} port = ${port}`],
      ...ex.hosts.map((h) => [`to: ${h} port = 443`, `to: ${hostRule} port = ${target.port}`]),
      ...common.map(([a, b]) => [`${a}/32`, `${b}/32`]),
      ...common,
      [/^logoutput: syslog$/m, 'logoutput: stderr'],
    ]);
    configFile = path.join(dir, 'sockd.conf');
    fs.writeFileSync(configFile, conf);
  } else if (kind === 'squid') {
    let conf = fs.readFileSync(path.join(EGRESS_DEPLOY_DIR, 'squid', 'squid.conf'), 'utf8');
    conf = replaceAll(conf, [
      [`${ex.listen}:3128`, `${listen}:${port}`],
      ...ex.hosts.map((h) => [new RegExp(`dstdomain -n ${reEsc(h)}$`, 'gm'), `dstdomain -n ${target.host}`]),
      [/^acl provider_ports port 443$/m, `acl provider_ports port ${target.port}`],
      ...common,
      ['/var/log/squid/', `${dir}/`],
      ['/run/squid.pid', path.join(dir, 'squid.pid')],
      ['/var/spool/squid', dir],
    ]);
    configFile = path.join(dir, 'squid.conf');
    fs.writeFileSync(configFile, conf);
  } else if (kind === 'squid-https') {
    // squid.conf's replacements, plus the certificate, key and password file: copies in `dir`
    // (the password file readable by squid's auth helper, which runs as squid's user), the
    // passwords of `users` [{user, password}] hashed (SHA-256 crypt); `tls` {cert, key} defaults
    // to the test server certificate for 127.0.0.1.
    const sf = ex.squidHttpsFiles;
    tls = tls ?? tlsFiles();
    files.cert = path.join(dir, 'egress-proxy.pem');
    files.key = path.join(dir, 'egress-proxy.key');
    files.passwd = path.join(dir, 'egress-passwd');
    fs.copyFileSync(tls.cert, files.cert);
    fs.copyFileSync(tls.key, files.key);
    fs.chmodSync(files.cert, 0o644);
    fs.chmodSync(files.key, 0o644);
    const lines = users.map(({ user, password }) => {
      const hash = execFileSync('openssl', ['passwd', '-5', '-stdin'], { input: `${password}\n`, encoding: 'utf8' }).trim();
      return `${user}:${hash}\n`;
    });
    fs.writeFileSync(files.passwd, lines.join(''), { mode: 0o644 });
    let conf = fs.readFileSync(path.join(EGRESS_DEPLOY_DIR, 'squid', 'squid-https.conf'), 'utf8');
    conf = replaceAll(conf, [
      [`${ex.listen}:${ex.ports['squid-https']}`, `${listen}:${port}`],
      ...ex.hosts.map((h) => [new RegExp(`dstdomain -n ${reEsc(h)}$`, 'gm'), `dstdomain -n ${target.host}`]),
      [/^acl provider_ports port 443$/m, `acl provider_ports port ${target.port}`],
      ...common,
      [sf.cert, files.cert],
      [sf.key, files.key],
      [sf.passwd, files.passwd],
      ['/var/log/squid/', `${dir}/`],
      ['/run/squid.pid', path.join(dir, 'squid.pid')],
      ['/var/spool/squid', dir],
    ]);
    configFile = path.join(dir, 'squid.conf');
    fs.writeFileSync(configFile, conf);
  } else {
    throw new Error(`renderEgressConfig: unknown kind ${kind}`);
  }
  // Nothing of the examples may be left (comments aside): else the test would not test it.
  for (const f of [configFile, ...Object.entries(files).filter(([k]) => !['cert', 'key', 'passwd'].includes(k)).map(([, v]) => v)]) {
    const live = fs
      .readFileSync(f, 'utf8')
      .split('\n')
      .filter((l) => !/^\s*#/.test(l))
      .join('\n');
    const left = [ex.listen, ex.outgoing, ...ex.relays, 'openai.com', /[ :=]443\b/, '/var/log/', '/var/spool/', '/run/tinyproxy', '/run/squid', '/etc/tinyproxy', '/etc/squid'].filter(
      (v) => (v instanceof RegExp ? v.test(live) : live.includes(v)),
    );
    if (left.length) throw new Error(`renderEgressConfig(${kind}): ${f} still has example values ${JSON.stringify(left)}`);
  }
  return { configFile, files };
}

function whichBin(names) {
  for (const n of names) {
    for (const d of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
      const p = path.join(d, n);
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return p;
      } catch {}
    }
  }
  return null;
}

/** Resolves when something accepts TCP connections on host:port (rejects after `ms`). */
export function waitForPort(port, { host = '127.0.0.1', ms = 10000, child = null, what = `port ${port}` } = {}) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        reject(new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it listened`));
        return;
      }
      const s = net.connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > end) reject(new Error(`${what} not listening after ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** True while something accepts TCP connections on host:port. */
export function portOpen(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function killPid(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {}
}

const EGRESS_KINDS = {
  tinyproxy: {
    bins: ['tinyproxy'],
    pkg: 'tinyproxy',
    scheme: 'http',
    // -d: foreground; it drops to the config's User/Group after binding.
    args: (conf) => ['-d', '-c', conf],
    stopSignal: 'SIGTERM',
  },
  dante: {
    // Debian's dante-server installs /usr/sbin/danted; upstream calls it sockd.
    bins: ['danted', 'sockd'],
    pkg: 'dante-server',
    scheme: 'socks5h',
    // Foreground unless -D; its pid file in the temp dir.
    args: (conf, dir) => ['-f', conf, '-p', path.join(dir, 'danted.pid')],
    stopSignal: 'SIGTERM',
  },
  squid: {
    bins: ['squid'],
    pkg: 'squid',
    scheme: 'http',
    // -N: no daemon, one process. SIGINT is "shut down now" (SIGTERM waits shutdown_lifetime).
    args: (conf) => ['-N', '-f', conf],
    stopSignal: 'SIGINT',
  },
  // squid reached over TLS, with basic auth (deploy/egress/squid/squid-https.conf).
  'squid-https': {
    bins: ['squid'],
    pkg: 'squid',
    scheme: 'https',
    args: (conf) => ['-N', '-f', conf],
    stopSignal: 'SIGINT',
  },
};

/**
 * Starts an egress proxy of `kind` from its deploy config (renderEgressConfig) in the
 * foreground as a tracked child: listening on 127.0.0.1:PORT (a free port unless given),
 * connecting out from `outgoing`, letting in only `relays` (default 127.0.0.1 and 127.0.0.8),
 * and tunnelling only to `target` {host, port} (default: the mock's https listener, from
 * `mock`). Its files and output (`out.log`) are in a temp dir under WORK, made world-writable
 * because each daemon drops root for its own user (tinyproxy, proxy, nobody).
 * Returns {kind, name, url, port, outgoing, dir, configFile, running, child, stop(), kill(),
 * start(), log()}: url is http://127.0.0.1:PORT (tinyproxy, squid) or socks5h://127.0.0.1:PORT
 * (dante); stop() ends it and every process it forked (SIGTERM, squid SIGINT; SIGKILL after
 * 3 s), open tunnels included, and waits until the port is closed; kill() the same with
 * SIGKILL; start() starts it again on the same port; log() its output so far.
 */
export async function startEgressProxy(kind, { outgoing, port = null, mock = null, target = null, relays, name = null, tls = null, users = [] } = {}) {
  const k = EGRESS_KINDS[kind];
  if (!k) throw new Error(`startEgressProxy: unknown kind ${kind}`);
  const bin = whichBin(k.bins);
  if (!bin) throw new Error(`${k.bins.join(' or ')} not found: apt-get install ${k.pkg} (scripts/setup.sh --test does)`);
  if (!outgoing) throw new Error('startEgressProxy: outgoing address required');
  target = target ?? (mock ? { host: '127.0.0.1', port: mock.ports.https ?? mock.ports.http } : null);
  if (!target) throw new Error('startEgressProxy: mock or target required');
  const dir = tmpDir(`egress-${kind}`);
  fs.chmodSync(dir, 0o777);
  const outFile = path.join(dir, 'out.log');
  let child = null;
  let configFile = null;
  const launch = async (p) => {
    ({ configFile } = renderEgressConfig(kind, { dir, port: p, outgoing, relays, target, tls, users }));
    const c = track(spawn(bin, k.args(configFile, dir), { stdio: ['ignore', 'pipe', 'pipe'] }));
    const out = fs.createWriteStream(outFile, { flags: 'a' });
    c.stdout.on('data', (d) => out.write(d));
    c.stderr.on('data', (d) => out.write(d));
    c.on('exit', () => out.end());
    try {
      await waitForPort(p, { child: c, what: `${kind} on port ${p}` });
    } catch (err) {
      for (const pid of descendantPids(c.pid)) killPid(pid);
      await killChild(c);
      let tail = '';
      try {
        tail = fs.readFileSync(outFile, 'utf8').slice(-1500);
      } catch {}
      throw new Error(`${err.message}; output: ${tail}`);
    }
    return c;
  };
  // A free port can be taken between freePort() and the bind: try a few (the same on restart).
  const launchRetrying = async (fixed) => {
    let lastErr;
    for (let i = 0; i < 5; i++) {
      const p = fixed ?? (await freePort());
      try {
        return { port: p, child: await launch(p) };
      } catch (err) {
        lastErr = err;
        await sleep(fixed ? 300 : 50);
      }
    }
    throw lastErr;
  };
  ({ port, child } = await launchRetrying(port));
  const running = () => child && child.exitCode === null && child.signalCode === null;
  const waitClosed = async () => {
    const end = Date.now() + 5000;
    while ((await portOpen(port)) && Date.now() < end) await sleep(50);
  };
  // Ends the daemon and every process it forked: `sig` to the daemon (SIGKILL after 3 s), then
  // SIGKILL to its descendants (collected before, and again while it shuts down), which would
  // otherwise keep open tunnels alive.
  const endAll = async (sig) => {
    if (running()) {
      const pids = new Set(descendantPids(child.pid));
      const done = new Promise((r) => child.once('exit', r));
      child.kill(sig);
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      for (const pid of descendantPids(child.pid)) pids.add(pid);
      await done;
      clearTimeout(t);
      for (const pid of pids) killPid(pid);
    }
    await waitClosed();
  };
  const proxy = {
    kind,
    name: name ?? `${kind}-${outgoing}`,
    url: `${k.scheme}://127.0.0.1:${port}`,
    port,
    outgoing,
    target,
    dir,
    get configFile() {
      return configFile;
    },
    get child() {
      return child;
    },
    get running() {
      return running();
    },
    /**
     * Ends it with every process it forked (its usual shutdown signal, SIGKILL after 3 s), as
     * `systemctl stop` does: open tunnels close too. Resolves once its port is closed.
     */
    stop: () => endAll(k.stopSignal),
    /** SIGKILL to all its processes, as a crashed node. */
    kill: () => endAll('SIGKILL'),
    /** Starts it again on the same port (stopping it first if it runs). */
    start: async () => {
      if (running()) await proxy.stop();
      ({ child } = await launchRetrying(port));
    },
    log: () => {
      try {
        return fs.readFileSync(outFile, 'utf8');
      } catch {
        return '';
      }
    },
  };
  return proxy;
}

/** tinyproxy (HTTP CONNECT) from deploy/egress/tinyproxy; see startEgressProxy. */
export const startTinyproxy = (opts) => startEgressProxy('tinyproxy', opts);
/** dante (SOCKS5, socks5h:// URL) from deploy/egress/dante; see startEgressProxy. */
export const startDante = (opts) => startEgressProxy('dante', opts);
/** squid (HTTP CONNECT) from deploy/egress/squid; see startEgressProxy. */
export const startSquid = (opts) => startEgressProxy('squid', opts);
/**
 * squid reached over TLS (https:// URL) and asking for a password, from
 * deploy/egress/squid/squid-https.conf; see startEgressProxy. Extra options: `users`
 * [{user, password}] (its password file), `tls` {cert, key} (default: the test server
 * certificate for 127.0.0.1, signed by the test CA, tlsFiles()). Its url has no credentials:
 * add them with egressUrlWith().
 */
export const startSquidHttps = (opts) => startEgressProxy('squid-https', opts);

/** `url` (scheme://host:port) with USER:PASSWORD@ in it, both percent-encoded. */
export function egressUrlWith(url, user, password) {
  const u = new URL(url);
  return `${u.protocol}//${encodeURIComponent(user)}:${encodeURIComponent(password)}@${u.host}`;
}

/**
 * A byte-recording TCP relay: listens on 127.0.0.1 (a free port), and forwards each connection
 * to `target` {host, port}, keeping every byte in both directions. Put it between the relay and
 * an egress proxy (the egress URL points at it) to see exactly what the proxy sees.
 * Returns {port, connections: [{up: Buffer[], down: Buffer[]}] (up: client to target),
 * upBytes(conn), downBytes(conn) (one Buffer each), totals() {up, down}, stop()}.
 */
export async function startTcpRecorder({ target }) {
  const connections = [];
  const sockets = new Set();
  const server = net.createServer((client) => {
    const conn = { up: [], down: [], opened_at_ms: Date.now() };
    connections.push(conn);
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (d) => conn.up.push(Buffer.from(d)));
    upstream.on('data', (d) => conn.down.push(Buffer.from(d)));
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', () => {
      sockets.delete(client);
      end();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      end();
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const rec = {
    port: server.address().port,
    connections,
    upBytes: (c) => Buffer.concat(c.up),
    downBytes: (c) => Buffer.concat(c.down),
    totals: () => ({
      up: connections.reduce((n, c) => n + c.up.reduce((m, b) => m + b.length, 0), 0),
      down: connections.reduce((n, c) => n + c.down.reduce((m, b) => m + b.length, 0), 0),
    }),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(() => r()));
    },
  };
  return rec;
}

/**
 * Asks the proxy at `proxyUrl` (http:// or socks5h:// / socks5://) for a tunnel to host:port,
 * from `localAddress` (default: the kernel's choice, 127.0.0.1). Resolves with
 * {ok, status (HTTP CONNECT status), rep (SOCKS5 reply code: 0 ok, 2 not allowed by ruleset,
 * 5 refused …), error (a socket error before any answer, e.g. a reset)}; the tunnel is closed
 * at once.
 */
export function proxyTunnel(proxyUrl, host, port, { localAddress, ms = 5000 } = {}) {
  const u = new URL(proxyUrl);
  const socks = u.protocol.startsWith('socks5');
  return new Promise((resolve) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port), ...(localAddress ? { localAddress } : {}) });
    let buf = Buffer.alloc(0);
    let stage = 0;
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(t);
      sock.destroy();
      resolve({ ok: false, status: null, rep: null, error: null, ...r });
    };
    const t = setTimeout(() => finish({ error: 'timeout' }), ms);
    sock.on('error', (err) => finish({ error: err.code || String(err) }));
    sock.on('close', () => finish({ error: 'closed' }));
    // A proxy that refuses may answer and close in one go: node then ends our side as it reads
    // the close, and a write after that is an error outside the test (ERR_STREAM_WRITE_AFTER_END).
    const send = (b) => (sock.writable ? sock.write(b) : finish({ error: 'closed' }));
    sock.on('connect', () => {
      if (socks) send(Buffer.from([5, 1, 0]));
      else send(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
    });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (!socks) {
        const i = buf.indexOf('\r\n');
        if (i < 0) return;
        const status = Number(buf.subarray(0, i).toString('latin1').split(' ')[1]);
        finish({ ok: status === 200, status });
        return;
      }
      if (stage === 0) {
        if (buf.length < 2) return;
        if (buf[1] !== 0) return finish({ error: `socks method ${buf[1]}` });
        buf = buf.subarray(2);
        stage = 1;
        // An IPv4 literal goes as an address (ATYP 1, as curl sends it), a name as a name (3).
        const hb = Buffer.from(host);
        const addr = net.isIPv4(host) ? Buffer.from([1, ...host.split('.').map(Number)]) : Buffer.concat([Buffer.from([3, hb.length]), hb]);
        send(Buffer.concat([Buffer.from([5, 1, 0]), addr, Buffer.from([port >> 8, port & 255])]));
      }
      if (stage === 1 && buf.length >= 2) finish({ ok: buf[1] === 0, rep: buf[1] });
    });
  });
}

/**
 * GET `url` (https) through the proxy at `proxyUrl` with curl (--cacert `ca`): returns
 * {code, body, stderr}. curl uses CONNECT for http:// proxies and SOCKS5 for socks5h://.
 */
export function curlVia(proxyUrl, url, { ca, headers = {}, timeoutS = 10, interfaceAddr = null } = {}) {
  const args = ['-sS', '--max-time', String(timeoutS), '-x', proxyUrl];
  if (ca) args.push('--cacert', ca);
  if (interfaceAddr) args.push('--interface', interfaceAddr);
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  args.push(url);
  const r = spawnSync('curl', args, { encoding: 'utf8', timeout: (timeoutS + 5) * 1000, env: { ...process.env, NO_PROXY: '', no_proxy: '' } });
  return { code: r.status, body: r.stdout ?? '', stderr: r.stderr ?? '' };
}

// ---------------------------------------------------------------- Codex CLI

/**
 * Runs `codex exec` against `baseUrl` with `key`. Scratch CODEX_HOME/HOME, stdin closed.
 * Returns {code, stdout, stderr, signal, ms}.
 */
export function runCodex({
  baseUrl,
  key,
  prompt,
  timeoutMs = 60000,
  sandbox = 'read-only',
  extraArgs = [],
  configToml = null,
  env: extraEnv = {},
}) {
  const home = tmpDir('codex-home');
  const cwd = tmpDir('codex-cwd');
  // With configToml (e.g. the output of `codex-relay codex-config`), the provider comes from
  // $CODEX_HOME/config.toml; otherwise from -c flags as in codex-protocol.md §1.
  const providerArgs = [];
  if (configToml !== null) {
    fs.writeFileSync(path.join(home, 'config.toml'), configToml, { mode: 0o600 });
  } else {
    const provider = `model_providers.relay={name="Relay", base_url="${baseUrl}", env_key="RELAY_API_KEY", wire_api="responses"}`;
    providerArgs.push('-c', 'features.plugins=false', '-c', 'analytics.enabled=false');
    providerArgs.push('-c', provider, '-c', 'model_provider=relay', '-c', 'model=gpt-5.5');
  }
  const args = [
    'exec',
    '--skip-git-repo-check',
    '-s',
    sandbox,
    '-c',
    'approval_policy=never',
    '--disable',
    'unbounded_connection_retries',
    ...providerArgs,
    ...extraArgs,
    prompt,
  ];
  const env = { ...process.env, CODEX_HOME: home, HOME: home, ...(key ? { RELAY_API_KEY: key } : {}), ...extraEnv };
  for (const k of ['HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'https_proxy', 'http_proxy', 'all_proxy', 'OPENAI_API_KEY', 'CODEX_API_KEY', 'OPENAI_BASE_URL']) {
    if (!(k in extraEnv)) delete env[k];
  }
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = track(spawn(CODEX_BIN, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

// ---------------------------------------------------------------- curl / SSE

/**
 * Streams a POST with `curl -sN`, recording the arrival time of each `data:` line as Node
 * reads it. Returns a handle: {events:[{data, json, at}], done: Promise<{code, signal}>, kill()}.
 * `onEvent(ev, events)` is called per event.
 */
export function curlStream(url, { headers = {}, body, onEvent, extraArgs = [] } = {}) {
  const args = ['-sN', '--no-buffer', '-X', 'POST', url, '-D', '-'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (body !== undefined) args.push('--data-binary', typeof body === 'string' ? body : JSON.stringify(body));
  args.push(...extraArgs);
  const child = track(spawn('curl', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const events = [];
  const lines = [];
  let buf = '';
  let ended = false;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    const at = nowMs();
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      lines.push(line);
      if (line.startsWith('data:')) {
        const data = line.slice(5).trim();
        let json = null;
        try {
          json = JSON.parse(data);
        } catch {}
        const ev = { data, json, at };
        events.push(ev);
        if (onEvent) onEvent(ev, events);
      }
    }
  });
  const done = new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      ended = true;
      resolve({ code, signal, endedAt: nowMs() });
    }),
  );
  return {
    child,
    events,
    lines,
    done,
    kill: () => {
      if (!ended) child.kill('SIGKILL');
    },
  };
}

/** Parses an SSE text body into data payloads (JSON where possible). */
export function parseSse(text) {
  const out = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.startsWith('data:')) continue;
    const d = line.slice(5).trim();
    try {
      out.push(JSON.parse(d));
    } catch {
      out.push(d);
    }
  }
  return out;
}

// ---------------------------------------------------------------- raw sockets

/**
 * Sends raw bytes, collects the reply until the server closes or `ms` passes.
 * Returns {raw, status, headers, body, closed, elapsed}.
 */
export function rawRequest(port, chunks, { ms = 5000, gapMs = 0 } = {}) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    let raw = Buffer.alloc(0);
    let closed = false;
    let timer;
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ ...parseHttp(raw), raw: raw.toString('latin1'), closed, elapsed: Date.now() - t0 });
    };
    sock.on('data', (d) => {
      raw = Buffer.concat([raw, d]);
      const p = parseHttp(raw);
      if (p.complete) finish();
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      closed = true;
      finish();
    });
    timer = setTimeout(finish, ms);
    sock.on('connect', async () => {
      for (const c of [].concat(chunks)) {
        if (sock.destroyed) return;
        sock.write(c);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}

/** Minimal HTTP/1.1 response parser (content-length or chunked). */
export function parseHttp(buf) {
  const s = buf.toString('latin1');
  const he = s.indexOf('\r\n\r\n');
  if (he < 0) return { status: null, headers: {}, body: '', complete: false };
  const [statusLine, ...hl] = s.slice(0, he).split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers = {};
  for (const l of hl) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  const rest = buf.subarray(he + 4);
  let body = '';
  let complete = false;
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    complete = rest.length >= n;
    body = rest.subarray(0, n).toString('utf8');
  } else if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const out = [];
    let off = 0;
    for (;;) {
      const nl = rest.indexOf('\r\n', off);
      if (nl < 0) break;
      const size = parseInt(rest.subarray(off, nl).toString('latin1'), 16);
      if (Number.isNaN(size)) break;
      if (size === 0) {
        complete = true;
        break;
      }
      if (rest.length < nl + 2 + size) break;
      out.push(rest.subarray(nl + 2, nl + 2 + size));
      off = nl + 2 + size + 2;
    }
    body = Buffer.concat(out).toString('utf8');
  } else {
    body = rest.toString('utf8');
  }
  return { status, headers, body, complete };
}

// ---------------------------------------------------------------- assertions helpers

/** Asserts an error body has the relay's error model; returns the parsed error object. */
export function checkErrorModel(assert, bodyText, { code, status } = {}, ctx = '') {
  let j;
  try {
    j = JSON.parse(bodyText);
  } catch {
    assert.fail(`${ctx}: error body is not JSON: ${JSON.stringify(bodyText).slice(0, 300)}`);
  }
  assert.ok(j && typeof j.error === 'object' && j.error, `${ctx}: body lacks "error" object: ${bodyText}`);
  assert.equal(typeof j.error.message, 'string', `${ctx}: error.message not a string: ${bodyText}`);
  assert.ok(j.error.message.length > 0, `${ctx}: empty error.message`);
  assert.equal(typeof j.error.type, 'string', `${ctx}: error.type not a string: ${bodyText}`);
  assert.ok(j.error.type.length > 0, `${ctx}: empty error.type`);
  assert.ok('code' in j.error, `${ctx}: error.code missing: ${bodyText}`);
  assert.ok('param' in j.error, `${ctx}: error.param missing: ${bodyText}`);
  if (code !== undefined) assert.equal(j.error.code, code, `${ctx}: error.code (status ${status}): ${bodyText}`);
  return j.error;
}

export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** Finds every string value of `headers` (object) containing `needle`. */
export function headerHits(headers, needle) {
  const hits = [];
  for (const [k, v] of Object.entries(headers || {})) {
    if (k.includes(needle.toLowerCase()) || String(v).includes(needle)) hits.push(`${k}: ${v}`);
  }
  return hits;
}

// ---------------------------------------------------------------- relay requests

/**
 * fetch() against the relay. auth: 'bearer' (default), 'x-api-key' or null.
 * Returns {status, headers (Headers), text, json}.
 */
export async function relayFetch(relay, pathname, { method = 'POST', body, headers = {}, key = relay.key, auth = 'bearer' } = {}) {
  const h = { ...headers };
  if (body !== undefined && !Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
  if (auth === 'bearer' && key) h.authorization = `Bearer ${key}`;
  if (auth === 'x-api-key' && key) h['x-api-key'] = key;
  const r = await fetch(`${relay.url}${pathname}`, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

/** A unique nonce to find a request in the mock log. */
export const nonce = (p = 'n') => `${p}-${randomBytes(6).toString('hex')}`;

/** Polls `fn` (async, returns truthy when done) every 100 ms until `ms`; returns the last value. */
export async function pollUntil(fn, ms = 1500) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(100);
  }
}

/**
 * The usual suite set-up: a plain-HTTP mock and one relay with one account serving MODELS,
 * started before the suite's tests and stopped after them. `set(mock, relay)` receives them.
 */
export function withHttpMockAndRelay(set) {
  let mock;
  let relay;
  before(async () => {
    mock = await startMock({ tls: false });
    relay = await startRelay(mock, { accounts: [{ name: 'mock-http', scheme: 'http', models: MODELS }] });
    set(mock, relay);
  });
  after(async () => {
    await relay?.stop();
    await mock?.stop();
  });
}
