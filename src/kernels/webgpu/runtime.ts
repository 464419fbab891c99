/**
 * The WebGPU runtime under the kernels: storage buffers from a size-class pool, a pipeline cache,
 * one shared command encoder that collects dispatches and is submitted in batches, uniform
 * parameters, error scopes, and readback (the only wait on the GPU).
 *
 * Buffer reuse rule: commands run in queue order and WebGPU orders dispatches within an
 * encoder, so a buffer freed after being used by recorded-but-unsubmitted dispatches may be
 * reused as the output of a later dispatch; but it may NOT receive a `queue.writeBuffer`
 * (which executes before the pending encoder is submitted). To keep one simple rule, a buffer
 * freed while commands are pending returns to the pool only at the next submit.
 */
import type { Storage } from '../backend.js';
import { itemsize, type DType, type TypedArray } from '../../core/dtype.js';
import type { AdapterReport } from './device.js';
import type { WebGPUBuffer, WebGPUComputePipeline, WebGPUDevice } from './gpu_types.js';

/**
 * The GPU (or, on a software adapter, the host) has no memory for an allocation. Thrown by
 * `alloc`/`upload` when a buffer would exceed {@link GpuRuntime.memoryLimit} (after emptying the
 * buffer pool), and at the next readback when the device itself reports an out-of-memory error.
 */
export class GpuOutOfMemoryError extends Error {
  override name = 'GpuOutOfMemoryError';
  constructor(
    message: string,
    /** Bytes asked for (0 when the device reported the error). */
    readonly requestedBytes = 0,
    /** Bytes held by live storages at the time. */
    readonly liveBytes = 0,
  ) {
    super(message);
  }
}

/**
 * Largest single buffer copy, mapping or queue write, in bytes (256 MiB). Dawn crashes the process
 * (SIGSEGV) on a readback of 2 GiB or more done as one copy; chunks of this size stay far below.
 * {@link GpuRuntime.transferChunkBytes} overrides it per runtime (a test sets a small value).
 */
export const DEFAULT_TRANSFER_CHUNK_BYTES = 256 << 20;

/** Default {@link GpuRuntime.memoryLimit}: 75 % of host RAM for a software adapter (its buffers live there), else none. */
function defaultMemoryLimit(report: AdapterReport): number {
  if (!report.isSoftware) return Infinity;
  const os = (globalThis as { process?: { getBuiltinModule?: (m: string) => { totalmem?: () => number } | undefined } }).process?.getBuiltinModule?.('node:os');
  const total = os?.totalmem?.();
  return total ? Math.floor(total * 0.75) : Infinity;
}

/** A GPU storage: one GPUBuffer holding `size` elements. */
let nextStorageId = 1;

export class GpuStorage implements Storage {
  readonly device = 'webgpu' as const;
  /** Unique per storage object (cache tags name the storages a derived copy was made from). */
  readonly id = nextStorageId++;
  freed = false;
  /** Bumped by every dispatch that binds this storage writable (see GpuRuntime.cachedDerived). */
  version = 0;
  /** Copies derived from the contents at `version` (e.g. repacked weights), by key; null when none. */
  derived: Map<string, DerivedCopy> | null = null;
  constructor(
    readonly dtype: DType,
    readonly size: number,
    readonly buffer: WebGPUBuffer,
  ) {}
  get byteLength(): number {
    return this.size * itemsize(this.dtype);
  }
}

/** A cached copy derived from a storage's contents (see GpuRuntime.cachedDerived). */
export interface DerivedCopy {
  /** The source's version this entry was counted or made at. */
  version: number;
  /** Uses of the key at that version. */
  uses: number;
  /** What else the copy was made from (other storages' ids and versions, settings). */
  tag: string;
  copy: GpuStorage | null;
}

/** A binding of part of a storage, in elements. */
export interface BindingRange {
  storage: GpuStorage;
  offset: number;
  size: number;
}
export type Binding = GpuStorage | BindingRange;

/** Uniform parameters: u32/i32 words first, then f32 words (kernels declare their struct in that order). */
export interface Uniforms {
  u?: number[];
  f?: number[];
}

const STORAGE_USAGE = GPUBufferUsageFlags();

