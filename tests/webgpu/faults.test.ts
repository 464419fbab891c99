/**
 * WebGPU faults (issue 14): large transfers are split into chunks (one copy or mapping of 2 GiB
 * or more crashes Dawn; the chunk size is a runtime setting, so a small chunk exercises the split
 * on small tensors here), allocations past the runtime's memory limit throw GpuOutOfMemoryError
 * and leave the accounting intact, and a device-side target check names the op call that raised it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { arange, cross_entropy, GpuOutOfMemoryError, nll_loss, tensor, tidy, webgpuRuntime, zeros } from '../../src/index.js';
import { DEFAULT_TRANSFER_CHUNK_BYTES } from '../../src/kernels/webgpu/runtime.js';
import { gpuAvailable } from '../helpers/webgpu.js';

const hasGpu = await gpuAvailable();

describe.runIf(hasGpu)('webgpu faults', () => {
  afterEach(() => {
    const rt = webgpuRuntime();
    rt.transferChunkBytes = DEFAULT_TRANSFER_CHUNK_BYTES;
    rt.memoryLimit = Infinity;
  });

  it('readback and upload are split into chunks of transferChunkBytes; values are exact', async () => {
    const rt = webgpuRuntime();
    expect(DEFAULT_TRANSFER_CHUNK_BYTES).toBe(256 << 20);
    rt.transferChunkBytes = 64; // 16 float32 per chunk
    const n = 1001; // not a multiple of the chunk
    const values = Float32Array.from({ length: n }, (_, i) => i * 0.5 - 7);
    const x = tensor(values, { device: 'webgpu' }); // uploaded in 63 writes
    const before = rt.copyCount;
    const back = await x.data();
    expect(rt.copyCount - before).toBe(Math.ceil((n * 4) / 64)); // 63 copies, one per chunk
    expect(Array.from(back)).toEqual(Array.from(values));
    const ints = arange(0, 777, 1, { device: 'webgpu', dtype: 'int32' });
    expect(Array.from(await ints.data())).toEqual(Array.from({ length: 777 }, (_, i) => i));
    // chunks are rounded down to a multiple of 8 bytes
    rt.transferChunkBytes = 13;
    const c0 = rt.copyCount;
    expect(Array.from(await x.mul(2).data())).toEqual(Array.from(values, (v) => v * 2));
    expect(rt.copyCount - c0).toBe(Math.ceil((n * 4) / 8));
    // a read of a tensor disposed right after the call still returns the data as of the call
    const y = x.add(1);
    const pending = y.data();
    y.dispose();
    expect((await pending)[1000]).toBe(values[1000]! + 1);
    x.dispose();
    ints.dispose();
  });

  it('a device-side check is still reported by a chunked readback', async () => {
    const rt = webgpuRuntime();
    rt.transferChunkBytes = 16;
    const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i / 7), { shape: [3, 4], device: 'webgpu' });
    cross_entropy(x, tensor([0, 9, 1], { dtype: 'int32', device: 'webgpu' }));
    await expect(x.sum().data()).rejects.toThrow(/cross_entropy: a target is out of bounds/);
    expect((await x.sum().data())[0]).toBeCloseTo(66 / 7, 5);
    x.dispose();
  });

  it('an allocation past memoryLimit throws GpuOutOfMemoryError, empties the pool first, and corrupts nothing', async () => {
    const rt = webgpuRuntime();
    rt.trimPool();
    const live0 = rt.liveBytes;
    rt.memoryLimit = live0 + (3 << 20); // 3 MiB of headroom
    let err: unknown;
    try {
      zeros([1 << 20], { device: 'webgpu' }); // 4 MiB
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as GpuOutOfMemoryError).requestedBytes).toBe(4 << 20);
    expect((err as Error).message).toBe(
      `alloc: out of GPU memory: a buffer of 4194304 bytes for 1048576 float32 elements would bring the ${live0} bytes held by live tensors past ` +
        `the runtime's memoryLimit of ${live0 + (3 << 20)} bytes (free tensors with dispose()/tidy(), or raise webgpuRuntime().memoryLimit)`,
    );
    expect(rt.liveBytes).toBe(live0);
    await expect(() => tensor(new Float32Array(1 << 20), { device: 'webgpu' })).toThrow(/^upload: out of GPU memory/);
    // 2 MiB fits; freed, it waits in the pool; another 2 MiB of a different size class then
    // needs the pool emptied first, which the runtime does before giving up
    const a = zeros([1 << 19], { device: 'webgpu' });
    a.dispose();
    await webgpuRuntime().sync();
    expect(rt.pooledBytes).toBeGreaterThanOrEqual(2 << 20);
    const b = zeros([(1 << 19) + 70_000], { device: 'webgpu' });
    expect(rt.pooledBytes).toBe(0);
    expect(Array.from((await b.data()).subarray(0, 3))).toEqual([0, 0, 0]);
    b.dispose();
    rt.memoryLimit = Infinity;
    const c = zeros([1 << 20], { device: 'webgpu' });
    expect((await c.data()).length).toBe(1 << 20);
    c.dispose();
  });

  it('the target-check message names the op, its call number, the target and the caller', async () => {
    const x = tensor(Float32Array.from({ length: 12 }, (_, i) => i), { shape: [3, 4], device: 'webgpu' });
    const grab = async (p: Promise<unknown>) => String(await p.then(() => 'no error', (e: unknown) => (e as Error).message));
    cross_entropy(x, tensor([0, 4, 1], { dtype: 'int32', device: 'webgpu' }));
    const m1 = await grab(x.sum().data()); // reported by an unrelated readback
    expect(m1).toMatch(
      /^cross_entropy: a target is out of bounds \(not in \[0, 4\) and not ignore_index -100\); raised by cross_entropy call #(\d+) \(target \[3\] on webgpu, called from .*faults\.test\.ts:\d+:\d+\)?\); that call's loss and gradients are not valid \(detected on the GPU; reported at the first readback after that call, which may be of an unrelated tensor\)$/,
    );
    const n1 = Number(/call #(\d+)/.exec(m1)![1]);
    cross_entropy(x, tensor([0, 1, 2], { dtype: 'int32', device: 'webgpu' })); // a good call counts too
    cross_entropy(x, tensor([[-5], [0], [1]], { dtype: 'int32', device: 'webgpu' }).reshape([3]));
    const m3 = await grab(x.max().data());
    expect(m3).toContain(`raised by cross_entropy call #${n1 + 2} (target [3] on webgpu`);
    nll_loss(x.log_softmax(1), tensor([9, 0, 0], { dtype: 'int32', device: 'webgpu' }));
    expect(await grab(x.sum().data())).toMatch(/^nll_loss: a target is out of bounds .*raised by nll_loss call #\d+ \(target \[3\] on webgpu, called from /);
    x.dispose();
  });

  it('a WebGPU validation error in a dispatch is reported at the next sync, naming the op (one scope per submit)', async () => {
    const rt = webgpuRuntime();
    await rt.sync();
    // binding 0 needs at least 16 bytes (a vec4); a 1-element storage is bound: invalid bind group
    const pipe = rt.pipeline('test: vec4 binding', '@group(0) @binding(0) var<storage, read_write> a: array<vec4<f32>>;\n@compute @workgroup_size(1) fn main() { a[0] = vec4<f32>(1.0); }');
    const small = rt.alloc('float32', 1);
    const other = arange(0, 8, 1, { device: 'webgpu' }).mul(2); // another op in the same batch
    rt.dispatch('bad_op', pipe, [{ storage: small, offset: 0, size: 1 }], null, 1);
    const err = await rt.sync().then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/^WebGPU error: one of \d+ ops since the last submit \((.*, )?bad_op(, .*)?\): /);
    other.dispose(); // (its commands were in the invalid command buffer: WebGPU runs none of them)
    // the runtime keeps working; a clean batch reports nothing
    const ok = arange(0, 8, 1, { device: 'webgpu' }).mul(2);
    expect(Array.from(await ok.data())).toEqual([0, 2, 4, 6, 8, 10, 12, 14]);
    ok.dispose();
    await rt.sync();
    rt.dispatch('bad_op', pipe, [{ storage: small, offset: 0, size: 1 }], null, 1);
    await expect(rt.sync()).rejects.toThrow(/^WebGPU error: bad_op: /);
    rt.free(small);
  });

  it('bind groups and uniform blocks are reused for repeated dispatches; evicted uniform blocks leave correct results', async () => {
    const rt = webgpuRuntime();
    const x = arange(0, 64, 1, { device: 'webgpu' });
    // intermediates disposed, so the next call gets the same pooled buffers back (as a training or inference loop)
    const f = async (k: number) => {
      const y = tidy(() => x.mul(k).add(k));
      const v = Array.from(await y.data());
      y.dispose();
      return v;
    };
    const want = (k: number) => Array.from({ length: 64 }, (_, i) => i * k + k);
    // the pool hands buffers back in a cycle: from the third call the same dispatches bind the same buffers
    for (let i = 0; i < 3; i++) expect(await f(3)).toEqual(want(3));
    const made = rt.bindGroupsMade;
    expect(await f(3)).toEqual(want(3));
    expect(rt.bindGroupsMade, 'no new bind group for a repeated call').toBe(made);
    // a tiny cache: every new parameter block evicts one (destroyed after the next submit)
    const saved = rt.uniformCacheSize;
    rt.uniformCacheSize = 2;
    try {
      for (let k = 1; k <= 12; k++) expect(await f(k + 0.5)).toEqual(want(k + 0.5));
      expect(await f(3)).toEqual(want(3)); // evicted long ago: written again
      await rt.sync(); // no validation error from a destroyed uniform buffer
    } finally {
      rt.uniformCacheSize = saved;
    }
    x.dispose();
  });
});
