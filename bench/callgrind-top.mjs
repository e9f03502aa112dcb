// The functions with the most instructions of their own in a callgrind profile, per request,
// after each thread's total (its entry function's inclusive cost):
//   node bench/callgrind-top.mjs /tmp/codex-relay-instr/callgrind.out.1 REQUESTS [N]
// The io thread's total is the figure to compare between builds: the record journal's consumer
// costs more per record when its transactions are small, as they are at callgrind's pace.
// (callgrind_annotate 3.19 puts the whole of a profile dumped by callgrind_control under
// `clone`, the threads' entry point; this reads the file's cost lines itself.)
import { readFileSync } from 'node:fs';

const [file, requests = '1', top = '40'] = process.argv.slice(2);
const names = new Map();
const own = new Map();
const inclusive = new Map(); // own cost plus the inclusive cost of every call made
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
  const cost = Number(line.split(' ')[1]);
  if (fn && Number.isFinite(cost)) inclusive.set(fn, (inclusive.get(fn) ?? 0) + cost);
  if (afterCalls) {
    afterCalls = false;
    continue;
  }
  if (fn && Number.isFinite(cost)) own.set(fn, (own.get(fn) ?? 0) + cost);
}
const total = [...own.values()].reduce((a, b) => a + b, 0);
const perRequest = (cost) => (cost / Number(requests)).toFixed(0).padStart(9);
for (const [name, cost] of inclusive) {
  if (!name.startsWith('std::thread::_State_impl')) continue;
  const what = /run_server/.test(name) ? 'io thread' : /JournalQueue/.test(name) ? 'record journal' : 'thread';
  if (cost / Number(requests) >= 1) console.log(`${perRequest(cost)}  ${what}: ${name.slice(0, 100)}`);
}
const rows = [...own].sort((a, b) => b[1] - a[1]).slice(0, Number(top));
for (const [name, cost] of rows)
  console.log(`${(cost / Number(requests)).toFixed(0).padStart(9)} ${((100 * cost) / total).toFixed(1).padStart(5)} %  ${name.slice(0, 140)}`);