function GPUBufferUsageFlags(): number {
  // GPUBufferUsage is a global only after the WebGPU implementation is loaded; the numeric
  // values are fixed by the spec.
  const STORAGE = 0x80, COPY_SRC = 0x04, COPY_DST = 0x08;
  return STORAGE | COPY_SRC | COPY_DST;
}
const UNIFORM_USAGE = 0x40 | 0x08;
/** Entries of the uniform-block and bind-group caches (see GpuRuntime.uniformCache, groupCache). */
const UNIFORM_CACHE = 4096;
const GROUP_CACHE = 8192;
const MAP_READ = 0x01;
const COPY_DST = 0x08;

/** Bytes a buffer of `bytes` is rounded up to, so buffers of similar sizes are shared. */
function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 16);
  if (b <= 4096) return 1 << Math.ceil(Math.log2(b));
  // Above 4 KiB: 8 classes per power of two (at most 12.5% waste).
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 8;
  return Math.ceil(b / step) * step;
}

const sleepCell = typeof SharedArrayBuffer !== 'undefined' ? new Int32Array(new SharedArrayBuffer(4)) : null;

/** Promises waited on through gentleAwait and not yet settled, over all runtimes. */
let waiters = 0;
/** When the newest of them started waiting (ms, performance.now()). */
let newestWait = 0;
let sleeperRunning = false;

/**
 * The one sleeper loop (however many promises are waited on, so sleeps do not add up): one turn
 * of the event loop (Dawn's queued tick runs first and may settle promises; I/O callbacks run),
 * then a sleep of 1/16 of the newest wait so far (20 us to 2 ms), while anything is waited on.
 */
async function sleeper(): Promise<void> {
  sleeperRunning = true;
  try {
    for (;;) {
      await new Promise<void>((r) => setImmediate(r));
      if (waiters === 0) return;
      Atomics.wait(sleepCell!, 0, 0, Math.min(2, Math.max(0.02, (performance.now() - newestWait) / 16)));
    }
  } finally {
    sleeperRunning = false;
  }
}

/** See GpuRuntime.settle. */
async function gentleAwait<T>(p: Promise<T>): Promise<T> {
  waiters++;
  newestWait = performance.now();
  if (!sleeperRunning) void sleeper();
  try {
    return await p;
  } finally {
    waiters--;
  }
}

