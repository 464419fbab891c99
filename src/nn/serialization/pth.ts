/**
 * Reading PyTorch checkpoints (`torch.save` output) without Python and without executing
 * anything from the file.
 *
 * Two container formats exist (see torch/serialization.py):
 *  - the zip format (default since PyTorch 1.6): a zip archive whose entries share one top-level
 *    folder `<archive>/`: `data.pkl` (the pickled object), `data/<key>` (the raw bytes of each
 *    storage), `version`, and since 2.1 `byteorder` ('little' or 'big'; little when absent);
 *  - the legacy format (`_use_new_zipfile_serialization=False`, and everything before 1.6): five
 *    pickles in a row (magic number 0x1950a86a20f9469cfc6c, protocol version 1001, a sys-info
 *    dict with `little_endian`, the object, the list of storage keys), then for each key in that
 *    order an int64 element count followed by the storage's raw bytes.
 *
 * In both, a tensor is pickled as a call `torch._utils._rebuild_tensor_v2(storage, offset, size,
 * stride, requires_grad, backward_hooks[, metadata])` whose storage is a persistent id
 * `('storage', torch.<Type>Storage, key, location, numel)` (legacy: plus a view descriptor).
 * The restricted unpickler in ./pickle.ts only lets through the globals listed in
 * {@link ALLOWED_GLOBALS} and the storage classes; anything else ("os.system",
 * "builtins.eval", a pickled nn.Module class...) is refused before anything is built.
 *
 * Tensors are rebuilt as contiguous copies honoring offset and strides, with dtypes mapped as
 * in ./convert.ts (float16/bfloat16 -> float32, int64 and the small integer types -> int32,
 * int64 values outside the int32 range throw).
 *
 * A hostile file costs time and memory in proportion to its size, not more: data.pkl may inflate
 * to at most max(32 MiB, 16 x the file); the unpickler's work (opcodes, items, call arguments,
 * text) is bounded by max(8M, 16 x file bytes) units, capped at 64M, with at most 4M memo entries
 * and 1000 nested MARKs (see ./pickle.ts); zip entries may not share bytes (./zip.ts); and the
 * tensors built may take at most 4 x the bytes of the storages the file holds, plus 64 MiB, so a
 * stride-0 view of a few bytes is refused rather than materialized into gigabytes.
 */
import { Tensor } from '../../tensor/tensor.js';
import { tensor } from '../../tensor/ops/creation.js';
import type { Device } from '../../tensor/device.js';
import { isFloating, itemsize } from '../../tensor/dtype.js';
import { checkLoadDevice, decodeStorage, MAX_NDIM, ELEMENT_SIZE, gather, Int32RangeError, loadedDType, needsInt32Check, type Decoded, type StorageDType } from './convert.js';
import { CheckpointError, FileSource, MemorySource, setProp, type ByteSource } from './io.js';
import { DEFAULT_PICKLE_LIMITS, describe, isTuple, MAX_KEY_CHARS, PickleError, PickleTruncatedError, PyDict, PyGlobal, unpickle, type UnpickleLimits, type UnpicklerHooks } from './pickle.js';
import { ZipReader } from './zip.js';

/** Options for {@link load_pth}. */
export interface LoadPthOptions {
  /** Where tensors are created (default 'cpu'). */
  device?: Device;
  /** Verify the zip CRC-32 of every entry read (default true). */
  verify_crc?: boolean;
}

/** Globals a checkpoint may name (besides the storage classes). Nothing here runs user code. */
export const ALLOWED_GLOBALS: readonly string[] = [
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch.Size',
  // Protocol 2 has no bytes opcode: bytes pickle as _codecs.encode(text, 'latin1'), b'' as bytes().
  '_codecs.encode',
  'builtins.bytes',
  '__builtin__.bytes',
  'numpy.dtype',
  'numpy.core.multiarray.scalar',
  'numpy._core.multiarray.scalar',
];

/**
 * Bounds that keep a small crafted file from costing much more than its size (see
 * {@link pickleLimits}, {@link maxPickleBytes} and the Materializer's byte allowance).
 */
/** Work units the unpickler may spend per byte of the file (a state dict needs well under 1). */
const PICKLE_WORK_PER_FILE_BYTE = 16;
/** Upper bound of the unpickler's work, whatever the file size (keeps every JS array far below V8's limit). */
const PICKLE_MAX_WORK = 64_000_000;
/** A data.pkl may inflate to at most this many bytes, or 16 bytes per byte of the file when that is more. */
const PICKLE_BYTES_FLOOR = 32 << 20;
/** Tensors may take this many bytes beyond {@link MATERIALIZE_FACTOR} x the storages the file holds. */
const MATERIALIZE_FLOOR = 64 << 20;
/**
 * Tensors built from a file may take at most this many times the bytes of the storages it holds
 * (float16 storages double in size as float32; a weight and its saved transpose share a storage).
 */
const MATERIALIZE_FACTOR = 4;

