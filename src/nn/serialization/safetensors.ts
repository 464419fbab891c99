/**
 * The safetensors format (https://huggingface.co/docs/safetensors, "Format" section):
 *
 *   [8 bytes]  N, an unsigned 64-bit little-endian integer: the size of the header
 *   [N bytes]  a UTF-8 JSON object {name: {"dtype", "shape", "data_offsets": [begin, end]},
 *              "__metadata__": {string: string}} (optional metadata), which may be padded at
 *              the end with spaces (0x20); it must start with '{'
 *   [rest]     the byte buffer: every tensor's elements, row-major, little-endian; each tensor's
 *              data_offsets are relative to the start of this buffer, and together the tensors
 *              cover it exactly, without overlaps or holes
 *
 * dtypes follow the spec's names (F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL).
 * This library computes with float32/int32/float64, so on load F16/BF16 become float32 (exact),
 * I64/U64/U32 become int32 (a value outside the int32 range throws) and I16/I8/U16/U8/BOOL become
 * int32. Saving writes F32, I32 or F64.
 */
import type { FileHandle } from 'node:fs/promises';
import { Tensor } from '../../tensor/tensor.js';
import { tensor } from '../../tensor/ops/creation.js';
import type { Device } from '../../tensor/device.js';
import type { DType } from '../../tensor/dtype.js';
import { checkLoadDevice, decodeStorage, floatToHalf, MAX_NDIM, ELEMENT_SIZE, gather, Int32RangeError, loadedDType, needsInt32Check, type StorageDType } from './convert.js';
import { CheckpointError, FileSource, HOST_LITTLE_ENDIAN, MemorySource, setProp, writeAll, writeFileAtomic, type ByteSource } from './io.js';

/** A dtype name as written in a safetensors header. */
export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

const ST_TO_STORAGE: Readonly<Record<SafetensorsDType, StorageDType>> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U64: 'uint64',
  U32: 'uint32',
  U16: 'uint16',
  U8: 'uint8',
  BOOL: 'bool',
};

const DTYPE_TO_ST: Readonly<Record<DType, SafetensorsDType>> = { float32: 'F32', int32: 'I32', float64: 'F64' };

/** One tensor's entry in the header. `data_offsets` are byte offsets relative to the data start. */
export interface SafetensorsTensorInfo {
  dtype: SafetensorsDType;
  shape: number[];
  data_offsets: [number, number];
}

/** A parsed and validated safetensors header. */
export interface SafetensorsHeader {
  /** The `__metadata__` map, or null when the file has none. */
  metadata: Record<string, string> | null;
  /** Tensor entries, in the order the header lists them. */
  tensors: Record<string, SafetensorsTensorInfo>;
  /** Tensor names in header order (a JS object lists integer-like keys first; this does not). */
  names: string[];
  /** N, the header length in bytes (padding included). */
  header_size: number;
  /** Absolute file offset of the byte buffer: 8 + N. */
  data_start: number;
  /** Total file size in bytes. */
  file_size: number;
}

/** Options for loading. */
export interface SafetensorsLoadOptions {
  /** Where the tensors are created (default 'cpu'). */
  device?: Device;
}

/** Headers above this size are refused, like the reference implementation does (100 MB). */
export const MAX_HEADER_SIZE = 100_000_000;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const utf8enc = new TextEncoder();

/**
 * Finds duplicate object keys in a JSON text that JSON.parse has already accepted (JSON.parse
 * silently keeps the last one). Returns the first duplicate, or null.
 */
function findDuplicateKey(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
      }
      expectKey = false;
      i = j;
    } else if (c === '{') {
      stack.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      stack.push(null);
      expectKey = false;
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return null;
}

/**
 * A short description of a header value for an error message. Never JSON.stringify a whole value
 * from the file: a deeply nested one overflows the stack, a huge one makes a huge message.
 */