/** Whether this thread may block in Atomics.wait (not a browser or Electron renderer main thread). */
function canBlock(): boolean {
  if (!sleepCell || typeof setImmediate !== 'function') return false;
  if (typeof process === 'undefined' || !process.versions?.node) return false;
  if ((globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu) return false; // not Dawn's binding
  try {
    Atomics.wait(sleepCell, 0, 1, 0); // returns 'not-equal' where allowed, throws where not
    return true;
  } catch {
    return false;
  }
}

export class GpuRuntime {
  readonly limits: AdapterReport['limits'];
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatchesSinceSubmit = 0;
  /** Bind group layouts by pipeline (getBindGroupLayout makes a new object per call). */
  private layouts = new WeakMap<GPUComputePipeline, GPUBindGroupLayout>();
  /**
   * One validation error scope spans the commands recorded between two submits (a scope per
   * dispatch cost ~15 of its ~35 us of encoding in Dawn's Node binding); `scopeOps` names the ops
   * recorded under it, for the message. Pipeline creation and allocations nest their own scopes.
   */
  private scopeOps: Set<string> | null = null;
  /** Free storage buffers by size class: usable by dispatches at once. */
  private freeNow = new Map<number, GPUBuffer[]>();
  /** Freed since the last submit: not yet safe for writeBuffer uploads. */
  private freedPending: [number, GPUBuffer][] = [];
  /**
   * Uniform blocks by content (their bytes as a string key): written once, never rewritten, so a
   * dispatch with the same parameters as an earlier one binds the same buffer without a
   * writeBuffer, and its bind group can be reused (groupCache). Least recently used first; at
   * UNIFORM_CACHE entries the oldest is evicted (destroyed after the next submit).
   */
  private uniformCache = new Map<string, GPUBuffer>();
  private uniformEvicted: GPUBuffer[] = [];
  /**
   * Bind groups by (pipeline, buffers, offsets, sizes, uniform block): repeated inference and
   * training steps bind the same pooled buffers in the same order, and Dawn's createBindGroup was
   * about half of a dispatch's encoding (~10-15 us in Node). Keys hold per-object ids that are
   * never reused, so a group of a destroyed buffer (an evicted uniform block, a trimmed pool) can
   * never be hit again; it ages out (least recently used first, GROUP_CACHE entries at most).
   */
  private groupCache = new Map<string, GPUBindGroup>();
  /** Capacity of the uniform-block cache (a setting for tests of its eviction). */
  uniformCacheSize = UNIFORM_CACHE;
  /** Bind groups created so far (the others came from the cache; tests read it). */
  bindGroupsMade = 0;
  private objIds = new WeakMap<object, number>();
  private nextObjId = 1;
  private pipelines = new Map<string, GPUComputePipeline>();
  /** Per pipeline, the binding indices its shader declares read_write (their storages get a new version). */
  private writable = new WeakMap<object, number[]>();
  private errors: Promise<string | null>[] = [];
  /** Device-side checks: one u32 that failing kernels atomicMax their check id into. */
  private statusStorage: GpuStorage | null = null;
  private checks = new Map<number, string>();
  private nextCheck = 1;
  private lostReason: string | null = null;
  /** Bytes held by live storages. */
  liveBytes = 0;
  /** Highest liveBytes seen. */
  peakBytes = 0;
  /** Bytes held by the pool (free buffers kept for reuse). */
  pooledBytes = 0;
  /** Dispatches recorded since the runtime was created. */
  dispatchCount = 0;
  /** Submit after this many dispatches even without a readback, to keep the GPU busy. */
  submitEvery = 64;
  /** Sleep instead of spinning while waiting on the GPU (Node.js with Dawn; see settle()). */
  gentleWait = canBlock();
  /**
   * Largest single copy, mapping or queue write, in bytes (a multiple of 8; default
   * {@link DEFAULT_TRANSFER_CHUNK_BYTES}). Larger readbacks and uploads are split into chunks.
   */
  transferChunkBytes = DEFAULT_TRANSFER_CHUNK_BYTES;
  /**
   * Most bytes of storage buffers (live plus pooled) this runtime creates; an allocation beyond it
   * throws {@link GpuOutOfMemoryError} instead of letting the driver fail (lavapipe, whose buffers
   * are host memory, crashes the process). Default: 75 % of host RAM on a software adapter,
   * unlimited on a GPU (whose driver reports out-of-memory errors itself).
   */
  memoryLimit: number;

  constructor(
    readonly device: WebGPUDevice,
    readonly report: AdapterReport,
  ) {
    this.limits = report.limits;
    this.memoryLimit = defaultMemoryLimit(report);
    device.lost.then((info) => {
      this.lostReason = `${info.reason}: ${info.message}`;
    });
    device.addEventListener?.('uncapturederror', (ev: Event) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.errors.push(Promise.resolve(`uncaptured WebGPU error: ${err.message}`));
    });
  }

  private checkLost(op: string): void {
    if (this.lostReason) throw new Error(`${op}: the WebGPU device was lost (${this.lostReason}); call initWebGPU() again`);
  }

  // ---------------- memory ----------------

  alloc(dtype: DType, size: number): GpuStorage {
    this.checkLost('alloc');
    const bytes = size * itemsize(dtype);
    if (bytes > this.limits.maxBufferSize) {
      throw new RangeError(`alloc: ${bytes} bytes exceeds the adapter's maxBufferSize ${this.limits.maxBufferSize}`);
    }
    const cls = sizeClass(bytes);
    const list = this.freeNow.get(cls);
    let buf = list?.pop();
    if (buf) this.pooledBytes -= cls;
    else buf = this.createBuffer(cls, 'alloc', size, dtype);
    this.liveBytes += cls;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    return new GpuStorage(dtype, size, buf);
  }

  /** Chunk size for copies and writes: a positive multiple of 8 bytes. */
  private chunkBytes(): number {
    return Math.max(8, Math.floor(this.transferChunkBytes / 8) * 8);
  }

  private createBuffer(bytes: number, op: string, elements?: number, dtype?: DType): GPUBuffer {
    if (this.liveBytes + this.pooledBytes + bytes > this.memoryLimit) {
      this.trimPool();
      if (this.liveBytes + bytes > this.memoryLimit) {
        const what = elements === undefined ? '' : ` for ${elements} ${dtype} elements`;
        throw new GpuOutOfMemoryError(
          `${op}: out of GPU memory: a buffer of ${bytes} bytes${what} would bring the ${this.liveBytes} bytes held by live tensors past ` +
            `the runtime's memoryLimit of ${this.memoryLimit} bytes (free tensors with dispose()/tidy(), or raise webgpuRuntime().memoryLimit)`,
          bytes,
          this.liveBytes,
        );
      }
    }
    this.device.pushErrorScope('out-of-memory');
    const buf = this.device.createBuffer({ size: bytes, usage: STORAGE_USAGE });
    this.errors.push(this.device.popErrorScope().then((e) => (e ? `${op}: out of GPU memory allocating ${bytes} bytes (${e.message})` : null)));
    return buf;
  }

  upload(data: TypedArray, dtype: DType): GpuStorage {
    this.checkLost('upload');
    const bytes = data.length * itemsize(dtype);
    const cls = sizeClass(bytes);
    // Buffers in freeNow have no unsubmitted uses, so writeBuffer into them is safe (see header).
    let buf = this.freeNow.get(cls)?.pop();
    if (buf) this.pooledBytes -= cls;
    else buf = this.createBuffer(cls, 'upload', data.length, dtype);
    this.liveBytes += cls;
    this.peakBytes = Math.max(this.peakBytes, this.liveBytes);
    if (bytes > 0) {
      const src = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, bytes);
      // writeBuffer needs a multiple of 4 bytes; all our dtypes are 4 or 8 bytes. Large data goes
      // in chunks (see transferChunkBytes).
      const chunk = this.chunkBytes();
      for (let off = 0; off < bytes; off += chunk) this.device.queue.writeBuffer(buf, off, src, off, Math.min(chunk, bytes - off));
    }
    return new GpuStorage(dtype, data.length, buf);
  }

  free(s: GpuStorage): void {
    if (s.freed) return;
    s.freed = true;
    this.dropDerived(s);
    const cls = s.buffer.size;
    this.liveBytes -= cls;
    this.pooledBytes += cls;
    if (this.encoder) this.freedPending.push([cls, s.buffer]);
    else this.pushFree(cls, s.buffer);
  }

  private pushFree(cls: number, buf: GPUBuffer): void {
    let l = this.freeNow.get(cls);
    if (!l) this.freeNow.set(cls, (l = []));
    l.push(buf);
  }

  /** Destroys every pooled buffer (they are recreated on demand). */
  trimPool(): void {
    this.flush();
    for (const l of this.freeNow.values()) for (const b of l) b.destroy();
    this.freeNow.clear();
    this.groupCache.clear(); // their buffers are gone: free the groups now rather than as they age out
    this.pooledBytes = 0;
  }

  // ---------------- pipelines ----------------

  /** A compute pipeline for WGSL `code` (entry point `main`), compiled once per `key`. */
  pipeline(key: string, code: string | (() => string)): WebGPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const src = typeof code === 'string' ? code : code();
      this.device.pushErrorScope('validation');
      const module = this.device.createShaderModule({ code: src, label: key });
      p = this.device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: key });
      this.errors.push(this.device.popErrorScope().then((e) => (e ? `pipeline '${key}': ${e.message}` : null)));
      this.pipelines.set(key, p);
      this.writable.set(p, [...src.matchAll(/@binding\((\d+)\)\s*var<storage,\s*read_write>/g)].map((m) => Number(m[1])));
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  // ---------------- dispatch ----------------

  private getEncoder(): GPUCommandEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  private getPass(): GPUComputePassEncoder {
    if (!this.pass) this.pass = this.getEncoder().beginComputePass();
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  /** A small id per GPU object (buffers, pipelines) for cache keys. */
  private objId(o: object): number {
    let id = this.objIds.get(o);
    if (id === undefined) this.objIds.set(o, (id = this.nextObjId++));
    return id;
  }

  /** The uniform buffer holding `u` (u32 words, then f32 words): from the content cache, or written now. */
  private uniformBuffer(u: Uniforms): GPUBuffer {
    const words = (u.u?.length ?? 0) + (u.f?.length ?? 0);
    const bytes = Math.max(16, Math.ceil((words * 4) / 16) * 16);
    // Uniform buffers are a fixed 256 bytes so they all share one size.
    if (bytes > 256) throw new Error(`dispatch: uniform block of ${bytes} bytes exceeds 256`);
    const ab = new ArrayBuffer(bytes);
    const dv = new DataView(ab);
    let o = 0;
    for (const v of u.u ?? []) {
      dv.setUint32(o, v >>> 0, true);
      o += 4;
    }
    for (const v of u.f ?? []) {
      dv.setFloat32(o, v, true);
      o += 4;
    }
    const key = String.fromCharCode.apply(null, new Uint16Array(ab) as unknown as number[]);
    let buf = this.uniformCache.get(key);
    if (buf) {
      this.uniformCache.delete(key); // most recently used last
      this.uniformCache.set(key, buf);
      return buf;
    }
    if (this.uniformCache.size >= this.uniformCacheSize) {
      const [oldKey, oldBuf] = this.uniformCache.entries().next().value as [string, GPUBuffer];
      this.uniformCache.delete(oldKey);
      this.uniformEvicted.push(oldBuf); // recorded commands may still bind it: destroyed after the next submit
    }
    buf = this.device.createBuffer({ size: 256, usage: UNIFORM_USAGE });
    this.device.queue.writeBuffer(buf, 0, ab);
    this.uniformCache.set(key, buf);
    return buf;
  }

  /**
   * Records one dispatch. `bindings` are bound to @group(0) @binding(0..n-1) in order, then the
   * uniform block (if any) at @binding(n). `workgroups` may be a total count (spread over x and
   * y when above the per-dimension limit: kernels compute their linear workgroup id as
   * wid.x + wid.y * nwg.x) or explicit [x, y, z].
   * @throws RangeError when a binding exceeds maxStorageBufferBindingSize (split the work instead).
   */
  dispatch(op: string, pipeline: WebGPUComputePipeline, bindings: Binding[], uniforms: Uniforms | null, workgroups: number | [number, number, number]): void {
    this.checkLost(op);
    const entries: GPUBindGroupEntry[] = bindings.map((b, i) => {
      const s = b instanceof GpuStorage ? b : b.storage;
      if (s.freed) throw new Error(`${op}: binding ${i} uses a freed buffer`);
      const isz = itemsize(s.dtype);
      const offset = b instanceof GpuStorage ? 0 : b.offset * isz;
      const size = Math.max(4, (b instanceof GpuStorage ? s.size : b.size) * isz);
      if (size > this.limits.maxStorageBufferBindingSize) {
        throw new RangeError(`${op}: binding ${i} is ${size} bytes, over maxStorageBufferBindingSize ${this.limits.maxStorageBufferBindingSize}`);
      }
      return { binding: i, resource: { buffer: s.buffer, offset, size: Math.min(size, s.buffer.size - offset) } };
    });
    const ub = uniforms ? this.uniformBuffer(uniforms) : null;
    if (ub) entries.push({ binding: bindings.length, resource: { buffer: ub } });
    const [x, y, z] = typeof workgroups === 'number' ? this.spread(workgroups) : workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max) throw new RangeError(`${op}: workgroup grid [${x}, ${y}, ${z}] exceeds ${max} per dimension`);
    for (const i of this.writable.get(pipeline) ?? []) {
      const b = bindings[i];
      if (!b) continue;
      const st = b instanceof GpuStorage ? b : b.storage;
      st.version++;
      if (st.derived) this.dropDerived(st);
    }
    this.openScope(op);
    let layout = this.layouts.get(pipeline);
    if (!layout) this.layouts.set(pipeline, (layout = pipeline.getBindGroupLayout(0)));
    let key = `${this.objId(pipeline)}`;
    for (const e of entries) {
      const r = e.resource as GPUBufferBinding;
      key += `|${this.objId(r.buffer)}:${r.offset ?? 0}:${r.size ?? -1}`;
    }
    let group = this.groupCache.get(key);
    if (group) {
      this.groupCache.delete(key);
      this.groupCache.set(key, group);
    } else {
      group = this.device.createBindGroup({ label: op, layout, entries });
      this.bindGroupsMade++;
      if (this.groupCache.size >= GROUP_CACHE) this.groupCache.delete(this.groupCache.keys().next().value as string);
      this.groupCache.set(key, group);
    }
    const pass = this.getPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
    if (++this.dispatchesSinceSubmit >= this.submitEvery) this.flush();
  }

  /** Whether cachedDerived keeps copies (tests and benchmarks compare with false). */
  derivedCache = true;

  /**
   * A copy derived from `s`'s current contents under `key` (e.g. weights repacked for a kernel),
   * made by `make` once `s` has been used `after` times for `key` without being written in
   * between; null before that (the caller then takes its uncached path). The copy is freed as
   * soon as a dispatch binds `s` writable (an optimizer step, a load_state_dict) or `s` is freed,
   * so training, which writes the weights between uses, never holds one, while repeated
   * inference reuses it from the `after`-th call. A copy that also depends on other storages or
   * settings passes them as `tag` (e.g. their ids and versions): a different tag replaces it.
   */
  cachedDerived(s: GpuStorage, key: string, after: number, make: () => GpuStorage, tag = ''): GpuStorage | null {
    if (!this.derivedCache) return null;
    const map = (s.derived ??= new Map());
    let e = map.get(key);
    if (!e || e.version !== s.version || e.tag !== tag) {
      if (e?.copy) this.free(e.copy);
      e = { version: s.version, uses: 0, copy: null, tag };
      map.set(key, e);
    }
    e.uses++;
    if (!e.copy && e.uses >= after) e.copy = make();
    return e.copy;
  }

  /**
   * Keeps `copy`, derived from `s`'s current contents, under `key` for one more `takeDerived`
   * (a count: two kernels that read the same operand, e.g. a residual block's conv1 and its
   * projection shortcut on the block's input, share one copy); freed with the last take, or when
   * `s` is written or freed. Takes ownership of `copy`; a copy already kept under `key` for these
   * contents (see peekDerived) is counted again instead.
   */
  keepDerived(s: GpuStorage, key: string, copy: GpuStorage): void {
    if (!this.derivedCache || s.freed) {
      this.free(copy);
      return;
    }
    const map = (s.derived ??= new Map());
    const e = map.get(key);
    if (e && e.copy === copy && e.version === s.version) {
      e.uses++;
      return;
    }
    if (e?.copy) this.free(e.copy);
    map.set(key, { version: s.version, uses: 1, copy, tag: '' });
  }

  /** The copy kept under `key` for `s`'s current contents, or null; the count is unchanged. */
  peekDerived(s: GpuStorage, key: string): GpuStorage | null {
    const e = s.derived?.get(key);
    return e && e.version === s.version && e.copy ? e.copy : null;
  }

  /**
   * Counts one take of the copy kept under `key` for `s`'s current contents. Returns it, with
   * `last` true when this was the last expected take: the entry is gone and the caller frees the
   * copy after its use; null when there is none (a stale one is freed).
   */
  takeDerived(s: GpuStorage, key: string): { copy: GpuStorage; last: boolean } | null {
    const e = s.derived?.get(key);
    if (!e) return null;
    if (e.version !== s.version || !e.copy) {
      s.derived!.delete(key);
      if (e.copy) this.free(e.copy);
      return null;
    }
    if (--e.uses > 0) return { copy: e.copy, last: false };
    s.derived!.delete(key);
    return { copy: e.copy, last: true };
  }

  /** Frees every copy derived from `s`. */
  private dropDerived(s: GpuStorage): void {
    const map = s.derived;
    if (!map) return;
    s.derived = null;
    for (const e of map.values()) if (e.copy) this.free(e.copy);
  }

  /** Splits a total workgroup count into an [x, y, 1] grid within the per-dimension limit. */
  spread(total: number): [number, number, number] {
    const max = this.limits.maxComputeWorkgroupsPerDimension;
    if (total <= max) return [total, 1, 1];
    const y = Math.ceil(total / max);
    return [Math.ceil(total / y), y, 1];
  }

  /** Records a buffer-to-buffer copy (bytes), as copies of at most transferChunkBytes each. */
  copyBuffer(src: WebGPUBuffer, srcOffset: number, dst: WebGPUBuffer, dstOffset: number, bytes: number): void {
    this.openScope('copy');
    this.endPass();
    const enc = this.getEncoder();
    const chunk = this.chunkBytes();
    for (let off = 0; off < bytes; off += chunk) enc.copyBufferToBuffer(src, srcOffset + off, dst, dstOffset + off, Math.min(chunk, bytes - off));
    this.copyCount += Math.max(1, Math.ceil(bytes / chunk));
  }

  /**
   * Zeroes elements [start, start + len) of a storage with the queue's clearBuffer. On lavapipe it
   * is a memset: 151 MB in ~3 ms, where a vec4-store kernel took ~16 ms (2 cores, 2026-12-05).
   * @throws RangeError when the byte range is not a multiple of 4 (float16 ranges of odd length)
   * or lies outside the storage; Error on a freed storage.
   */
  clear(s: GpuStorage, start: number, len: number): void {
    this.checkLost('clear');
    if (s.freed) throw new Error('clear: the storage was freed');
    if (len <= 0) return;
    const isz = itemsize(s.dtype);
    const offset = start * isz, bytes = len * isz;
    if (start < 0 || start + len > s.size || offset % 4 !== 0 || bytes % 4 !== 0) {
      throw new RangeError(`clear: elements [${start}, ${start + len}) of a ${s.dtype} storage of ${s.size} are not a 4-byte-aligned range inside it`);
    }
    s.version++;
    if (s.derived) this.dropDerived(s);
    this.openScope('clear');
    this.endPass();
    this.getEncoder().clearBuffer(s.buffer, offset, bytes);
    this.dispatchCount++;
    if (++this.dispatchesSinceSubmit >= this.submitEvery) this.flush();
  }

  /** Buffer copies recorded so far (each chunk counts; tests check that large copies are split). */
  copyCount = 0;

  /** Opens the validation scope of the commands up to the next submit, if none is open; records `op` in it. */
  private openScope(op: string): void {
    if (!this.scopeOps) {
      this.device.pushErrorScope('validation');
      this.scopeOps = new Set();
    }
    this.scopeOps.add(op);
  }

  /** Closes the scope opened by openScope (after the submit, whose own validation it covers). */
  private closeScope(): void {
    const ops = this.scopeOps;
    if (!ops) return;
    this.scopeOps = null;
    const names = [...ops];
    const who = names.length === 1 ? names[0]! : `one of ${names.length} ops since the last submit (${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''})`;
    this.errors.push(this.device.popErrorScope().then((e) => (e ? `${who}: ${e.message}` : null)));
  }

  /** Submits the recorded commands (no wait). */
  flush(): void {
    this.endPass();
    if (this.encoder) {
      this.device.queue.submit([this.encoder.finish()]);
      this.encoder = null;
    }
    this.closeScope();
    this.dispatchesSinceSubmit = 0;
    for (const [cls, b] of this.freedPending) this.pushFree(cls, b);
    this.freedPending = [];
    // evicted uniform blocks: the submitted work was the last to bind them
    for (const b of this.uniformEvicted) b.destroy();
    this.uniformEvicted = [];
  }

  /**
   * Awaits a promise that Dawn's Node binding resolves. While any of its promises is pending, the
   * binding re-queues an event-processing tick on every turn of the event loop, so the main
   * thread spins at 100 % of a core; on a software adapter that core is taken from the driver's
   * worker threads (matmul 1024^3 on lavapipe, 2 cores: 9.5 GFLOP/s spinning, 27-29 not). Here
   * the thread instead sleeps between event-loop turns, for 1/16 of the time waited so far (at
   * most 2 ms; one sleeper however many waits are pending), which keeps the added latency under
   * about 6 %. Browsers (no spin, and no Atomics.wait on the main thread) await directly.
   */
  private settle<T>(p: Promise<T>): Promise<T> {
    if (!this.gentleWait) return p;
    return gentleAwait(p);
  }

  /**
   * A device-side check (like CUDA's device asserts) for data that only the GPU sees, e.g. class
   * indices: the kernel binds `storage` (one atomic u32) and, when its check fails, does
   * `atomicMax(&status[0], id)`. The next readback (`read`, `sync`) sees the flag and throws an
   * Error with `message` (which should name the op and the rule broken); the flag is then cleared.
   */
  deviceCheck(message: string): { storage: GpuStorage; id: number } {
    if (!this.statusStorage) {
      const buf = this.createBuffer(16, 'deviceCheck');
      this.device.queue.writeBuffer(buf, 0, new Uint32Array(4));
      this.statusStorage = new GpuStorage('int32', 4, buf);
    }
    if (this.nextCheck >= 0x7fffffff) this.nextCheck = 1;
    const id = this.nextCheck++;
    this.checks.set(id, message);
    return { storage: this.statusStorage, id };
  }

  /**
   * Interprets the status word read back (and cleared) with the work recorded before check id
   * `upTo`: those checks are settled; later ones stay registered.
   */
  private settleChecks(status: number, upTo: number, messages: Map<number, string>): void {
    const msg = status ? (messages.get(status) ?? 'a device-side check failed') : null;
    for (const id of [...this.checks.keys()]) if (id < upTo) this.checks.delete(id);
    if (msg) throw new Error(`${msg} (detected on the GPU; reported at the first readback after that call, which may be of an unrelated tensor)`);
  }

  /** Throws the first WebGPU error reported so far, naming its op. */
  async checkErrors(): Promise<void> {
    const pending = this.errors;
    this.errors = [];
    const msgs = (await Promise.all(pending)).filter((m): m is string => m !== null);
    if (!msgs.length) return;
    const oom = msgs.find((m) => m.includes('out of GPU memory'));
    const more = msgs.length > 1 ? ` (and ${msgs.length - 1} more)` : '';
    if (oom) throw new GpuOutOfMemoryError(`WebGPU error: ${oom}${more}`);
    throw new Error(`WebGPU error: ${msgs[0]}${more}`);
  }

  /** Waits for all submitted work, then reports errors. */
  async sync(): Promise<void> {
    this.flush();
    if (this.checks.size && this.statusStorage) {
      // a read of the status word waits for all submitted work (queue order) and settles the
      // device-side checks: one round trip instead of onSubmittedWorkDone plus a read
      await this.read(this.statusStorage, Int32Array);
    } else {
      await this.settle(this.device.queue.onSubmittedWorkDone());
    }
    this.checkLost('sync');
    await this.checkErrors();
  }

  /**
   * Reads a whole storage back. The copies to staging buffers are recorded at once (so the data
   * read is the data as of this call), in chunks of at most transferChunkBytes, each mapped and
   * copied out in turn: one copy or mapping of 2 GiB or more crashes Dawn.
   */
  async read(s: GpuStorage, ArrayType: new (b: ArrayBuffer) => TypedArray): Promise<TypedArray> {
    this.checkLost('read');
    if (s.freed) throw new Error('read: storage was freed');
    const bytes = s.byteLength;
    const padded = Math.max(4, Math.ceil(bytes / 4) * 4);
    const withStatus = this.checks.size > 0 && this.statusStorage !== null;
    const chunk = this.chunkBytes();
    const stagings: { buf: GPUBuffer; off: number; n: number }[] = [];
    for (let off = 0; off < padded; off += chunk) {
      const n = Math.min(chunk, padded - off);
      const status = off === 0 && withStatus ? 4 : 0;
      const buf = this.device.createBuffer({ size: n + status, usage: MAP_READ | COPY_DST });
      this.copyBuffer(s.buffer, off, buf, 0, n);
      if (status) {
        // copy then clear in the same encoder: exactly the failures recorded before this point are
        // reported here, and later ones set the cleared word again
        this.copyBuffer(this.statusStorage!.buffer, 0, buf, n, 4);
        this.getEncoder().clearBuffer(this.statusStorage!.buffer, 0, 4);
      }
      stagings.push({ buf, off, n });
    }
    const upTo = this.nextCheck;
    // messages as of this copy: a concurrent read may settle (and forget) these ids first
    const messages = withStatus ? new Map(this.checks) : null;
    this.flush();
    const out = new ArrayBuffer(bytes);
    let status = 0;
    try {
      for (const st of stagings) {
        try {
          await this.settle(st.buf.mapAsync(0x0001));
        } catch (e) {
          this.checkLost('read');
          await this.checkErrors();
          throw e;
        }
        const mapped = st.buf.getMappedRange();
        const keep = Math.min(st.n, bytes - st.off);
        if (keep > 0) new Uint8Array(out, st.off, keep).set(new Uint8Array(mapped, 0, keep));
        if (st.off === 0 && withStatus) status = new Uint32Array(mapped, st.n, 1)[0]!;
        st.buf.unmap();
      }
    } finally {
      for (const st of stagings) st.buf.destroy();
    }
    await this.checkErrors();
    if (withStatus) this.settleChecks(status, upTo, messages!);
    return new ArrayType(out);
  }
}
