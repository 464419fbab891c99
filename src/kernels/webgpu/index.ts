/**
 * Public entry of the WebGPU backend: `await initWebGPU()` once, then use device 'webgpu'.
 */
import { hasBackend, registerBackend, unregisterBackend } from '../registry.js';
import { acquireDevice, type AcquireOptions, type AdapterReport } from './device.js';
import { WebGPUBackend } from './backend.js';
import { GpuOutOfMemoryError, GpuRuntime } from './runtime.js';

export type { AdapterReport, AcquireOptions };
export { WebGPUBackend, GpuRuntime, GpuOutOfMemoryError };

let backend: WebGPUBackend | null = null;
let pending: Promise<WebGPUBackend> | null = null;

/**
 * Acquires the GPU (once per process; later calls return the same backend) and registers the
 * 'webgpu' device. In Node.js this loads Dawn (npm `webgpu`); in a browser it uses navigator.gpu.
 * @returns the adapter report (vendor, architecture, device, description, features, limits).
 * @throws Error when no adapter is available, saying how to install a software GPU.
 */
export async function initWebGPU(opts: AcquireOptions = {}): Promise<AdapterReport> {
  if (backend && hasBackend('webgpu')) return backend.rt.report;
  if (!pending) {
    pending = (async () => {
      const { device, report } = await acquireDevice(opts);
      const b = new WebGPUBackend(new GpuRuntime(device, report));
      device.lost.then(() => {
        if (backend === b) {
          backend = null;
          pending = null;
          unregisterBackend('webgpu');
        }
      });
      backend = b;
      registerBackend(b);
      return b;
    })();
    pending.catch(() => (pending = null));
  }
  return (await pending).rt.report;
}

/** The runtime of the initialized WebGPU backend (memory statistics, pool control). */
export function webgpuRuntime(): GpuRuntime {
  if (!backend) throw new Error("webgpu is not initialized: call `await initWebGPU()` first");
  return backend.rt;
}

/** Live and peak GPU bytes held by tensors, and bytes kept in the buffer pool. */
export function gpuMemory(): { liveBytes: number; peakBytes: number; pooledBytes: number } {
  const rt = webgpuRuntime();
  return { liveBytes: rt.liveBytes, peakBytes: rt.peakBytes, pooledBytes: rt.pooledBytes };
}
