// Every run of every target in a results.jsonl, in the order they ran, with the figures the
// targets are judged by; and, for each codex-relay run, its ratios to the mean of the nginx runs
// of the same file. For interleaved rounds (BENCH_TARGETS="nginx relay nginx relay …"), where
// the VM's speed drifts between runs by more than the differences being measured.
//   node bench/rounds.mjs $BENCH_WORK/results.jsonl
import { readFileSync } from 'node:fs';

const rows = readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const cpu = (r) => r.proxy_cpu_ticks / r.tick_hz;
const figures = (r) =>
  r.workload === 'W4'
    ? { rss: (r.rss_peak_kib - r.rss_base_kib) / r.result.connections, cpu: cpu(r) / (r.result.connections / 1000) }
    : { rps: r.result.rps, p50: r.result.ttfb_us.p50, p99: r.result.ttfb_us.p99 };
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const nginx = (workload, key) => mean(rows.filter((r) => r.target === 'nginx' && r.workload === workload).map((r) => figures(r)[key]));

console.log('| # | target | W1 req/s | W2 streams/s | W4 RSS / stream (KiB) | W4 CPU s / 1,000 | W1 / nginx mean | W2 / nginx mean | W4 CPU / nginx mean |');
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
let n = 0;
for (let i = 0; i < rows.length; i++) {
  if (rows[i].workload !== 'W1') continue;
  const t = rows[i].target;
  const run = rows.slice(i).filter((r) => r.target === t);
  const w1 = figures(run.find((r) => r.workload === 'W1')).rps;
  const w2 = figures(run.find((r) => r.workload === 'W2')).rps;
  const w4 = figures(run.find((r) => r.workload === 'W4'));
  const ratios = t === 'relay' ? [w1 / nginx('W1', 'rps'), w2 / nginx('W2', 'rps'), w4.cpu / nginx('W4', 'cpu')].map((x) => `${x.toFixed(2)}×`) : ['', '', ''];
  console.log(`| ${++n} | ${t} | ${w1.toFixed(0)} | ${w2.toFixed(0)} | ${w4.rss.toFixed(1)} | ${w4.cpu.toFixed(2)} | ${ratios.join(' | ')} |`);
}