function preview(v: unknown): string {
  if (v === null || typeof v !== 'object') {
    const s = JSON.stringify(v) ?? String(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  }
  if (Array.isArray(v)) {
    if (v.length <= 8 && v.every((x) => x === null || typeof x !== 'object')) return `[${v.map(preview).join(', ')}]`;
    return `an array of ${v.length} items`;
  }
  return `an object with ${Object.keys(v).length} keys`;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Parses and validates a header. `headerBytes` are the N bytes after the length prefix.
 * @throws CheckpointError naming the file (and the tensor, where there is one) for: a header
 * that is not UTF-8 JSON or does not start with '{', duplicate keys, an unknown dtype, a bad
 * shape, data_offsets that are malformed, disagree with shape x dtype size, overlap, leave a
 * gap, or run past the end of the file, and bytes after the last tensor.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, file: string, fileSize: number): SafetensorsHeader {
  const fail = (msg: string, key?: string): never => {
    throw new CheckpointError(`safetensors: ${file}: ${key !== undefined ? `tensor '${key}': ` : ''}${msg}`, file, key);
  };
  const N = headerBytes.length;
  if (N === 0 || headerBytes[0] !== 0x7b) fail(`header does not start with '{' (not a safetensors file, or corrupt)`);
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/ +$/, ''));
  } catch (e) {
    return fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(parsed)) return fail('header JSON is not an object');
  const dup = findDuplicateKey(text);
  if (dup !== null) fail(`header lists the key '${dup}' more than once`);

  const dataStart = 8 + N;
  const dataLen = fileSize - dataStart;
  let metadata: Record<string, string> | null = null;
  const tensors: Record<string, SafetensorsTensorInfo> = {};
  const names: string[] = [];
  // Object.keys would list integer-like names first; recover the header's own order instead.
  for (const key of headerKeyOrder(text, parsed)) {
    const v = parsed[key];
    if (key === '__metadata__') {
      if (!isPlainObject(v)) fail('__metadata__ must be an object of strings');
      const md: Record<string, string> = {};
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') fail(`__metadata__['${mk.length > 60 ? `${mk.slice(0, 57)}...` : mk}'] must be a string, got ${preview(mv)}`);
        setProp(md, mk, mv);
      }
      metadata = md;
      continue;
    }
    if (!isPlainObject(v)) fail('entry must be an object {dtype, shape, data_offsets}', key);
    const e = v as Record<string, unknown>;
    const dtype = e['dtype'];
    if (typeof dtype !== 'string' || !Object.hasOwn(ST_TO_STORAGE, dtype)) {
      fail(`unknown dtype ${preview(dtype)} (supported: ${Object.keys(ST_TO_STORAGE).join(', ')})`, key);
    }
    const shape = e['shape'];
    if (!Array.isArray(shape) || shape.length > MAX_NDIM || !shape.every((s) => Number.isSafeInteger(s) && (s as number) >= 0)) {
      fail(`shape must be an array of non-negative integers (at most ${MAX_NDIM}), got ${preview(shape)}`, key);
    }
    const offs = e['data_offsets'];
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && (o as number) >= 0)) {
      fail(`data_offsets must be [begin, end] with non-negative integers, got ${preview(offs)}`, key);
    }
    const [begin, end] = offs as [number, number];
    if (end < begin) fail(`data_offsets [${begin}, ${end}] end before they begin`, key);
    const sd = ST_TO_STORAGE[dtype as SafetensorsDType];
    let numel = 1;
    for (const s of shape as number[]) numel *= s;
    const nbytes = numel * ELEMENT_SIZE[sd];
    if (nbytes !== end - begin) {
      fail(`shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${nbytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}`, key);
    }
    if (end > dataLen) fail(`data_offsets [${begin}, ${end}] run past the end of the data (${Math.max(dataLen, 0)} bytes after the header; truncated file?)`, key);
    setProp(tensors, key, { dtype: dtype as SafetensorsDType, shape: [...(shape as number[])], data_offsets: [begin, end] });
    names.push(key);
  }
  // Offsets must tile the byte buffer: sorted, each starting where the previous one ended.
  const order = [...names].sort((a, b) => tensors[a]!.data_offsets[0] - tensors[b]!.data_offsets[0] || tensors[a]!.data_offsets[1] - tensors[b]!.data_offsets[1]);
  let expected = 0;
  let prev: string | undefined;
  for (const k of order) {
    const [b, e] = tensors[k]!.data_offsets;
    if (b < expected) fail(`data_offsets [${b}, ${e}] overlap those of '${prev}' (which end at ${expected})`, k);
    if (b > expected) fail(`data_offsets [${b}, ${e}] leave a gap: the previous tensor${prev !== undefined ? ` ('${prev}')` : ''} ends at ${expected}`, k);
    expected = e;
    prev = k;
  }
  if (expected !== dataLen) fail(`the tensors cover ${expected} bytes of data but the file has ${dataLen} bytes after the header`);
  return { metadata, tensors, names, header_size: N, data_start: dataStart, file_size: fileSize };
}

