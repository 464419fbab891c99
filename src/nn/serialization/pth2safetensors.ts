/** Converting a PyTorch checkpoint to a safetensors file. */
import { Tensor } from '../../tensor/tensor.js';
import { extract_state_dict, load_pth } from './pth.js';
import { save_file } from './safetensors.js';

/** One converted tensor, for reports. */
export interface ConvertedTensor {
  name: string;
  dtype: string;
  shape: readonly number[];
}

/**
 * Reads the model state dict of a `torch.save` checkpoint (see `extract_state_dict`: the top
 * level, or under model_state_dict/state_dict/model, or `opts.key`) and writes it to
 * `outPath` as safetensors (atomically) with metadata {format: 'pt', source: <input path>}.
 * Other entries of the checkpoint (optimizer state, epoch...) are not converted. Tensors are
 * written as loaded: float16/bfloat16 become F32, int64 becomes I32.
 * @returns the converted tensors in order.
 * @throws as `load_pth`, `extract_state_dict` and `save_file`.
 */
export async function pth_to_safetensors(
  inPath: string,
  outPath: string,
  opts: { key?: string; strip_prefix?: string } = {},
): Promise<ConvertedTensor[]> {
  const ckpt = await load_pth(inPath);
  const all = new Set<Tensor>();
  const walk = (v: unknown, seen: Set<unknown>) => {
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    if (v instanceof Tensor) all.add(v);
    else if (!(v instanceof Uint8Array)) for (const x of Object.values(v)) walk(x, seen);
  };
  walk(ckpt, new Set());
  try {
    const sd = extract_state_dict(ckpt, opts);
    await save_file(sd, outPath, { format: 'pt', source: inPath });
    return Object.entries(sd).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  } finally {
    for (const t of all) t.dispose();
  }
}
