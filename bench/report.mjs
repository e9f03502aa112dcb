// Turns bench/run.sh's results.jsonl into the README's tables: absolute figures per target, and
// each proxy's ratios against nginx and Portkey from the same run.
//   node bench/report.mjs results.jsonl
import fs from 'node:fs';

const rows = fs
  .readFileSync(process.argv[2], 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l));
const get = (target, workload) => rows.find((r) => r.target === target && r.workload === workload);
const targets = [...new Set(rows.map((r) => r.target))];
const proxies = targets.filter((t) => t !== 'direct');

const fmt = (v, digits = 0) => (v === undefined || v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));
const errs = (r) => (r ? r.result.errors : undefined);
const cpuSeconds = (r) => r.proxy_cpu_ticks / r.tick_hz;
const busy = (r) => (r && r.target !== 'direct' ? `${fmt((100 * cpuSeconds(r)) / (r.wall_ms / 1000))} %` : '');

// TTFB the proxy adds over going to the mock directly, at the same concurrency.
// A workload with no completed response has no TTFB: n/a, not the direct figure negated.
const ok = (r) => r && r.result.completed > 0;
const ttfb = (r, pct) => (ok(r) ? r.result.ttfb_us[pct] : undefined);
const addedTtfb = (target, workload, pct) => {
  const r = get(target, workload);
  const d = get('direct', workload);
  if (!ok(r) || !ok(d)) return undefined;
  return r.result.ttfb_us[pct] - d.result.ttfb_us[pct];
};
const w4 = (target) => {
  const r = get(target, 'W4');
  if (!r) return {};
  const open = r.result.connections;
  return {
    complete: `${r.result.completed}/${open}`,
    rssPerStream: r.target === 'direct' ? undefined : (r.rss_peak_kib - r.rss_base_kib) / open,
    rssPeakMiB: r.target === 'direct' ? undefined : r.rss_peak_kib / 1024,
    cpuPer1000: r.target === 'direct' ? undefined : cpuSeconds(r) / (open / 1000),
  };
};

const out = [];
out.push('| target | W1 req/s (64 conn) | W1 proxy core | W2 streams/s (64 conn) | W2 proxy core | W3 TTFB p50 / p99 c=1 (µs) | W3 TTFB p50 / p99 c=64 (µs) | W4 complete | W4 RSS / open stream | W4 peak RSS | W4 CPU s / 1,000 streams | errors W1/W2/W3/W4 |');
out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const t of targets) {
  const [a, b, c, s] = ['W1', 'W2', 'W3c1', 'W4'].map((w) => get(t, w));
  const w = w4(t);
  out.push(
    `| ${t} | ${fmt(a?.result.rps)} | ${busy(a)} | ${fmt(b?.result.rps)} | ${busy(b)} | ` +
      `${fmt(ttfb(c, 'p50'))} / ${fmt(ttfb(c, 'p99'))} | ` +
      `${fmt(ttfb(b, 'p50'))} / ${fmt(ttfb(b, 'p99'))} | ${w.complete ?? 'n/a'} | ` +
      `${w.rssPerStream === undefined ? '' : `${fmt(w.rssPerStream, 1)} KiB`} | ` +
      `${w.rssPeakMiB === undefined ? '' : `${fmt(w.rssPeakMiB, 1)} MiB`} | ${fmt(w.cpuPer1000, 2)} | ` +
      `${errs(a)}/${errs(b)}/${errs(c)}/${errs(s)} |`,
  );
}

out.push('');
out.push('Added TTFB over direct (µs; W3 at c=1, and the W2 run at c=64):');
out.push('');
out.push('| target | c=1 p50 | c=1 p99 | c=64 p50 | c=64 p99 |');
out.push('| --- | ---: | ---: | ---: | ---: |');
for (const t of proxies) {
  const v = [['W3c1', 'p50'], ['W3c1', 'p99'], ['W2', 'p50'], ['W2', 'p99']].map(([w, p]) => fmt(addedTtfb(t, w, p)));
  out.push(`| ${t} | ${v.join(' | ')} |`);
}

const ratio = (x, y) => (x === undefined || y === undefined || !y ? 'n/a' : `${(x / y).toFixed(2)}×`);
for (const base of ['nginx', 'portkey']) {
  if (!targets.includes(base)) continue;
  out.push('');
  out.push(`Ratios against ${base} (same run; higher is better for W1/W2, lower for the rest):`);
  out.push('');
  out.push('| target | W1 | W2 | added TTFB c=1 p50 | c=1 p99 | c=64 p50 | c=64 p99 | RSS / stream | CPU / 1,000 slow |');
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of proxies.filter((p) => p !== base)) {
    const cells = [
      ratio(get(t, 'W1')?.result.rps, get(base, 'W1')?.result.rps),
      ratio(get(t, 'W2')?.result.rps, get(base, 'W2')?.result.rps),
      ...[['W3c1', 'p50'], ['W3c1', 'p99'], ['W2', 'p50'], ['W2', 'p99']].map(([w, p]) =>
        ratio(addedTtfb(t, w, p), addedTtfb(base, w, p)),
      ),
      ratio(w4(t).rssPerStream, w4(base).rssPerStream),
      ratio(w4(t).cpuPer1000, w4(base).cpuPer1000),
    ];
    out.push(`| ${t} | ${cells.join(' | ')} |`);
  }
}
console.log(out.join('\n'));