/** Top-level keys of the header object in text order (JSON.parse lists integer-like keys first). */
function headerKeyOrder(text: string, parsed: Record<string, unknown>): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      expectKey = false;
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      expectKey = c === '{' && depth === 1;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys.length === Object.keys(parsed).length ? keys : Object.keys(parsed);
}

async function readHeaderFrom(src: ByteSource): Promise<SafetensorsHeader> {
  if (src.size < 8) throw new CheckpointError(`safetensors: ${src.name}: file is ${src.size} bytes, too small to hold the 8-byte header size`, src.name);
  const prefix = await src.read(0, 8);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(src.size - 8)) {
    throw new CheckpointError(`safetensors: ${src.name}: header size ${n} exceeds the file (${src.size} bytes; truncated, or not a safetensors file)`, src.name);
  }
  if (n > BigInt(MAX_HEADER_SIZE)) throw new CheckpointError(`safetensors: ${src.name}: header size ${n} exceeds the ${MAX_HEADER_SIZE}-byte limit`, src.name);
  const header = await src.read(8, Number(n));
  return parseSafetensorsHeader(header, src.name, src.size);
}

async function readTensorFrom(src: ByteSource, h: SafetensorsHeader, name: string, device: Device | undefined): Promise<Tensor> {
  const info = Object.hasOwn(h.tensors, name) ? h.tensors[name] : undefined;
  if (!info) throw new CheckpointError(`safetensors: ${src.name}: no tensor named '${name}'`, src.name, name);
  const [b, e] = info.data_offsets;
  const sd = ST_TO_STORAGE[info.dtype];
  const numel = (e - b) / ELEMENT_SIZE[sd];
  const target = loadedDType(sd);
  try {
    checkLoadDevice(info.dtype, target, device ?? 'cpu');
  } catch (err) {
    throw new CheckpointError(`safetensors: ${src.name}: tensor '${name}': ${(err as Error).message}`, src.name, name);
  }
  const raw = await src.read(h.data_start + b, e - b);
  let data;
  try {
    const decoded = decodeStorage(raw, sd, numel, true);
    data = gather(decoded, target, 0, [numel], [1], needsInt32Check(sd));
  } catch (err) {
    if (err instanceof Int32RangeError) {
      throw new CheckpointError(`safetensors: ${src.name}: tensor '${name}': ${info.dtype} ${err.message}; this library stores integers as int32`, src.name, name);
    }
    throw err;
  }
  return tensor(data, { shape: info.shape, dtype: target, device: device ?? 'cpu' });
}

/**
 * An open safetensors file, read lazily through one file handle (like the Python `safe_open`).
 * Obtain one with {@link safe_open}; call `close()` (or use `await using`) when done.
 */
