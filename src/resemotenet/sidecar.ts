/**
 * Checkpoints from bytes, with no file access (a browser fetches them; Node may read them too):
 * parsing and validating a sidecar's JSON, the checkpoint id stored in a safetensors header, and a
 * ResEmoteNet built and loaded from a sidecar plus its model file's bytes. The file format is
 * described in ./checkpoint.ts, which does the same from paths in Node (this module is the part of
 * it that needs no `node:` module; `readSidecar`, `fromJson`, `checkPair`, `buildModel` and the
 * strict load of `loadCheckpoint` there have the same rules).
 */
import type { Device } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';
import { load_safetensors_bytes, parseSafetensorsHeader, MAX_HEADER_SIZE } from '../nn/serialization/safetensors.js';
import { ResEmoteNet } from './model.js';
import type { ModelConfig, Sidecar } from './checkpoint.js';

export type { ModelConfig, Sidecar };

/**
 * JSON.parse that turns {"__float__": "inf" | "-inf" | "nan"} back into numbers (a sidecar's
 * scheduler state holds such values; checkpoint.ts's `toJson` writes them).
 */
export function parseCheckpointJson<T = unknown>(text: string): T {
  return JSON.parse(text, (_k, x) => {
    if (x && typeof x === 'object' && !Array.isArray(x) && Object.keys(x).length === 1 && typeof x.__float__ === 'string') {
      return x.__float__ === 'inf' ? Infinity : x.__float__ === '-inf' ? -Infinity : NaN;
    }
    return x;
  }) as T;
}

/**
 * A sidecar from its JSON text, checked: format 'resemotenet-checkpoint', a config, a model_file
 * name, and config.class_names listing config.num_classes names.
 * @param name the file or URL, for error messages.
 * @throws Error naming `name` for text that is not JSON or not a ResEmoteNet sidecar.
 */
export function parseSidecar(text: string, name: string): Sidecar {
  let s: Sidecar;
  try {
    s = parseCheckpointJson<Sidecar>(text);
  } catch (e) {
    throw new Error(`${name}: cannot read checkpoint sidecar: ${(e as Error).message}`);
  }
  if (s?.format !== 'resemotenet-checkpoint' || !s.config || typeof s.model_file !== 'string') {
    throw new Error(`${name}: not a ResEmoteNet checkpoint sidecar (missing format/config/model_file)`);
  }
  const c = s.config;
  if (!Array.isArray(c.class_names) || c.class_names.length !== c.num_classes) throw new Error(`${name}: config.class_names must list num_classes (${c.num_classes}) names`);
  if (!(Number.isInteger(c.image_size) && c.image_size >= 8)) throw new Error(`${name}: config.image_size must be an integer >= 8, got ${String(c.image_size)}`);
  return s;
}

/**
 * The `__metadata__` map of safetensors bytes (null when there is none), reading only the header.
 * @throws CheckpointError naming `name` for bytes that are not a safetensors file.
 */
export function safetensorsMetadata(bytes: Uint8Array, name: string): Record<string, string> | null {
  if (bytes.length < 8) throw new Error(`${name}: ${bytes.length} bytes is too small for a safetensors file`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (n > bytes.length - 8 || n > MAX_HEADER_SIZE) throw new Error(`${name}: header size ${n} does not fit the ${bytes.length}-byte file (not a safetensors file, or truncated)`);
  return parseSafetensorsHeader(bytes.subarray(8, 8 + n), name, bytes.length).metadata;
}

/**
 * A ResEmoteNet (on the cpu, eval mode) built from a sidecar's config as `buildModel` in
 * ./checkpoint.ts builds it (width and width rule, or every layer's channels when the config
 * records them), with the state dict `sd` loaded strictly: missing, unexpected or mis-shaped keys
 * throw.
 * @throws Error naming `name` when the tensors do not fit the config.
 */
export function resEmoteNetFromStateDict(
  sd: Record<string, Tensor>,
  config: Pick<ModelConfig, 'width' | 'width_rule' | 'layer_channels' | 'num_classes' | 'class_names'>,
  name: string,
): ResEmoteNet {
  const fc4 = Object.hasOwn(sd, 'fc4.weight') ? sd['fc4.weight'] : undefined;
  if (fc4 && fc4.shape[0] !== config.num_classes) throw new Error(`${name}: the model has ${fc4.shape[0]} outputs but its sidecar lists ${config.num_classes} classes`);
  let model: ResEmoteNet;
  try {
    model = new ResEmoteNet({ width: config.width, width_rule: config.width_rule, channels: config.layer_channels, num_classes: config.num_classes, class_names: config.class_names });
    model.load_state_dict(sd);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  return model.eval();
}

/** A checkpoint loaded from bytes. */
export interface CheckpointFromBytes {
  sidecar: Sidecar;
  /** In eval mode, on the requested device. */
  model: ResEmoteNet;
}

/**
 * Loads a checkpoint from its sidecar (JSON text or parsed) and the bytes of the model file it
 * names. When the sidecar has a checkpoint_id, the model file's safetensors metadata must carry
 * the same one (as `checkPair` in ./checkpoint.ts: the two files come from one save). F16/BF16
 * tensors are widened to float32.
 * @param o.device where the model goes (default cpu; 'webgpu' needs `await initWebGPU()` first).
 * @param o.name / o.modelName label error messages (file names or URLs).
 * @throws Error naming the file for a bad sidecar, mismatched files or tensors that do not fit.
 */
export async function loadCheckpointBytes(
  sidecar: string | Sidecar,
  modelBytes: Uint8Array,
  o: { device?: Device; name?: string; modelName?: string } = {},
): Promise<CheckpointFromBytes> {
  const name = o.name ?? '<sidecar>';
  const sc = typeof sidecar === 'string' ? parseSidecar(sidecar, name) : sidecar;
  const modelName = o.modelName ?? sc.model_file;
  if (sc.checkpoint_id) {
    const got = safetensorsMetadata(modelBytes, modelName)?.checkpoint_id;
    if (got !== sc.checkpoint_id) {
      throw new Error(`${modelName} does not belong to ${name} (checkpoint_id ${got ?? 'missing'} vs ${sc.checkpoint_id}); pick the model file that the sidecar names (${sc.model_file})`);
    }
  }
  const sd = await load_safetensors_bytes(modelBytes, {}, modelName);
  try {
    const model = resEmoteNetFromStateDict(sd, sc.config, modelName);
    if (o.device && o.device !== 'cpu') model.to(o.device);
    return { sidecar: sc, model };
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}
