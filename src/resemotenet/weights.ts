/**
 * Where the trained weights that ship with the package live: `weights/resemotenet/model.json`
 * (sidecar) and the safetensors file it names, at the package root. The path is found from this
 * module's own URL, so it works from src/ (tsx), from dist/ (plain Node) and inside
 * node_modules. Wherever a checkpoint path is asked for, the word `pretrained` means these.
 */
import { fileURLToPath } from 'node:url';

/** The checkpoint name that selects the shipped weights. */
export const PRETRAINED = 'pretrained';

/** Absolute path of the shipped weights' sidecar (it may not exist in a checkout before training). */
export function pretrainedSidecarPath(): string {
  return fileURLToPath(new URL('../../weights/resemotenet/model.json', import.meta.url));
}