/** The unpickler limits for a file of `fileSize` bytes: work scales with the file, within fixed bounds. */
function pickleLimits(fileSize: number): UnpickleLimits {
  return { maxWork: Math.min(PICKLE_MAX_WORK, Math.max(DEFAULT_PICKLE_LIMITS.maxWork, PICKLE_WORK_PER_FILE_BYTE * fileSize)) };
}

/** Largest data.pkl accepted from a file of `fileSize` bytes (a deflated entry can inflate 1032x). */
function maxPickleBytes(fileSize: number): number {
  return Math.max(PICKLE_BYTES_FLOOR, 16 * fileSize);
}

/** Storage classes, by class name, as `torch.save` names them (torch.*, torch.cuda.*, torch.storage.*). */
const STORAGE_TYPES: Readonly<Record<string, StorageDType>> = {
  FloatStorage: 'float32',
  DoubleStorage: 'float64',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  // Untyped storages hold bytes (torch 1.12 spelled it _UntypedStorage).
  UntypedStorage: 'uint8',
  _UntypedStorage: 'uint8',
};
const STORAGE_MODULES = new Set(['torch', 'torch.cuda', 'torch.storage']);

/** A storage class named in a persistent id. */
class StorageType {
  constructor(
    readonly qualname: string,
    readonly dtype: StorageDType,
  ) {}
}

/** A whole storage as written in the file: `data/<key>` (zip) or one block (legacy). */
interface RootStorage {
  key: string;
  dtype: StorageDType;
  /** Elements (of `dtype`) the file must hold for this storage. */
  numel: number;
  location: string;
  /** Legacy format: absolute offset of the raw bytes. */
  dataOffset?: number;
}

/** The storage a tensor reads: a root storage, or (legacy) an element range of one. */
class StorageView {
  constructor(
    readonly root: RootStorage,
    readonly dtype: StorageDType,
    readonly elemOffset: number,
    readonly numel: number,
  ) {}
  get cacheKey(): string {
    return `${this.root.key}\u0000${this.dtype}\u0000${this.elemOffset}\u0000${this.numel}`;
  }
}

/** A tensor described by the pickle, materialized after unpickling. */
class TensorRef {
  constructor(
    readonly storage: StorageView,
    readonly offset: number,
    readonly size: readonly number[],
    readonly stride: readonly number[],
    readonly requiresGrad: boolean,
  ) {}
}

/** A numpy dtype (for numpy scalars stored in checkpoints, e.g. a `best_acc` of type np.float64). */
class NumpyDType {
  littleEndian = true;
  constructor(readonly code: string) {}
}

const NUMPY_SCALARS: Readonly<Record<string, { size: number; read: (dv: DataView, le: boolean) => number | bigint | boolean }>> = {
  f8: { size: 8, read: (dv, le) => dv.getFloat64(0, le) },
  f4: { size: 4, read: (dv, le) => dv.getFloat32(0, le) },
  f2: { size: 2, read: (dv, le) => halfBits(dv.getUint16(0, le)) },
  i8: { size: 8, read: (dv, le) => safeBig(dv.getBigInt64(0, le)) },
  i4: { size: 4, read: (dv, le) => dv.getInt32(0, le) },
  i2: { size: 2, read: (dv, le) => dv.getInt16(0, le) },
  i1: { size: 1, read: (dv) => dv.getInt8(0) },
  u8: { size: 8, read: (dv, le) => safeBig(dv.getBigUint64(0, le)) },
  u4: { size: 4, read: (dv, le) => dv.getUint32(0, le) },
  u2: { size: 2, read: (dv, le) => dv.getUint16(0, le) },
  u1: { size: 1, read: (dv) => dv.getUint8(0) },
  b1: { size: 1, read: (dv) => dv.getUint8(0) !== 0 },
};

function halfBits(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const f = h & 0x3ff;
  const v = e === 0 ? f * 2 ** -24 : e === 31 ? (f ? NaN : Infinity) : (1024 + f) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}
