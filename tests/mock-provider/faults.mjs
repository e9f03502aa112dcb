// Accounts and per-account fault injection for the mock provider.
//
// The mock accepts several API keys, one per upstream "account". Each key has a label (given as
// `--api-key LABEL=KEY`, else its index "0", "1", ...); the log records the label of the key
// that authenticated a request (`account_label`), never the key itself, so tests can tell which
// relay account served it (the e2e harness labels each key with the relay account's name).
//
// A fault is set per key (or for every key with "*") through `POST /__mock/faults`:
//   {"key":"K" | "label":"L" | "key":"*", "fault":NAME, "arg":..., "count":N|null, "path":P}
// and applies to the next `count` requests authenticated with that key (null: until changed),
// optionally only to requests for `path` (e.g. "/v1/responses"). A key's own fault wins over "*".
// `fault:"none"` removes it. Faults (FAULTS below) win over a body marker; a request with no
// fault plays its marker's scenario as before.

import { createHash } from 'node:crypto';

export const FAULTS = {
  none: 'remove the fault',
  http_500: '500 server_error (code null)',
  http_429: '429 rate_limit_exceeded with Retry-After: ARG seconds (default 1)',
  http_401: '401 invalid_api_key',
  timeout: 'read the request, then send nothing (no status line) until the client goes away',
  failed_before_output:
    'streams: 200, response.created, response.in_progress, response.failed (server_error), end; other requests: 500 server_error',
  slow_first_byte: 'wait ARG ms (default 1000) before the status line, then answer normally (marker scenario)',
};

export const sha8 = (s) => createHash('sha256').update(String(s)).digest('hex').slice(0, 8);

const LABEL_RE = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})=(.+)$/;

/** Parses `--api-key` values (`KEY` or `LABEL=KEY`) into [{label, key}]. */
export function parseKeySpecs(specs) {
  const out = [];
  const labels = new Set();
  const keys = new Set();
  specs.forEach((spec, i) => {
    let label = String(i);
    let key = String(spec);
    const m = LABEL_RE.exec(key);
    if (m) {
      label = m[1];
      key = m[2];
    }
    if (!key) throw new Error(`empty API key in ${JSON.stringify(spec)}`);
    if (labels.has(label)) throw new Error(`duplicate API key label ${label}`);
    if (keys.has(key)) throw new Error(`API key given twice (label ${label})`);
    labels.add(label);
    keys.add(key);
    out.push({ label, key });
  });
  return out;
}

/**
 * The key ring and its faults. `accounts` is [{label, key}]; empty means "no auth" (any or no
 * key is accepted; faults can then only be set with "*").
 */
export function createAccounts(accounts) {
  const byKey = new Map(accounts.map((a) => [a.key, a]));
  const byLabel = new Map(accounts.map((a) => [a.label, a]));
  // label ("*" for every key) -> {fault, arg, remaining, path, hits, set_at_ms}
  const faults = new Map();

  /** The account of a bearer token: {label, key} | null (unknown) | undefined (auth off). */
  function authenticate(token) {
    if (!accounts.length) return undefined;
    return byKey.get(token) ?? null;
  }

  /** Resolves the `key`/`label` of a fault request to a label ("*" included). */
  function resolve(spec) {
    if (spec.key === '*' || spec.label === '*') return '*';
    if (typeof spec.key === 'string') {
      const a = byKey.get(spec.key);
      if (a) return a.label;
      throw new Error(`unknown key (sha256 ${sha8(spec.key)}); the mock knows ${accounts.length} key(s)`);
    }
    if (typeof spec.label === 'string') {
      if (byLabel.has(spec.label)) return spec.label;
      throw new Error(`unknown label ${JSON.stringify(spec.label)}; known: ${[...byLabel.keys()].join(', ')}`);
    }
    throw new Error('give "key" (an API key, or "*") or "label"');
  }

  /** Applies a POST /__mock/faults body; throws on a bad request. */
  function set(spec) {
    if (!spec || typeof spec !== 'object') throw new Error('body must be a JSON object');
    const label = resolve(spec);
    let name = spec.fault;
    let arg = spec.arg ?? null;
    if (typeof name !== 'string') throw new Error('"fault" must be a string');
    // "slow_first_byte:1500" and "http_429:3" are accepted too.
    const i = name.indexOf(':');
    if (i > 0) {
      if (arg === null) arg = name.slice(i + 1);
      name = name.slice(0, i);
    }
    if (!(name in FAULTS)) throw new Error(`unknown fault ${JSON.stringify(name)}; known: ${Object.keys(FAULTS).join(', ')}`);
    if (name === 'none') {
      faults.delete(label);
      return label;
    }
    const count = spec.count ?? null;
    if (count !== null && !(Number.isInteger(count) && count > 0)) throw new Error('"count" must be a positive integer or null');
    if (arg !== null && !Number.isFinite(Number(arg))) throw new Error('"arg" must be a number');
    const path = spec.path ?? null;
    if (path !== null && typeof path !== 'string') throw new Error('"path" must be a string or null');
    faults.set(label, { fault: name, arg: arg === null ? null : Number(arg), remaining: count, path, hits: 0 });
    return label;
  }

  /**
   * The fault for a request from `label` (null when auth is off) to `path`, consuming one of
   * its count; null when none applies. Returns {fault, arg, on} (on: the label it was set on).
   */
  function take(label, path) {
    for (const on of label === null || label === undefined ? ['*'] : [label, '*']) {
      const f = faults.get(on);
      if (!f || (f.path !== null && f.path !== path)) continue;
      f.hits++;
      if (f.remaining !== null && --f.remaining <= 0) faults.delete(on);
      return { fault: f.fault, arg: f.arg, on };
    }
    return null;
  }

  function list() {
    return [...faults.entries()].map(([label, f]) => ({
      label,
      key_sha256: label === '*' ? null : sha8(byLabel.get(label).key),
      fault: f.fault,
      arg: f.arg,
      remaining: f.remaining,
      path: f.path,
      hits: f.hits,
    }));
  }

  return {
    authenticate,
    set,
    take,
    list,
    clear: () => faults.clear(),
    labels: () => accounts.map((a) => ({ label: a.label, key_sha256: sha8(a.key) })),
  };
}
