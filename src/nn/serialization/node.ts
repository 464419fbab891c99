/**
 * Node built-ins used by the file-based checkpoint functions, resolved when first needed rather
 * than imported statically, so that the library bundles for browsers (where only the in-memory
 * `*_bytes` functions work). Uses `process.getBuiltinModule` (Node >= 20.16).
 */
type FsPromises = typeof import('node:fs/promises');
type Path = typeof import('node:path');
type Crypto = typeof import('node:crypto');
type Zlib = typeof import('node:zlib');

function builtin<T>(name: string): T {
  const p = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const m = p?.getBuiltinModule?.(name);
  if (!m) throw new Error(`checkpoint files need Node.js >= 20.16 ('${name}' is unavailable here); in a browser use the *_bytes functions`);
  return m as T;
}

export const fsp = (): FsPromises => builtin<FsPromises>('node:fs/promises');
export const path = (): Path => builtin<Path>('node:path');
export const crypto = (): Crypto => builtin<Crypto>('node:crypto');
export const zlib = (): Zlib => builtin<Zlib>('node:zlib');