function safeBig(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const REFUSE_HINT =
  'only tensors, state dicts and plain Python values (dict, list, tuple, str, int, float, bool, None) can be loaded safely; ' +
  'this checkpoint pickles some other Python object (a whole nn.Module, an argparse.Namespace, a custom class...). ' +
  'Re-save the weights from Python with torch.save(model.state_dict(), path), converting other values to plain types';

function refuseMessage(module: string, name: string): string {
  const q = `${module}.${name}`;
  let why = REFUSE_HINT;
  if (module.startsWith('__torch__')) why = 'this looks like a TorchScript archive (torch.jit.save); save model.state_dict() with torch.save instead';
  else if (/^torch(\.cuda|\.storage)?$/.test(module) && name.endsWith('Storage')) why = `storage type ${q} is not supported (complex and quantized tensors cannot be loaded)`;
  else if (module === 'torch._utils') why = `${q} builds a tensor kind that is not supported here (quantized, sparse, meta, or nested tensors); only dense strided tensors load`;
  return `refusing to load global ${q}: ${why}`;
}

/** The unpickler hooks for `torch.save` checkpoints; records the storages the pickle uses. */
class PthHooks implements UnpicklerHooks {
  readonly roots = new Map<string, RootStorage>();
  constructor(
    private readonly file: string,
    private readonly legacy: boolean,
  ) {}

  private fail(msg: string): never {
    throw new PickleError(`${this.file}: ${msg}`, this.file);
  }

  findClass(module: string, name: string): unknown {
    const q = `${module}.${name}`;
    if (ALLOWED_GLOBALS.includes(q)) return new PyGlobal(module, name);
    if (STORAGE_MODULES.has(module) && Object.hasOwn(STORAGE_TYPES, name)) return new StorageType(q, STORAGE_TYPES[name]!);
    throw new PickleError(`${this.file}: ${refuseMessage(module, name)}`, this.file);
  }

  persistentLoad(pid: unknown): unknown {
    if (!isTuple(pid) || pid.length === 0) this.fail(`persistent id must be a tuple, got ${describe(pid)}`);
    const kind = asText(pid[0]);
    if (kind === 'module') this.fail(`the checkpoint pickles a whole nn.Module (persistent id 'module'); ${REFUSE_HINT}`);
    if (kind !== 'storage') this.fail(`unknown persistent id kind ${JSON.stringify(kind)}`);
    const want = this.legacy ? 6 : 5;
    if (pid.length !== want) this.fail(`storage persistent id has ${pid.length} fields, expected ${want}`);
    const [, type, rawKey, rawLoc, numel] = pid;
    if (!(type instanceof StorageType)) this.fail(`storage persistent id names ${describe(type)}, not a storage class`);
    const key = asText(rawKey);
    const location = asText(rawLoc);
    if (key === undefined || location === undefined) this.fail('storage key and location must be strings');
    if (!isCount(numel)) this.fail(`storage '${key}': element count ${String(numel)} is not a non-negative integer`);
    const st = type as StorageType;
    let root = this.roots.get(key!);
    if (!root) {
      root = { key: key!, dtype: st.dtype, numel: numel as number, location: location! };
      this.roots.set(key!, root);
    } else if (this.legacy && (root.dtype !== st.dtype || root.numel !== numel)) {
      this.fail(`storage '${key}' is described twice with different types or sizes`);
    } else if (!this.legacy && ELEMENT_SIZE[st.dtype] * (numel as number) > ELEMENT_SIZE[root.dtype] * root.numel) {
      // zip format (torch >= 2): one untyped storage may back tensors of several dtypes.
      root.dtype = st.dtype;
      root.numel = numel as number;
    }
    if (!this.legacy) return new StorageView(root, st.dtype, 0, numel as number);
    const view = pid[5];
    if (view === null) return new StorageView(root, st.dtype, 0, numel as number);
    if (!isTuple(view) || view.length !== 3 || !isCount(view[1]) || !isCount(view[2])) this.fail(`storage '${key}': malformed view metadata`);
    const off = (view as readonly unknown[])[1] as number;
    const n = (view as readonly unknown[])[2] as number;
    if (off + n > root.numel) this.fail(`storage '${key}': view [${off}, ${off + n}) exceeds the storage's ${root.numel} elements`);
    return new StorageView(root, st.dtype, off, n);
  }

  reduce(fn: unknown, args: readonly unknown[]): unknown {
    if (!(fn instanceof PyGlobal)) this.fail(`cannot call ${describe(fn)}`);
    const g = fn as PyGlobal;
    switch (g.qualname) {
      case 'collections.OrderedDict': {
        const d = new PyDict();
        if (args.length === 0) return d;
        const items = args[0];
        if (args.length !== 1 || !Array.isArray(items)) this.fail('OrderedDict() expects no arguments or a list of pairs');
        for (const it of items as unknown[]) {
          if (!Array.isArray(it) || it.length !== 2) this.fail('OrderedDict() expects (key, value) pairs');
          try {
            d.set((it as unknown[])[0], (it as unknown[])[1]);
          } catch (e) {
            this.fail((e as Error).message);
          }
        }
        return d;
      }
      case 'torch._utils._rebuild_tensor_v2':
        if (args.length !== 6 && args.length !== 7) this.fail(`_rebuild_tensor_v2 expects 6 or 7 arguments, got ${args.length}`);
        return this.rebuild(args[0], args[1], args[2], args[3], args[4] === true);
      case 'torch._utils._rebuild_tensor':
        if (args.length !== 4) this.fail(`_rebuild_tensor expects 4 arguments, got ${args.length}`);
        return this.rebuild(args[0], args[1], args[2], args[3], false);
      case 'torch._utils._rebuild_parameter':
      case 'torch._utils._rebuild_parameter_with_state': {
        const t = args[0];
        if (!(t instanceof TensorRef) || args.length < 3) this.fail(`${g.name} expects (tensor, requires_grad, hooks, ...)`);
        const r = t as TensorRef;
        return new TensorRef(r.storage, r.offset, r.size, r.stride, args[1] === true);
      }
      case 'torch.Size': {
        const dims = args.length === 0 ? Object.freeze([]) : args[0];
        if (!Array.isArray(dims) || !dims.every(isCount)) this.fail('torch.Size expects a tuple of sizes');
        return Object.freeze([...(dims as number[])]);
      }
      case '_codecs.encode': {
        const [text, enc] = args;
        if (args.length !== 2 || typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) {
          this.fail("_codecs.encode is only accepted as encode(text, 'latin1'), the way pickle writes bytes");
        }
        const out = new Uint8Array((text as string).length);
        for (let i = 0; i < out.length; i++) {
          const c = (text as string).charCodeAt(i);
          if (c > 255) this.fail('_codecs.encode: text is not latin-1');
          out[i] = c;
        }
        return out;
      }
      case 'builtins.bytes':
      case '__builtin__.bytes':
        if (args.length !== 0) this.fail('bytes() is only accepted without arguments');
        return new Uint8Array(0);
      case 'numpy.dtype': {
        const code = asText(args[0]);
        if (code === undefined) this.fail('numpy.dtype expects a type code');
        return new NumpyDType(code!);
      }
      case 'numpy.core.multiarray.scalar':
      case 'numpy._core.multiarray.scalar': {
        const [dt, raw] = args;
        if (!(dt instanceof NumpyDType)) this.fail('numpy scalar without a dtype');
        const d = dt as NumpyDType;
        const spec = Object.hasOwn(NUMPY_SCALARS, d.code) ? NUMPY_SCALARS[d.code] : undefined;
        if (!spec) this.fail(`numpy scalars of dtype '${d.code}' are not supported`);
        const bytes = typeof raw === 'string' ? Uint8Array.from(raw, (c) => c.charCodeAt(0) & 0xff) : raw;
        if (!(bytes instanceof Uint8Array) || bytes.length !== spec!.size) this.fail(`numpy '${d.code}' scalar needs ${spec!.size} bytes`);
        const b = bytes as Uint8Array;
        return spec!.read(new DataView(b.buffer, b.byteOffset, b.byteLength), d.littleEndian);
      }
    }
    return this.fail(`${g.qualname} cannot be called`);
  }

  build(obj: unknown, state: unknown): unknown {
    if (obj instanceof PyDict) {
      // An OrderedDict's instance __dict__ (a state dict's `_metadata`): kept, not applied.
      obj.state = state;
      return obj;
    }
    if (obj instanceof TensorRef) return obj; // Python attributes set on a tensor: ignored
    if (obj instanceof NumpyDType) {
      if (isTuple(state) && state.length >= 2) obj.littleEndian = state[1] !== '>';
      return obj;
    }
    return this.fail(`cannot set the state of ${describe(obj)}`);
  }

  private rebuild(storage: unknown, offset: unknown, size: unknown, stride: unknown, requiresGrad: boolean): TensorRef {
    if (!(storage instanceof StorageView)) this.fail(`tensor storage must come from a persistent id, got ${describe(storage)}`);
    const st = storage as StorageView;
    if (!isCount(offset)) this.fail(`tensor storage offset ${String(offset)} is not a non-negative integer`);
    if (!Array.isArray(size) || !size.every(isCount)) this.fail(`tensor size ${describe(size)} is not a tuple of non-negative integers`);
    if ((size as unknown[]).length > MAX_NDIM) this.fail(`tensor has ${(size as unknown[]).length} dimensions, more than ${MAX_NDIM}`);
    if (!Array.isArray(stride) || stride.length !== (size as unknown[]).length || !stride.every(isCount)) {
      this.fail('tensor stride must be a tuple of non-negative integers, one per dimension');
    }
    const sz = [...(size as number[])];
    const sd = [...(stride as number[])];
    let n = 1;
    let last = offset as number;
    for (let d = 0; d < sz.length; d++) {
      n *= sz[d]!;
      last += (sz[d]! - 1) * sd[d]!;
    }
    if (n > 0x7fffffff) this.fail(`tensor of shape [${sz.join(', ')}] has ${n} elements, more than this library supports`);
    if (n > 0 && last >= st.numel) {
      this.fail(`tensor view (offset ${String(offset)}, size [${sz.join(', ')}], stride [${sd.join(', ')}]) reaches element ${last} of a storage of ${st.numel}`);
    }
    return new TensorRef(st, offset as number, sz, sd, requiresGrad);
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function asText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder('latin1').decode(v);
  return undefined;
}

/** Hooks for the legacy format's header pickles: plain values only. */
const PLAIN_HOOKS: UnpicklerHooks = {
  findClass(module, name) {
    throw new PickleError(refuseMessage(module, name));
  },
  persistentLoad() {
    throw new PickleError('unexpected persistent id');
  },
  reduce(fn) {
    throw new PickleError(`cannot call ${describe(fn)}`);
  },
  build(obj) {
    throw new PickleError(`cannot set the state of ${describe(obj)}`);
  },
};

/** How to fetch a root storage's raw bytes. */
type StorageReader = (root: RootStorage) => Promise<Uint8Array>;

const MAX_DEPTH = 1000;

/**
 * Turns the unpickled graph into JS values and Tensors. Objects referenced several times stay
 * shared; cycles (a list containing itself) are refused, so results are always finite trees/DAGs.
 * All-or-nothing: on error, disposes the tensors it made.
 */
class Materializer {
  private readonly memo = new Map<object, unknown>();
  private readonly active = new Set<object>();
  private readonly made: Tensor[] = [];
  private readonly raw = new Map<string, Uint8Array>();
  private readonly decoded = new Map<string, Decoded>();
  private readonly uses = new Map<string, number>();
  /** Bytes the tensors made so far take, and the most they may take (see MATERIALIZE_FACTOR). */
  private madeBytes = 0;
  private allowance = MATERIALIZE_FLOOR;
  private readonly keys = new WeakMap<object, string | undefined>();

  constructor(
    private readonly file: string,
    private readonly read: StorageReader,
    private readonly littleEndian: boolean,
    private readonly device: Device | undefined,
  ) {}

  async run(root: unknown): Promise<unknown> {
    this.countUses(root);
    try {
      return await this.value(root, '', 0);
    } catch (e) {
      for (const t of this.made) t.dispose();
      throw e;
    }
  }

  /** Counts the tensors reading each root storage, so its bytes can be dropped after the last. */
  private countUses(root: unknown): void {
    const seen = new Set<object>();
    const todo: unknown[] = [root];
    while (todo.length) {
      const v = todo.pop();
      if (typeof v !== 'object' || v === null || seen.has(v)) continue;
      seen.add(v);
      if (v instanceof TensorRef || v instanceof StorageView) {
        const r = (v instanceof TensorRef ? v.storage : v).root;
        const k = r.key;
        if (!this.uses.has(k)) this.allowance += MATERIALIZE_FACTOR * r.numel * ELEMENT_SIZE[r.dtype];
        this.uses.set(k, (this.uses.get(k) ?? 0) + 1);
      } else if (v instanceof PyDict) {
        for (const [k, x] of v.items.values()) todo.push(k, x);
      } else if (Array.isArray(v)) {
        for (const x of v) todo.push(x);
      }
    }
  }

  private fail(msg: string, path: string): never {
    throw new CheckpointError(`${this.file}: ${path ? `'${path}': ` : ''}${msg}`, this.file, path || undefined);
  }

  private async value(v: unknown, path: string, depth: number): Promise<unknown> {
    if (v === null || typeof v !== 'object' || v instanceof Uint8Array) return v;
    if (this.memo.has(v)) return this.memo.get(v);
    if (this.active.has(v)) this.fail('the checkpoint contains a recursive structure', path);
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`, path);
    this.active.add(v);
    let out: unknown;
    if (v instanceof TensorRef) {
      out = await this.tensor(v, path);
    } else if (v instanceof StorageView) {
      out = await this.tensor(new TensorRef(v, 0, [v.numel], [1], false), path);
    } else if (v instanceof PyDict) {
      const obj: Record<string, unknown> = {};
      for (const [k, x] of v.items.values()) {
        const key = this.jsKey(k, path);
        if (key === undefined) this.fail(`dict key of type ${describe(k)} cannot become a JS property name`, path);
        if (Object.hasOwn(obj, key!)) this.fail(`two dict keys both become the JS property '${key}'`, path);
        setProp(obj, key!, await this.value(x, path ? `${path}.${key}` : key!, depth + 1));
      }
      out = obj;
    } else if (Array.isArray(v)) {
      const arr: unknown[] = [];
      for (let i = 0; i < v.length; i++) arr.push(await this.value(v[i], `${path}[${i}]`, depth + 1));
      out = arr;
    } else if (v instanceof NumpyDType) {
      out = v.code;
    } else {
      this.fail(`cannot represent ${describe(v)} as a value`, path);
    }
    this.active.delete(v);
    this.memo.set(v, out);
    return out;
  }

  /** {@link jsKey} with its result cached per tuple and its length bounded. */
  private jsKey(k: unknown, path: string): string | undefined {
    if (!isTuple(k)) return jsKey(k);
    if (this.keys.has(k)) return this.keys.get(k);
    const parts: string[] = [];
    let len = 0;
    for (const x of k) {
      const p = this.jsKey(x, path);
      if (p === undefined) {
        this.keys.set(k, undefined);
        return undefined;
      }
      len += p.length + 2;
      if (len > MAX_KEY_CHARS) this.fail(`a tuple dict key becomes a property name longer than ${MAX_KEY_CHARS} characters`, path);
      parts.push(p);
    }
    const out = `(${parts.join(', ')}${parts.length === 1 ? ',' : ''})`;
    this.keys.set(k, out);
    return out;
  }

  private async tensor(r: TensorRef, path: string): Promise<Tensor> {
    const view = r.storage;
    const root = view.root;
    const dtype = loadedDType(view.dtype);
    const device = this.device ?? 'cpu';
    let numel = 1;
    for (const s of r.size) numel *= s;
    try {
      checkLoadDevice(view.dtype, dtype, device);
    } catch (e) {
      this.fail((e as Error).message, path);
    }
    const bytes = numel * itemsize(dtype);
    if (this.madeBytes + bytes > this.allowance) {
      const shape = `[${r.size.join(', ')}] (stride [${r.stride.join(', ')}])`;
      this.fail(
        `tensor of shape ${shape} would take ${bytes} bytes, and the tensors of this file ${this.madeBytes + bytes} bytes in all: ` +
          `more than ${MATERIALIZE_FACTOR} x the ${(this.allowance - MATERIALIZE_FLOOR) / MATERIALIZE_FACTOR} bytes of storage the file holds, plus ${MATERIALIZE_FLOOR} ` +
          '(a broadcast or self-overlapping view, e.g. stride 0, of a small storage); refusing to materialize it',
        path,
      );
    }
    this.madeBytes += bytes;
    let data;
    try {
      let dec = this.decoded.get(view.cacheKey);
      if (!dec) {
        let raw = this.raw.get(root.key);
        if (!raw) {
          raw = await this.read(root);
          this.raw.set(root.key, raw);
        }
        const size = ELEMENT_SIZE[view.dtype];
        const begin = view.elemOffset * size;
        const end = begin + view.numel * size;
        if (end > raw.length) this.fail(`storage '${root.key}' holds ${raw.length} bytes, the tensor needs ${end}`, path);
        dec = decodeStorage(raw.subarray(begin, end), view.dtype, view.numel, this.littleEndian);
        this.decoded.set(view.cacheKey, dec);
      }
      data = gather(dec, loadedDType(view.dtype), r.offset, r.size, r.stride, needsInt32Check(view.dtype));
    } catch (e) {
      if (e instanceof Int32RangeError) this.fail(`${view.dtype} ${e.message}; this library stores integers as int32`, path);
      throw e;
    } finally {
      const left = (this.uses.get(root.key) ?? 1) - 1;
      this.uses.set(root.key, left);
      if (left <= 0) {
        this.raw.delete(root.key);
        for (const k of [...this.decoded.keys()]) if (k.startsWith(`${root.key}\u0000`)) this.decoded.delete(k);
      }
    }
    const t = tensor(data, { shape: r.size, dtype, device });
    this.made.push(t);
    if (r.requiresGrad && isFloating(dtype)) t.requires_grad_(true);
    return t;
  }
}

/** Python dict key -> JS property name (str as is, ints in decimal, True/False/None as spelled in Python). */
function jsKey(k: unknown): string | undefined {
  if (typeof k === 'string') return k;
  if (typeof k === 'number' || typeof k === 'bigint') return String(k);
  if (typeof k === 'boolean') return k ? 'True' : 'False';
  if (k === null) return 'None';
  if (isTuple(k)) {
    const parts = k.map(jsKey);
    return parts.every((p) => p !== undefined) ? `(${parts.join(', ')}${parts.length === 1 ? ',' : ''})` : undefined;
  }
  return undefined;
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

async function loadZip(src: ByteSource, opts: LoadPthOptions): Promise<unknown> {
  const verify = opts.verify_crc ?? true;
  const zip = await ZipReader.open(src);
  const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkls.length !== 1) {
    const ts = [...zip.entries.keys()].some((n) => /^[^/]+\/(constants\.pkl|code\/)/.test(n));
    throw new CheckpointError(
      ts
        ? `${src.name}: this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; save model.state_dict() with torch.save instead`
        : `${src.name}: not a torch.save zip archive (${pkls.length === 0 ? 'no <archive>/data.pkl entry' : 'several data.pkl entries'})`,
      src.name,
    );
  }
  const pklName = pkls[0]!;
  const prefix = pklName.slice(0, -'data.pkl'.length);
  let littleEndian = true;
  const bo = zip.get(`${prefix}byteorder`);
  if (bo) {
    const s = new TextDecoder().decode(await zip.read(bo, verify)).trim();
    if (s !== 'little' && s !== 'big') throw new CheckpointError(`${src.name}: unknown byteorder '${s}'`, src.name);
    littleEndian = s === 'little';
  }
  const pklEntry = zip.get(pklName)!;
  const pklMax = maxPickleBytes(src.size);
  if (pklEntry.uncompressedSize > pklMax) {
    throw new CheckpointError(
      `${src.name}: ${pklName} inflates to ${pklEntry.uncompressedSize} bytes, more than the ${pklMax} a ${src.size}-byte checkpoint may hold (a deflate bomb?); refusing it`,
      src.name,
      pklName,
    );
  }
  const pkl = await zip.read(pklEntry, verify);
  const hooks = new PthHooks(src.name, false);
  const { value } = unpickle(pkl, hooks, { name: `${src.name}:${pklName}`, limits: pickleLimits(src.size) });
  const read: StorageReader = async (root) => {
    const name = `${prefix}data/${root.key}`;
    const e = zip.get(name);
    if (!e) throw new CheckpointError(`${src.name}: storage '${root.key}' is missing (no entry ${name})`, src.name, root.key);
    const need = root.numel * ELEMENT_SIZE[root.dtype];
    if (e.uncompressedSize < need) throw new CheckpointError(`${src.name}: storage '${root.key}' has ${e.uncompressedSize} bytes, expected ${need}`, src.name, root.key);
    return zip.read(e, verify);
  };
  return new Materializer(src.name, read, littleEndian, opts.device).run(value);
}

async function loadLegacy(src: ByteSource, opts: LoadPthOptions): Promise<unknown> {
  const fail = (msg: string): never => {
    throw new CheckpointError(`${src.name}: ${msg}`, src.name);
  };
  // The five pickles come first and are small; read a growing prefix until they parse.
  let len = Math.min(src.size, 1 << 20);
  let parsed: { value: unknown; keys: string[]; end: number; hooks: PthHooks; littleEndian: boolean };
  for (;;) {
    const buf = await src.read(0, len);
    try {
      const opt = { name: src.name, limits: pickleLimits(src.size) };
      const magic = unpickle(buf, PLAIN_HOOKS, opt);
      if (magic.value !== LEGACY_MAGIC) fail('not a PyTorch checkpoint (wrong magic number)');
      const proto = unpickle(buf, PLAIN_HOOKS, { ...opt, start: magic.end });
      if (proto.value !== LEGACY_PROTOCOL) fail(`unsupported legacy protocol version ${String(proto.value)} (expected ${LEGACY_PROTOCOL})`);
      const sys = unpickle(buf, PLAIN_HOOKS, { ...opt, start: proto.end });
      if (!(sys.value instanceof PyDict)) fail('malformed sys-info record');
      const le = (sys.value as PyDict).get('little_endian');
      const hooks = new PthHooks(src.name, true);
      const main = unpickle(buf, hooks, { ...opt, start: sys.end });
      const keys = unpickle(buf, PLAIN_HOOKS, { ...opt, start: main.end });
      const kv = keys.value;
      if (!Array.isArray(kv) || !kv.every((k) => asText(k) !== undefined)) fail('malformed storage key list');
      parsed = { value: main.value, keys: (kv as unknown[]).map((k) => asText(k)!), end: keys.end, hooks, littleEndian: le !== false };
      break;
    } catch (e) {
      if (e instanceof PickleTruncatedError && len < src.size) {
        len = Math.min(src.size, len * 4);
        continue;
      }
      throw e;
    }
  }
  // Then, for each key in order: an int64 element count and the raw bytes.
  let pos = parsed.end;
  for (const key of parsed.keys) {
    const root = parsed.hooks.roots.get(key);
    if (!root) fail(`storage key '${key}' is listed but no tensor uses it`);
    const hdr = await src.read(pos, 8);
    const n = new DataView(hdr.buffer, hdr.byteOffset, 8).getBigInt64(0, parsed.littleEndian);
    if (n !== BigInt(root!.numel)) fail(`storage '${key}' records ${n} elements, the pickle says ${root!.numel}`);
    root!.dataOffset = pos + 8;
    pos += 8 + root!.numel * ELEMENT_SIZE[root!.dtype];
    if (pos > src.size) fail(`storage '${key}' runs past the end of the file (truncated?)`);
  }
  const read: StorageReader = async (root) => {
    if (root.dataOffset === undefined) throw new CheckpointError(`${src.name}: storage '${root.key}' is not in the file's storage list`, src.name, root.key);
    return src.read(root.dataOffset, root.numel * ELEMENT_SIZE[root.dtype]);
  };
  return new Materializer(src.name, read, parsed.littleEndian, opts.device).run(parsed.value);
}

async function loadAny(src: ByteSource, opts: LoadPthOptions): Promise<unknown> {
  const head = await src.read(0, Math.min(src.size, 512));
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return loadZip(src, opts);
  if (head.length >= 2 && head[0] === 0x80 && head[1]! <= 5) return loadLegacy(src, opts);
  if (head.length >= 262 && new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar') {
    throw new CheckpointError(`${src.name}: the tar-based format of PyTorch < 0.4 is not supported; load and re-save it with a current torch.save`, src.name);
  }
  if (head.length >= 9 && head[8] === 0x7b) {
    throw new CheckpointError(`${src.name}: this looks like a safetensors file; use load_file() instead`, src.name);
  }
  throw new CheckpointError(`${src.name}: not a PyTorch checkpoint (neither a torch.save zip archive nor the legacy pickle format)`, src.name);
}

/**
 * Loads a `torch.save` checkpoint (zip format, stored or deflated entries, or the legacy
 * format) and returns whatever it holds: tensors become {@link Tensor}s (contiguous copies;
 * float16/bfloat16 -> float32, int64/int16/int8/uint8/bool -> int32), dicts and OrderedDicts
 * plain objects in insertion order (non-string keys converted: ints to decimal strings,
 * True/False/None as spelled in Python), lists and tuples arrays, Python ints numbers (bigint
 * beyond 2**53), bytes Uint8Array, numpy scalars numbers. Tensors shared in the file stay
 * shared. Nothing from the file is executed.
 * @throws CheckpointError (PickleError for the pickle) for a corrupt, truncated or unsupported
 * file, a refused global ("refusing to load global os.system: ..."), an int64 value outside
 * the int32 range; the fs error when the file cannot be opened. On error no tensor leaks.
 */
export async function load_pth_object(path: string, opts: LoadPthOptions = {}): Promise<unknown> {
  const src = await FileSource.open(path);
  try {
    return await loadAny(src, opts);
  } finally {
    await src.close();
  }
}

/** Like {@link load_pth_object}, from the bytes of a checkpoint already in memory. */
export async function load_pth_object_bytes(bytes: Uint8Array, opts: LoadPthOptions = {}, name = '<memory>'): Promise<unknown> {
  return loadAny(new MemorySource(bytes, name), opts);
}

function asDict(v: unknown, name: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Tensor || v instanceof Uint8Array) {
    for (const x of collectTensors(v)) x.dispose();
    throw new CheckpointError(`${name}: the checkpoint holds ${v instanceof Tensor ? 'a single tensor' : Array.isArray(v) ? 'a list' : typeof v}, not a dict; use load_pth_object()`, name);
  }
  return v as Record<string, unknown>;
}

function collectTensors(v: unknown, out: Tensor[] = [], seen = new Set<unknown>()): Tensor[] {
  if (typeof v !== 'object' || v === null || seen.has(v)) return out;
  seen.add(v);
  if (v instanceof Tensor) out.push(v);
  else if (Array.isArray(v)) for (const x of v) collectTensors(x, out, seen);
  else if (!(v instanceof Uint8Array)) for (const x of Object.values(v)) collectTensors(x, out, seen);
  return out;
}

/**
 * Loads a `torch.save` checkpoint whose top level is a dict: a state dict
 * (`torch.save(model.state_dict(), p)`) or a training checkpoint such as
 * `{'model_state_dict': ..., 'optimizer_state_dict': ..., 'epoch': 3}`. Values are converted as
 * described in {@link load_pth_object}; see {@link extract_state_dict} to pick the model's
 * state dict out of a checkpoint.
 * @param opts.device where to create the tensors (default 'cpu').
 * @param opts.verify_crc verify zip CRC-32s (default true).
 * @throws as {@link load_pth_object}, and CheckpointError when the top level is not a dict.
 */
export async function load_pth(path: string, opts: LoadPthOptions = {}): Promise<Record<string, unknown>> {
  return asDict(await load_pth_object(path, opts), path);
}

/** Like {@link load_pth}, from the bytes of a checkpoint already in memory. */
export async function load_pth_bytes(bytes: Uint8Array, opts: LoadPthOptions = {}, name = '<memory>'): Promise<Record<string, unknown>> {
  return asDict(await load_pth_object_bytes(bytes, opts, name), name);
}

function isStateDict(v: unknown): v is Record<string, Tensor> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Tensor) return false;
  const vals = Object.values(v);
  return vals.length > 0 && vals.every((x) => x instanceof Tensor);
}

