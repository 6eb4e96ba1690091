// Preload for the soak benchmark's gateway process (node --expose-gc --import ./bench/lib/heap-probe.mjs):
// on SIGUSR2 it forces a full GC and writes process.memoryUsage() as JSON to
// $HEAP_PROBE_FILE (and, with HEAP_PROBE_SNAPSHOT=1, a heap snapshot next to it).
// Not part of the gateway: only the benchmark loads it.
import { writeFileSync, renameSync } from 'node:fs';
import { writeHeapSnapshot } from 'node:v8';

const file = process.env.HEAP_PROBE_FILE;
if (file && typeof globalThis.gc === 'function') {
  let n = 0;
  // The largest V8 heap seen (sampled every 100 ms): the high-water mark RSS keeps.
  let maxHeapTotal = 0;
  setInterval(() => {
    maxHeapTotal = Math.max(maxHeapTotal, process.memoryUsage().heapTotal);
  }, 100).unref();
  process.on('SIGUSR2', () => {
    const beforeGc = process.memoryUsage();
    globalThis.gc();
    globalThis.gc();
    const usage = process.memoryUsage();
    let snapshot;
    if (process.env.HEAP_PROBE_SNAPSHOT === '1') snapshot = writeHeapSnapshot(`${file}.${++n}.heapsnapshot`);
    writeFileSync(`${file}.tmp`, JSON.stringify({ at: Date.now(), ...usage, beforeGc, maxHeapTotal, snapshot }));
    renameSync(`${file}.tmp`, file);
  });
}
