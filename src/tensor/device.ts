/**
 * Device registry. The `cpu` backend is always present; `webgpu` is registered by
 * `initWebGPU()` (src/kernels/webgpu), which must be awaited once because acquiring a GPU
 * device is asynchronous.
 */
import type { Backend, DeviceName } from '../kernels/backend.js';
import { CpuBackend } from '../kernels/cpu/index.js';

export type Device = DeviceName;

const backends = new Map<DeviceName, Backend>();
backends.set('cpu', new CpuBackend());

let defaultDevice: DeviceName = 'cpu';

/** Registers a backend under its name (used by `initWebGPU`). */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

/** Removes a backend (used when a WebGPU device is destroyed or lost). */
export function unregisterBackend(name: DeviceName): void {
  if (name !== 'cpu') backends.delete(name);
  if (defaultDevice === name) defaultDevice = 'cpu';
}

/**
 * The backend for a device name.
 * @throws Error when the device is unknown or, for `webgpu`, not initialized yet.
 */
export function getBackend(device: DeviceName): Backend {
  const b = backends.get(device);
  if (b) return b;
  if (device === 'webgpu') {
    throw new Error(
      "device 'webgpu' is not initialized: call `await initWebGPU()` first (in Node this needs a WebGPU adapter; " +
        'on a machine without a GPU run `bash scripts/setup.sh` to install the software Vulkan driver)',
    );
  }
  throw new Error(`unknown device '${String(device)}' (expected 'cpu' or 'webgpu')`);
}

export function hasBackend(device: DeviceName): boolean {
  return backends.has(device);
}

/** The device used by creation functions when none is given (initially 'cpu'). */
export function getDefaultDevice(): DeviceName {
  return defaultDevice;
}

/** Sets the default device for creation functions (like `torch.set_default_device`). */
export function setDefaultDevice(device: DeviceName): void {
  getBackend(device);
  defaultDevice = device;
}
