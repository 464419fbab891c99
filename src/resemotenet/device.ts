/**
 * Device selection for the ResEmoteNet commands: 'cpu', 'webgpu', or 'auto' (webgpu when an
 * adapter is present and the kernels ResEmoteNet needs run on it, else cpu with a warning).
 */
import type { Device } from '../tensor/device.js';
import { initWebGPU } from '../kernels/webgpu/index.js';
import { tidy } from '../tensor/memory.js';
import { randn, tensor } from '../tensor/ops/creation.js';
import { ResEmoteNet } from './model.js';
import { CrossEntropyLoss } from '../nn/layers/loss.js';
import { SGD } from '../nn/optim/sgd.js';
import { Generator, default_generator } from '../tensor/random.js';

export type DeviceOption = Device | 'auto';

/** Parses a --device value. @throws RangeError for anything else than cpu, webgpu, auto. */
export function parseDevice(s: string): DeviceOption {
  if (s === 'cpu' || s === 'webgpu' || s === 'auto') return s;
  if (s === 'gpu') return 'webgpu';
  throw new RangeError(`--device must be cpu, webgpu or auto, got '${s}'`);
}

/**
 * Runs one training step of a tiny ResEmoteNet on `device` and reads the loss back: throws when
 * a kernel the model needs is missing or fails there.
 */
export async function probeTraining(device: Device): Promise<void> {
  const saved = default_generator.get_state();
  try {
    const m = new ResEmoteNet({ width: 1 / 64, device: 'cpu' }).to(device);
    const opt = new SGD(m.parameters(), { lr: 1e-3, momentum: 0.9, weight_decay: 1e-4 });
    const ce = new CrossEntropyLoss();
    const loss = tidy(() => {
      const x = randn([2, 3, 16, 16], { device, generator: new Generator(1) });
      const y = tensor([0, 1], { dtype: 'int32', device });
      const l = ce.call(m.call(x), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    const v = await loss.item();
    loss.dispose();
    if (!Number.isFinite(v)) throw new Error(`probe loss is ${v}`);
  } finally {
    default_generator.set_state(saved);
  }
}

/**
 * The device to use. 'webgpu' initialises WebGPU (and throws its setup advice when there is no
 * adapter); 'auto' tries webgpu and falls back to cpu (warning through `warn`).
 */
export async function resolveDevice(opt: DeviceOption, warn: (s: string) => void = console.warn): Promise<Device> {
  if (opt === 'cpu') return 'cpu';
  if (opt === 'webgpu') {
    await initWebGPU();
    return 'webgpu';
  }
  try {
    await initWebGPU();
  } catch (e) {
    warn(`device auto: no WebGPU adapter (${(e as Error).message.split('\n')[0]}); using the cpu`);
    return 'cpu';
  }
  try {
    await probeTraining('webgpu');
    return 'webgpu';
  } catch (e) {
    warn(`device auto: WebGPU cannot train ResEmoteNet yet (${(e as Error).message.split('\n')[0]}); using the cpu`);
    return 'cpu';
  }
}
