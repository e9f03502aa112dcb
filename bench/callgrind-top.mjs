// The functions with the most instructions of their own in a callgrind profile, per request:
//   node bench/callgrind-top.mjs /tmp/codex-relay-instr/callgrind.out.1 REQUESTS [N]
// (callgrind_annotate 3.19 puts the whole of a profile dumped by callgrind_control under
// `clone`, the threads' entry point; this reads the file's cost lines itself.)
import { readFileSync } from 'node:fs';

const [file, requests = '1', top = '40'] = process.argv.slice(2);
const names = new Map();
const own = new Map();
let fn = null;
let afterCalls = false;
for (const line of readFileSync(file, 'latin1').split('\n')) {
  const m = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
  if (m) {
    if (m[3]) names.set(m[2], m[3]);
    if (m[1] === 'fn') fn = names.get(m[2]) ?? m[2];
    continue;
  }
  if (line.startsWith('calls=')) {
    afterCalls = true; // the next cost line is the call's inclusive cost, not this function's
    continue;
  }
  if (!/^[0-9+*-]/.test(line)) continue;
  if (afterCalls) {
    afterCalls = false;
    continue;
  }
  const cost = Number(line.split(' ')[1]);
  if (fn && Number.isFinite(cost)) own.set(fn, (own.get(fn) ?? 0) + cost);
}
const total = [...own.values()].reduce((a, b) => a + b, 0);
const rows = [...own].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
for (const [name, cost] of rows)
  console.log(`${(cost / Number(requests)).toFixed(0).padStart(9)} ${((100 * cost) / total).toFixed(1).padStart(5)} %  ${name.slice(0, 140)}`);
