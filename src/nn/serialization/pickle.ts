/**
 * A safe, restricted unpickler: a stack machine for the subset of Python's pickle opcodes
 * (protocols 0-4, as documented in CPython's Lib/pickletools.py) that PyTorch checkpoints use.
 * It never executes anything: GLOBAL/STACK_GLOBAL ask the caller's `findClass` hook, which
 * answers with a value for an allow-listed name or throws; REDUCE, NEWOBJ, BUILD and
 * BINPERSID are likewise delegated to hooks. Any other opcode (sets, text-protocol opcodes,
 * out-of-band buffers, extension registry...) is refused with an error.
 *
 * Python values map to JS as: None -> null, bool -> boolean, int -> number (bigint beyond
 * 2**53), float -> number, str -> string, bytes -> Uint8Array, list -> array, tuple -> frozen
 * array, dict -> {@link PyDict} (keys kept as Python values).
 *
 * A pickle has no loops, yet a small one can still exhaust a process: millions of pushes from a
 * deflated entry, an endless memo, MARKs nested a million deep, the same large value handed to a
 * call again and again, a tuple key whose text doubles with every level. So every run is bounded
 * ({@link UnpickleLimits}): work units (charged per opcode, per item moved, per call argument and
 * per 8 bytes of text), memo entries and MARK depth; dict keys by length and nesting.
 */
import { CheckpointError } from './io.js';

/** An error in the pickle stream (or a refused global). */
export class PickleError extends CheckpointError {
  override name = 'PickleError';
}

