/**
 * Fine-tuning helpers: start a run from a trained checkpoint (ours, an imported official one, or
 * the shipped weights), with the same classes (every weight kept) or other ones (a new fc4 head
 * sized for them, initialised as PyTorch's nn.Linear; every other weight kept), and freezing:
 *  - 'none': train everything;
 *  - 'features': train the fully connected head fc1..fc4 only; the convolutional trunk (conv1-3,
 *    bn1-3, se, res_block1-3) keeps its weights and its BatchNorm running statistics (its
 *    modules stay in eval mode while training, as is usual when freezing a backbone);
 *  - 'all-but-head': train fc4 only.
 */
import type { Tensor } from '../tensor/tensor.js';
import { load_file } from '../nn/serialization/index.js';
import type { Module } from '../nn/module.js';
import type { ResEmoteNet } from './model.js';
import { checkPair, readSidecar, resolveCheckpointPath, type ModelConfig } from './checkpoint.js';
import path from 'node:path';

export type FreezeMode = 'none' | 'features' | 'all-but-head';
export const FREEZE_MODES: readonly FreezeMode[] = ['none', 'features', 'all-but-head'];

const TRUNK = ['conv1', 'bn1', 'conv2', 'bn2', 'conv3', 'bn3', 'se', 'res_block1', 'res_block2', 'res_block3'] as const;
const HIDDEN_FC = ['fc1', 'fc2', 'fc3'] as const;

/** The modules of `model` that `freeze` keeps fixed. */
function frozenModules(model: ResEmoteNet, freeze: FreezeMode): Module[] {
  const names: string[] = freeze === 'none' ? [] : freeze === 'features' ? [...TRUNK] : [...TRUNK, ...HIDDEN_FC];
  return names.map((n) => (model as unknown as Record<string, Module>)[n]!);
}

/**
 * Sets requires_grad per the freeze mode and returns the parameters left to train (in
 * model.parameters() order, the order the optimizer state refers to).
 */
export function applyFreeze(model: ResEmoteNet, freeze: FreezeMode): Tensor[] {
  const frozen = new Set<Tensor>();
  for (const m of frozenModules(model, freeze)) for (const p of m.parameters()) frozen.add(p);
  const trainable: Tensor[] = [];
  for (const p of model.parameters()) {
    p.requires_grad = !frozen.has(p);
    if (!frozen.has(p)) trainable.push(p);
  }
  return trainable;
}

/** Puts the frozen part of the model in eval mode (its BatchNorm statistics stay fixed). Call after model.train(). */
export function freezeModes(model: ResEmoteNet, freeze: FreezeMode): void {
  for (const m of frozenModules(model, freeze)) m.eval();
}

/** What an initial checkpoint gives a new run. */
export interface InitCheckpoint {
  file: string;
  config: ModelConfig;
  /** Its state_dict on the cpu (the caller disposes it). */
  state: Record<string, Tensor>;
}

/**
 * Reads the checkpoint a fine-tuning run starts from (a sidecar, a run folder, or 'pretrained').
 * @throws Error naming the file when it cannot be read or its tensor file does not belong to it.
 */
export async function readInitCheckpoint(p: string): Promise<InitCheckpoint> {
  const file = resolveCheckpointPath(p);
  if (!file.endsWith('.json')) throw new Error(`${file}: --init needs a checkpoint with its .json sidecar (class names, input size)`);
  const sc = await readSidecar(file);
  const modelFile = path.join(path.dirname(file), sc.model_file);
  await checkPair(file, modelFile, sc.checkpoint_id);
  return { file, config: sc.config, state: await load_file(modelFile) };
}

/**
 * Loads `init` into `model`: all weights when the classes are the same (names and order), else
 * all but fc4 (the model's freshly initialised head stays).
 * @throws Error (from load_state_dict, naming the keys) when the architectures differ.
 */
export function loadInitWeights(model: ResEmoteNet, init: InitCheckpoint): { newHead: boolean } {
  const same = JSON.stringify(init.config.class_names) === JSON.stringify(model.class_names);
  if (same) {
    model.load_state_dict(init.state);
    return { newHead: false };
  }
  const trunk: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(init.state)) if (!k.startsWith('fc4.')) trunk[k] = t;
  const { missing_keys, unexpected_keys } = model.load_state_dict(trunk, { strict: false });
  const badMissing = missing_keys.filter((k) => !k.startsWith('fc4.'));
  if (badMissing.length || unexpected_keys.length) {
    throw new Error(`${init.file}: does not fit the model (missing ${badMissing.join(', ') || 'none'}; unexpected ${unexpected_keys.join(', ') || 'none'})`);
  }
  return { newHead: true };
}
