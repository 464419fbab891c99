/**
 * Loading the shipped BlazeFace weights (weights/blazeface/blazeface.safetensors, converted from
 * `@vladmandic/human`'s tfjs model by scripts/blazeface/convert.ts) into a BlazeFace module.
 * The file is located next to the package (`new URL('../../weights/...', import.meta.url)` from
 * src/facedetect or dist/facedetect), read with node:fs in Node and fetched in a browser (Vite
 * bundles a `new URL(..., import.meta.url)` asset as a file of its own); callers may also hand
 * in the bytes or another path.
 */
import type { Device } from '../tensor/device.js';
import { getDefaultDevice } from '../tensor/device.js';
import { load_safetensors_bytes } from '../nn/serialization/safetensors.js';
import { BlazeFace } from './model.js';

/** Where the shipped weights live, relative to the package root. */
export const BLAZEFACE_WEIGHTS_PATH = 'weights/blazeface/blazeface.safetensors';

/** The shipped weights file as a URL (file: in Node, http(s): in a bundled page). */
export function blazeFaceWeightsUrl(): URL {
  return new URL('../../weights/blazeface/blazeface.safetensors', import.meta.url);
}

export interface LoadBlazeFaceOptions {
  /** Device of the parameters (default: the default device). */
  device?: Device;
  /** The safetensors bytes (e.g. fetched by the page). */
  bytes?: Uint8Array;
  /** A safetensors file path (Node only); default the shipped weights. */
  file?: string;
}

async function readWeights(o: LoadBlazeFaceOptions): Promise<{ bytes: Uint8Array; name: string }> {
  if (o.bytes) return { bytes: o.bytes, name: '<bytes>' };
  const proc = (globalThis as { process?: { getBuiltinModule?: (n: string) => unknown } }).process;
  const fs = proc?.getBuiltinModule?.('node:fs/promises') as typeof import('node:fs/promises') | undefined;
  const where = o.file ?? blazeFaceWeightsUrl();
  if (fs) {
    try {
      return { bytes: new Uint8Array(await fs.readFile(where)), name: String(o.file ?? blazeFaceWeightsUrl().pathname) };
    } catch (e) {
      throw new Error(`BlazeFace weights: cannot read ${String(where)}: ${(e as Error).message}`, { cause: e });
    }
  }
  if (o.file) throw new Error(`BlazeFace weights: a file path (${o.file}) needs Node; in a browser pass the bytes`);
  const res = await fetch(where);
  if (!res.ok) throw new Error(`BlazeFace weights: fetching ${String(where)} gave HTTP ${res.status}`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), name: String(where) };
}

/**
 * A BlazeFace with the shipped (or given) weights, in eval mode, on `device`.
 * @throws Error naming the file when it cannot be read, or when its tensors do not match the
 * model's state dict (strict load).
 */
export async function loadBlazeFace(o: LoadBlazeFaceOptions = {}): Promise<BlazeFace> {
  const device = o.device ?? getDefaultDevice();
  const { bytes, name } = await readWeights(o);
  const sd = await load_safetensors_bytes(bytes, {}, name);
  try {
    const model = new BlazeFace({ device });
    model.load_state_dict(sd);
    return model.eval();
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}
