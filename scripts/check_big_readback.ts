/**
 * Manual check of large WebGPU transfers (issue 14): fills a float32 tensor of N elements on the
 * GPU (default 2^29 + 1024, just over 2 GiB, the size whose readback used to crash node with
 * SIGSEGV), reads it back and verifies every element. Too heavy for the test suite on a software
 * adapter (about 7 GB of host memory on lavapipe); tests/webgpu/faults.test.ts checks the
 * chunking itself with a small chunk size.
 *
 *   XDG_RUNTIME_DIR=/tmp nice -n 19 npx tsx scripts/check_big_readback.ts [elements] [chunkBytes]
 */
import { full, initWebGPU, webgpuRuntime } from '../src/index.js';

const n = Number(process.argv[2] ?? 2 ** 29 + 1024);
await initWebGPU();
const rt = webgpuRuntime();
if (process.argv[3]) rt.transferChunkBytes = Number(process.argv[3]);
const t0 = performance.now();
const x = full([n], 3, { device: 'webgpu' });
const x2 = x.add(x.mul(0)).sub(1); // some GPU work on every window of the buffer
const data = await x2.data();
let bad = 0;
for (let i = 0; i < data.length; i++) if (data[i] !== 2) bad++;
console.log(
  JSON.stringify({
    elements: n,
    bytes: n * 4,
    read: data.length,
    wrong: bad,
    chunkBytes: rt.transferChunkBytes,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    peakGpuBytes: rt.peakBytes,
  }),
);
if (bad !== 0 || data.length !== n) process.exit(1);
