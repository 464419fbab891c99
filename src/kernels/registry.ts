/**
 * The backend registry: which backend serves each device name. The `cpu` backend is always
 * present; `webgpu` is registered by `initWebGPU()` (./webgpu/index.ts). It lives with the
 * kernels so that the backends register themselves without importing the tensor layer;
 * src/tensor/device.ts re-exports it and adds the default device.
 */
import type { Backend, DeviceName } from './backend.js';
import { CpuBackend } from './cpu/index.js';

const backends = new Map<DeviceName, Backend>();
backends.set('cpu', new CpuBackend());

/** Listeners told when a backend is removed (the tensor layer resets its default device). */
const onRemove: ((name: DeviceName) => void)[] = [];

/** Registers a backend under its name (used by `initWebGPU`). */
export function registerBackend(b: Backend): void {
  backends.set(b.name, b);
}

/** Removes a backend (used when a WebGPU device is destroyed or lost); `cpu` stays. */
export function unregisterBackend(name: DeviceName): void {
  if (name !== 'cpu') backends.delete(name);
  for (const f of onRemove) f(name);
}

/** Calls `f` with the name of every backend removed from now on. */
export function onBackendRemoved(f: (name: DeviceName) => void): void {
  onRemove.push(f);
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

/** Whether a backend is registered for `device`. */
export function hasBackend(device: DeviceName): boolean {
  return backends.has(device);
}
