/**
 * Devices: the backend registry (src/kernels/registry.ts: `cpu` always, `webgpu` after
 * `await initWebGPU()`) and the default device of the creation functions.
 */
import type { DeviceName } from '../kernels/backend.js';
import { getBackend, onBackendRemoved } from '../kernels/registry.js';

export { registerBackend, unregisterBackend, getBackend, hasBackend } from '../kernels/registry.js';

export type Device = DeviceName;

let defaultDevice: DeviceName = 'cpu';
onBackendRemoved((name) => {
  if (defaultDevice === name) defaultDevice = 'cpu';
});

/** The device used by creation functions when none is given (initially 'cpu'). */
export function getDefaultDevice(): DeviceName {
  return defaultDevice;
}

/** Sets the default device for creation functions (like `torch.set_default_device`). */
export function setDefaultDevice(device: DeviceName): void {
  getBackend(device);
  defaultDevice = device;
}