export class SafetensorsFile {
  /** @internal */
  constructor(
    private readonly src: ByteSource,
    /** The validated header. */
    readonly header: SafetensorsHeader,
    private readonly device: Device | undefined,
  ) {}
  /** Tensor names in header order. */
  keys(): string[] {
    return [...this.header.names];
  }
  /** The `__metadata__` map, or null when absent. */
  metadata(): Record<string, string> | null {
    return this.header.metadata;
  }
  /**
   * Reads one tensor (converted to float32/int32/float64 as described in the module doc).
   * @throws CheckpointError for an unknown name or an I64/U64/U32 value outside the int32 range.
   */
  get_tensor(name: string): Promise<Tensor> {
    return readTensorFrom(this.src, this.header, name, this.device);
  }
  /** Closes the file handle. Idempotent. */
  close(): Promise<void> {
    return this.src.close();
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a safetensors file and validates its header without reading any tensor data.
 * @throws the fs error when the file cannot be opened; CheckpointError for an invalid header.
 */
export async function safe_open(path: string, opts: SafetensorsLoadOptions = {}): Promise<SafetensorsFile> {
  const src = await FileSource.open(path);
  try {
    return new SafetensorsFile(src, await readHeaderFrom(src), opts.device);
  } catch (e) {
    await src.close();
    throw e;
  }
}

/**
 * Reads and validates the header of a safetensors file (tensor names, dtypes, shapes, offsets,
 * metadata) without reading tensor data.
 * @throws as {@link safe_open}.
 */
export async function read_safetensors_header(path: string): Promise<SafetensorsHeader> {
  const f = await safe_open(path);
  await f.close();
  return f.header;
}

/**
 * The `__metadata__` string map of a safetensors file, or null when it has none.
 * @throws as {@link safe_open}.
 */
export async function read_metadata(path: string): Promise<Record<string, string> | null> {
  return (await read_safetensors_header(path)).metadata;
}

async function loadAll(src: ByteSource, opts: SafetensorsLoadOptions): Promise<Record<string, Tensor>> {
  const h = await readHeaderFrom(src);
  const out: Record<string, Tensor> = {};
  const made: Tensor[] = [];
  try {
    for (const name of h.names) {
      const t = await readTensorFrom(src, h, name, opts.device);
      made.push(t);
      setProp(out, name, t);
    }
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  }
  return out;
}

/**
 * Loads every tensor of a safetensors file into a state dict `{name: Tensor}` (header order;
 * integer-like names come first, as in any JS object). The file is read through a file handle,
 * one tensor at a time. F16/BF16 load as float32, I64/U64/U32/I16/I8/U16/U8/BOOL as int32.
 * Either every tensor is returned or, on any error, none (those already made are disposed).
 * @param opts.device where to create the tensors (default 'cpu').
 * @throws CheckpointError (naming the file and the tensor) for an invalid header, a truncated
 * file, or an integer outside the int32 range; the fs error when the file cannot be opened.
 */
export async function load_file(path: string, opts: SafetensorsLoadOptions = {}): Promise<Record<string, Tensor>> {
  const src = await FileSource.open(path);
  try {
    return await loadAll(src, opts);
  } finally {
    await src.close();
  }
}

/**
 * Like {@link load_file}, from the bytes of a safetensors file already in memory (the Python
 * `safetensors.torch.load`). `name` labels error messages.
 */
export async function load_safetensors_bytes(bytes: Uint8Array, opts: SafetensorsLoadOptions = {}, name = '<memory>'): Promise<Record<string, Tensor>> {
  return loadAll(new MemorySource(bytes, name), opts);
}

interface Plan {
  headerBytes: Uint8Array;
  entries: { name: string; t: Tensor; nbytes: number; half: boolean }[];
  total: number;
}

function planSave(tensors: Record<string, Tensor>, metadata: Record<string, string> | undefined, where: string, opts: SaveOptions = {}): Plan {
  if (!isPlainObject(tensors)) throw new TypeError(`save_file(${where}): tensors must be an object {name: Tensor}`);
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) throw new TypeError(`save_file(${where}): metadata must be an object of strings`);
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new TypeError(`save_file(${where}): metadata['${k}'] must be a string, got ${typeof v}`);
    }
    const md = {};
    for (const [k, v] of Object.entries(metadata)) setProp(md, k, v);
    header['__metadata__'] = md;
  }
  const entries: Plan['entries'] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    if (name === '__metadata__') throw new Error(`save_file(${where}): '__metadata__' is reserved and cannot name a tensor`);
    if (!(t instanceof Tensor)) throw new TypeError(`save_file(${where}): '${name}' is not a Tensor (got ${t === null ? 'null' : typeof t})`);
    if (t.isDisposed) throw new Error(`save_file(${where}): tensor '${name}' was disposed`);
    const half = opts.float16 === true && t.dtype === 'float32';
    const st = half ? 'F16' : DTYPE_TO_ST[t.dtype];
    const nbytes = t.numel() * ELEMENT_SIZE[ST_TO_STORAGE[st]];
    setProp(header, name, { dtype: st, shape: [...t.shape], data_offsets: [offset, offset + nbytes] });
    entries.push({ name, t, nbytes, half });
    offset += nbytes;
  }
  let json = JSON.stringify(header);
  // Pad with spaces so the data starts 8-byte aligned (allowed by the spec; the reference
  // implementation does the same).
  let hb = utf8enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = utf8enc.encode(json);
  }
  const headerBytes = new Uint8Array(8 + hb.length);
  new DataView(headerBytes.buffer).setBigUint64(0, BigInt(hb.length), true);
  headerBytes.set(hb, 8);
  return { headerBytes, entries, total: headerBytes.length + offset };
}