/** Where {@link extract_state_dict} looks, in order, when the top level is not a state dict. */
export const STATE_DICT_KEYS: readonly string[] = ['model_state_dict', 'state_dict', 'model'];

/**
 * The model state dict inside a loaded checkpoint: `obj` itself when every value is a Tensor,
 * else the first of `obj.model_state_dict`, `obj.state_dict`, `obj.model` that is one (or
 * `obj[opts.key]` when given). With `opts.strip_prefix` (e.g. 'module.', which
 * nn.DataParallel adds) that prefix is removed from every key that has it.
 * @throws CheckpointError when no state dict (a non-empty object of Tensors) is found.
 */
export function extract_state_dict(obj: unknown, opts: { key?: string; strip_prefix?: string } = {}): Record<string, Tensor> {
  let found: Record<string, Tensor> | undefined;
  const o = obj as Record<string, unknown>;
  if (opts.key !== undefined) {
    const v = typeof obj === 'object' && obj !== null && Object.hasOwn(obj, opts.key) ? o[opts.key] : undefined;
    if (!isStateDict(v)) throw new CheckpointError(`extract_state_dict: '${opts.key}' is not a state dict (an object whose values are all tensors)`);
    found = v;
  } else if (isStateDict(obj)) {
    found = obj;
  } else if (typeof obj === 'object' && obj !== null) {
    for (const k of STATE_DICT_KEYS) {
      const v = Object.hasOwn(obj, k) ? o[k] : undefined;
      if (isStateDict(v)) {
        found = v;
        break;
      }
    }
  }
  if (!found) {
    const keys = typeof obj === 'object' && obj !== null ? Object.keys(obj).slice(0, 20).join(', ') : describe(obj);
    throw new CheckpointError(
      `extract_state_dict: no state dict found: the object is not {name: Tensor} and has none under ${STATE_DICT_KEYS.join('/')} (top-level keys: ${keys}); pass { key }`,
    );
  }
  const p = opts.strip_prefix;
  if (!p) return found;
  const out: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(found)) {
    const nk = k.startsWith(p) ? k.slice(p.length) : k;
    if (Object.hasOwn(out, nk)) throw new CheckpointError(`extract_state_dict: stripping '${p}' makes two keys '${nk}'`);
    setProp(out, nk, t);
  }
  return out;
}