/** The pickle stream ended before STOP: more bytes may complete it. */
export class PickleTruncatedError extends PickleError {
  override name = 'PickleTruncatedError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

/** A Python dict in insertion order, keyed by Python value (str, int, float, bool, None, tuple). */
export class PyDict {
  /** normalized key -> [original key, value] */
  readonly items = new Map<string, [unknown, unknown]>();
  /** Instance state given by BUILD (e.g. an OrderedDict's `_metadata`); informational. */
  state: unknown = undefined;
  set(key: unknown, value: unknown): void {
    this.items.set(dictKey(key), [key, value]);
  }
  get(key: unknown): unknown {
    return this.items.get(dictKey(key))?.[1];
  }
  has(key: unknown): boolean {
    return this.items.has(dictKey(key));
  }
  get size(): number {
    return this.items.size;
  }
}

/** A module attribute named by GLOBAL/STACK_GLOBAL that the hooks allowed. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualname(): string {
    return `${this.module}.${this.name}`;
  }
}

/** Whether `v` is a Python tuple (a frozen array). */
export function isTuple(v: unknown): v is readonly unknown[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

/** Longest normalized key kept for a tuple, bytes or escaped string key (see {@link dictKey}). */
export const MAX_KEY_CHARS = 1 << 16;
/** Deepest tuple nesting accepted in a dict key (Python's own pickler stops near 1000). */
export const MAX_KEY_DEPTH = 100;
/** Normalized keys of tuples already seen: a tuple shared k times in a key is normalized once. */
const tupleKeys = new WeakMap<object, string>();

/**
 * Normalizes a hashable Python value to a string, equal for keys Python considers equal.
 * A plain string is its own key (no copy, so V8's cached hash makes a repeated key O(1)); other
 * kinds start with '\u0000' and a kind letter, and a string that itself starts with '\u0000' is
 * escaped the same way. Tuple keys are cached per tuple and, like bytes keys, limited to
 * {@link MAX_KEY_CHARS} characters and {@link MAX_KEY_DEPTH} levels: a crafted pickle can
 * build a tuple whose text doubles with every level from a few bytes.
 * @throws TypeError for an unhashable key (list, dict), or a key over those limits.
 */
export function dictKey(k: unknown, depth = 0): string {
  switch (typeof k) {
    case 'string':
      if (k.length === 0 || k.charCodeAt(0) !== 0) return k;
      return bounded('\u0000s' + k);
    case 'number':
      return Number.isInteger(k) ? '\u0000i' + k : '\u0000f' + k;
    case 'bigint':
      return '\u0000i' + k;
    case 'boolean':
      return '\u0000i' + (k ? 1 : 0);
  }
  if (k === null) return '\u0000n';
  if (k instanceof Uint8Array) {
    if (k.length + 2 > MAX_KEY_CHARS) throw new TypeError(`dict key of ${k.length} bytes is longer than ${MAX_KEY_CHARS} characters`);
    return '\u0000b' + latin1.decode(k);
  }
  if (isTuple(k)) {
    const cached = tupleKeys.get(k);
    if (cached !== undefined) return cached;
    if (depth >= MAX_KEY_DEPTH) throw new TypeError(`dict key nested deeper than ${MAX_KEY_DEPTH} tuples`);
    let s = '\u0000t(';
    for (let i = 0; i < k.length; i++) s = bounded(s + (i ? ',' : '') + dictKey(k[i], depth + 1));
    s += ')';
    tupleKeys.set(k, s);
    return s;
  }
  if (k instanceof PyGlobal) return '\u0000g' + k.qualname;
  throw new TypeError(`unhashable dict key of type ${Array.isArray(k) ? 'list' : k instanceof PyDict ? 'dict' : typeof k}`);
}

function bounded(s: string): string {
  if (s.length > MAX_KEY_CHARS) throw new TypeError(`dict key longer than ${MAX_KEY_CHARS} characters (a tuple key that grows with every level?)`);
  return s;
}

/** What the unpickler asks its user. Each hook may throw to refuse. */
export interface UnpicklerHooks {
  /** GLOBAL module name: return the value to push (usually a PyGlobal), or throw to refuse. */
  findClass(module: string, name: string): unknown;
  /** BINPERSID: the object a persistent id stands for (PyTorch: a storage). */
  persistentLoad(pid: unknown): unknown;
  /** REDUCE (and NEWOBJ): `callable(*args)`. */
  reduce(callable: unknown, args: readonly unknown[]): unknown;
  /** BUILD: apply `state` to `obj`; returns the object to leave on the stack. */
  build(obj: unknown, state: unknown): unknown;
}

/** Largest LONG1/LONG4 payload accepted (BigInt parsing is quadratic in the length). */
const MAX_LONG_BYTES = 4096;
/** Largest GLOBAL line (module or name). */
const MAX_LINE = 1024;

const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function decodeLong(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= MIN_SAFE && v <= MAX_SAFE ? Number(v) : v;
}

const OPNAMES: Record<number, string> = {
  0x63: 'GLOBAL',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
  0x50: 'PERSID',
  0x49: 'INT',
  0x4c: 'LONG',
  0x46: 'FLOAT',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x70: 'PUT',
  0x67: 'GET',
};

/**
 * Bounds on one unpickling, so that a small crafted stream cannot exhaust time or memory (a
 * pickle has no loops, but it can push millions of items from a deflated entry, memoize without
 * end, or hand the same large value to a call again and again through the memo).
 */
export interface UnpickleLimits {
  /**
   * Most work units: one per opcode, plus one per item moved into a container or handed to a hook
   * (a call's arguments are counted again at every call), plus one per 8 bytes of text or bytes
   * decoded. Default {@link DEFAULT_PICKLE_LIMITS}.maxWork; checkpoint loaders scale it with the
   * file's size.
   */
  maxWork?: number;
  /** Most memo entries (a JS Map holds at most 2^24). */
  maxMemo?: number;
  /** Deepest MARK nesting. Python's pickler cannot write data nested deeper than about 1000. */
  maxDepth?: number;
}

/**
 * Default limits: 8M work units (a torch.save state dict costs about 100 units per tensor, about
 * one per byte of pickle, so some 80k tensors fit; 8M units allocate at most a few hundred MB),
 * 4M memo entries, 1000 nested MARKs.
 */
export const DEFAULT_PICKLE_LIMITS: Readonly<Required<UnpickleLimits>> = Object.freeze({ maxWork: 8_000_000, maxMemo: 4_000_000, maxDepth: 1000 });

/** Work units per container built: it costs an allocation even when empty. */
const CONTAINER_COST = 4;

/** Shallow cost of handing `v` to a hook: the hook may walk its items or bytes once. */
function shallowCost(v: unknown): number {
  if (typeof v === 'string') return 1 + (v.length >>> 3);
  if (v instanceof Uint8Array) return 1 + (v.length >>> 3);
  if (Array.isArray(v)) return 1 + v.length;
  if (v instanceof PyDict) return 1 + v.size;
  return 1;
}

const EMPTY_TUPLE: readonly unknown[] = Object.freeze([]);

/**
 * Runs the pickle program in `bytes` starting at `start` until STOP.
 * @returns the unpickled value and the offset just after STOP (several pickles may follow
 * each other, as in PyTorch's legacy format).
 * @throws PickleTruncatedError when the bytes end before STOP; PickleError for a malformed or
 * unsupported stream, or one that exceeds `limits` (work, memo size, nesting); whatever the
 * hooks throw (e.g. a refused global).
 */
export function unpickle(
  bytes: Uint8Array,
  hooks: UnpicklerHooks,
  opts: { start?: number; name?: string; limits?: UnpickleLimits } = {},
): { value: unknown; end: number } {
  const name = opts.name ?? '<memory>';
  const maxWork = opts.limits?.maxWork ?? DEFAULT_PICKLE_LIMITS.maxWork;
  const maxMemo = Math.min(opts.limits?.maxMemo ?? DEFAULT_PICKLE_LIMITS.maxMemo, 1 << 24);
  const maxDepth = opts.limits?.maxDepth ?? DEFAULT_PICKLE_LIMITS.maxDepth;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = opts.start ?? 0;
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  let opPos = pos;
  let work = 0;

  const fail = (msg: string): never => {
    throw new PickleError(`pickle: ${name}: ${msg} (opcode at byte ${opPos})`, name);
  };
  const charge = (n: number) => {
    work += n;
    if (work > maxWork) {
      fail(
        `the pickle does more work than its size can justify (over ${maxWork} units: opcodes, items, calls; ` +
          `${memo.size} memo entries, ${stack.length} values on the stack); refusing a corrupt or crafted file`,
      );
    }
  };
  const memoSet = (i: number, v: unknown) => {
    if (memo.size >= maxMemo && !memo.has(i)) fail(`memo grows past ${maxMemo} entries; refusing a corrupt or crafted file`);
    memo.set(i, v);
  };
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new PickleTruncatedError(`pickle: ${name}: unexpected end of data at byte ${bytes.length} (needed ${n} more bytes at ${pos}; truncated?)`, name);
  };
  const take = (n: number): Uint8Array => {
    need(n);
    const b = bytes.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const u8 = () => (need(1), bytes[pos++]!);
  const u16 = () => (need(2), (pos += 2), dv.getUint16(pos - 2, true));
  const i32 = () => (need(4), (pos += 4), dv.getInt32(pos - 4, true));
  const u32 = () => (need(4), (pos += 4), dv.getUint32(pos - 4, true));
  const u64 = (): number => {
    need(8);
    const v = dv.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(bytes.length)) throw new PickleTruncatedError(`pickle: ${name}: length ${v} at byte ${pos - 8} runs past the data (${bytes.length} bytes)`, name);
    return Number(v);
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) {
      if (bytes.length - pos > MAX_LINE) fail('GLOBAL operand is not newline-terminated');
      need(bytes.length - pos + 1);
    }
    if (nl - pos > MAX_LINE) fail('GLOBAL operand too long');
    const s = latin1.decode(bytes.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const str = (n: number): string => {
    const b = take(n);
    charge(n >>> 3);
    try {
      return utf8.decode(b);
    } catch {
      return fail('invalid UTF-8 in a string');
    }
  };
  const bin = (n: number): Uint8Array => {
    charge(n >>> 3);
    return take(n).slice();
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) return fail('MARK expected but missing');
    stack = prev;
    charge(items.length);
    return items;
  };
  const setItem = (d: unknown, k: unknown, v: unknown) => {
    if (!(d instanceof PyDict)) fail(`SETITEM on a non-dict (${describe(d)})`);
    try {
      (d as PyDict).set(k, v);
    } catch (e) {
      fail((e as Error).message);
    }
  };
  const chargeArgs = (args: readonly unknown[]) => {
    let n = args.length;
    for (const a of args) n += shallowCost(a);
    charge(n);
  };
  const append = (l: unknown, items: unknown[]) => {
    if (!Array.isArray(l) || Object.isFrozen(l)) fail(`APPEND on a non-list (${describe(l)})`);
    for (const x of items) (l as unknown[]).push(x);
  };

  for (;;) {
    opPos = pos;
    charge(1);
    const op = u8();
    switch (op) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: // FRAME: a length hint only
        u64();
        break;
      case 0x2e: {
        // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: // MARK
        if (metastack.length >= maxDepth) fail(`MARKs nested deeper than ${maxDepth} levels`);
        charge(CONTAINER_COST);
        metastack.push(stack);
        stack = [];
        break;
      case 0x7d: // EMPTY_DICT
        charge(CONTAINER_COST);
        stack.push(new PyDict());
        break;
      case 0x5d: // EMPTY_LIST
        charge(CONTAINER_COST);
        stack.push([]);
        break;
      case 0x29: // EMPTY_TUPLE (immutable, so one shared instance, as in CPython)
        stack.push(EMPTY_TUPLE);
        break;
      case 0x74: {
        // TUPLE (pop the mark before touching `stack`: popMark replaces it)
        const items = popMark();
        charge(CONTAINER_COST);
        stack.push(Object.freeze(items));
        break;
      }
      case 0x85: // TUPLE1
        charge(CONTAINER_COST);
        stack.push(Object.freeze([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        charge(CONTAINER_COST);
        const b = pop();
        const a = pop();
        stack.push(Object.freeze([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        charge(CONTAINER_COST);
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(Object.freeze([a, b, c]));
        break;
      }
      case 0x6c: {
        // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x64: {
        // DICT
        const items = popMark();
        charge(CONTAINER_COST);
        if (items.length % 2) fail('DICT with an odd number of items');
        const d = new PyDict();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        if (items.length % 2) fail('SETITEMS with an odd number of items');
        const d = top();
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x61: {
        // APPEND
        const v = pop();
        append(top(), [v]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x8a: {
        // LONG1
        const n = u8();
        stack.push(decodeLong(take(n)));
        break;
      }
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('LONG4 with a negative length');
        if (n > MAX_LONG_BYTES) fail(`integer of ${n} bytes is too large`);
        stack.push(decodeLong(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(dv.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64()));
        break;
      case 0x42: // BINBYTES
        stack.push(bin(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(bin(u8()));
        break;
      case 0x8e: // BINBYTES8
        stack.push(bin(u64()));
        break;
      case 0x54: {
        // BINSTRING (Python 2 str): decoded as latin-1
        const n = i32();
        if (n < 0) fail('BINSTRING with a negative length');
        charge(n >>> 3);
        stack.push(latin1.decode(take(n)));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x71: // BINPUT
        memoSet(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoSet(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoSet(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const i = op === 0x68 ? u8() : u32();
        if (!memo.has(i)) fail(`memo key ${i} is not defined`);
        stack.push(memo.get(i));
        break;
      }
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        const nm = line();
        stack.push(hooks.findClass(module, nm));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const nm = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof nm !== 'string') fail('STACK_GLOBAL needs two strings');
        charge(shallowCost(module) + shallowCost(nm));
        stack.push(hooks.findClass(module as string, nm as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const fn = pop();
        if (!isTuple(args)) fail(`REDUCE arguments must be a tuple, got ${describe(args)}`);
        chargeArgs(args as readonly unknown[]);
        stack.push(hooks.reduce(fn, args as readonly unknown[]));
        break;
      }
      case 0x81: {
        // NEWOBJ: cls.__new__(cls, *args), treated as a call of the allow-listed class
        const args = pop();
        const cls = pop();
        if (!isTuple(args)) fail(`NEWOBJ arguments must be a tuple, got ${describe(args)}`);
        chargeArgs(args as readonly unknown[]);
        stack.push(hooks.reduce(cls, args as readonly unknown[]));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const obj = pop();
        charge(shallowCost(state));
        stack.push(hooks.build(obj, state));
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        charge(shallowCost(pid));
        stack.push(hooks.persistentLoad(pid));
        break;
      }
      default: {
        const nm = OPNAMES[op];
        fail(nm ? `unsupported pickle opcode ${nm} (0x${op.toString(16)})` : `invalid pickle opcode 0x${op.toString(16).padStart(2, '0')}`);
      }
    }
  }
}

/** A short description of a value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyDict) return 'dict';
  if (v instanceof PyGlobal) return v.qualname;
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return Object.isFrozen(v) ? 'tuple' : 'list';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}
