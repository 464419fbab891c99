/**
 * Choosing the compute device in a page: WebGPU on the browser's `navigator.gpu` when it gives an
 * adapter, else the cpu reference backend (plain JavaScript, slower), with the reason, so that a
 * page can say why it is slow instead of failing.
 */
import type { Device } from '../tensor/device.js';
import { initWebGPU, type AdapterReport } from '../kernels/webgpu/index.js';

/** The device a page computes on. */
export interface Backend {
  device: Device;
  /** The WebGPU adapter in use; null on the cpu. */
  adapter: AdapterReport | null;
  /** Why WebGPU is not used although it was wanted (no navigator.gpu, no adapter, ...); null otherwise. */
  fallbackReason: string | null;
}

/**
 * Initializes WebGPU on `navigator.gpu` (once per page; see `initWebGPU`) and returns it, or the
 * cpu with `fallbackReason` when the browser has no WebGPU or no adapter. `prefer: 'cpu'` skips
 * WebGPU (fallbackReason null). Never throws for a missing GPU.
 */
export async function initBackend(o: { prefer?: Device } = {}): Promise<Backend> {
  if (o.prefer === 'cpu') return { device: 'cpu', adapter: null, fallbackReason: null };
  const nav = (globalThis as { navigator?: { gpu?: unknown } }).navigator;
  if (!nav?.gpu) return { device: 'cpu', adapter: null, fallbackReason: 'this browser has no WebGPU (navigator.gpu is missing)' };
  try {
    return { device: 'webgpu', adapter: await initWebGPU(), fallbackReason: null };
  } catch (e) {
    return { device: 'cpu', adapter: null, fallbackReason: (e as Error).message.replace(/^initWebGPU: /, '') };
  }
}

/** One line naming an adapter ("google swiftshader (SwiftShader Device)"), or "cpu". */
export function describeAdapter(a: AdapterReport | null): string {
  if (!a) return 'cpu';
  const name = [a.vendor, a.architecture, a.device].filter((s) => s).join(' ');
  return a.description && !name.includes(a.description) ? `${name || 'WebGPU adapter'} (${a.description})` : name || a.description || 'WebGPU adapter';
}