/** Options of {@link save_file} / {@link save_safetensors_bytes}. */
export interface SaveOptions {
  /** Store float32 tensors as F16 (rounded to nearest even; loading widens them back). Default false. */
  float16?: boolean;
}

/** Little-endian bytes of a tensor's elements (a view when the host is little-endian); F16 when `half`. */
async function tensorBytes(t: Tensor, name: string, nbytes: number, half = false): Promise<Uint8Array> {
  if (half) {
    const src = await t.data();
    const out = new Uint8Array(src.length * 2);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < src.length; i++) dv.setUint16(2 * i, floatToHalf(src[i] as number), true);
    if (out.length !== nbytes) throw new Error(`save_file: tensor '${name}' read back ${out.length / 2} elements, expected ${nbytes / 2}`);
    return out;
  }
  const arr = await t.data();
  const bytes = new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
  if (bytes.length !== nbytes) throw new Error(`save_file: tensor '${name}' read back ${bytes.length} bytes, expected ${nbytes}`);
  if (HOST_LITTLE_ENDIAN) return bytes;
  const size = arr.BYTES_PER_ELEMENT;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += size) for (let j = 0; j < size; j++) out[i + j] = bytes[i + size - 1 - j]!;
  return out;
}

/**
 * Saves a state dict `{name: Tensor}` as a safetensors file, tensors in insertion order,
 * float32 as F32, int32 as I32, float64 as F64. Tensors may live on any device and be
 * non-contiguous; each is read with `await t.data()` and streamed to a temporary file next to
 * `path` one at a time (so at most one tensor's copy is in memory), which is fsynced and renamed
 * over `path`: an interrupted save never leaves a partial file.
 * @param metadata optional string -> string map stored as `__metadata__` (e.g. {format: 'pt'}).
 * @param opts `float16: true` stores float32 tensors as F16 (half the size; loading widens them).
 * @throws TypeError for a value that is not a Tensor or a non-string metadata value; Error for
 * a disposed tensor or a tensor named '__metadata__'; the fs error when writing fails.
 */
export async function save_file(tensors: Record<string, Tensor>, path: string, metadata?: Record<string, string>, opts: SaveOptions = {}): Promise<void> {
  const plan = planSave(tensors, metadata, path, opts);
  await writeFileAtomic(path, async (fh: FileHandle) => {
    await writeAll(fh, plan.headerBytes);
    for (const { name, t, nbytes, half } of plan.entries) await writeAll(fh, await tensorBytes(t, name, nbytes, half));
  });
}

/**
 * The bytes of a safetensors file holding `tensors` (the Python `safetensors.torch.save`); the
 * whole file is built in memory, so prefer {@link save_file} for large models.
 * @throws as {@link save_file}.
 */
export async function save_safetensors_bytes(tensors: Record<string, Tensor>, metadata?: Record<string, string>, opts: SaveOptions = {}): Promise<Uint8Array> {
  const plan = planSave(tensors, metadata, '<memory>', opts);
  const out = new Uint8Array(plan.total);
  out.set(plan.headerBytes, 0);
  let pos = plan.headerBytes.length;
  for (const { name, t, nbytes, half } of plan.entries) {
    out.set(await tensorBytes(t, name, nbytes, half), pos);
    pos += nbytes;
  }
  return out;
}
