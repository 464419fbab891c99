/**
 * Acquiring the WebGPU adapter and device, once per process. In Node.js this uses Dawn through
 * the npm package `webgpu`; in a browser, `navigator.gpu`. A user may also pass their own
 * `GPUDevice`.
 */

import type { WebGPUDevice, WebGPUPowerPreference } from './gpu_types.js';

/** What the library reports about the adapter it runs on. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  features: string[];
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    minStorageBufferOffsetAlignment: number;
    maxStorageBuffersPerShaderStage: number;
  };
  /** True for software adapters (lavapipe/llvmpipe, SwiftShader). */
  isSoftware: boolean;
}

export interface AcquireOptions {
  /** Use this device instead of requesting one. */
  device?: WebGPUDevice;
  powerPreference?: WebGPUPowerPreference;
}

// Dawn's navigator-like object must stay referenced for the life of the process: when it is
// garbage-collected, node crashes.
let dawnGpu: GPU | null = null;

async function getGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (dawnGpu) return dawnGpu;
  if (typeof process === 'undefined' || !process.versions?.node) {
    throw new Error('initWebGPU: this browser has no navigator.gpu (WebGPU is disabled or unsupported)');
  }
  let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    const name = 'webgpu';
    mod = (await import(/* @vite-ignore */ name)) as typeof mod;
  } catch (e) {
    throw new Error(`initWebGPU: could not load Dawn's Node bindings (npm package 'webgpu'): ${(e as Error).message}`);
  }
  Object.assign(globalThis, mod.globals);
  // Dawn finds Vulkan drivers through the XDG runtime dir; without it lavapipe may not load.
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
  dawnGpu = mod.create([]);
  (globalThis as { __resemotenetDawn?: GPU }).__resemotenetDawn = dawnGpu;
  return dawnGpu;
}

const WANTED_FEATURES: GPUFeatureName[] = ['shader-f16', 'timestamp-query', 'subgroups' as GPUFeatureName];

/**
 * Requests an adapter and a device with the adapter's own maxima for the limits the kernels use.
 * @throws Error when there is no adapter, with the setup command that installs a software GPU.
 */
export async function acquireDevice(opts: AcquireOptions = {}): Promise<{ device: WebGPUDevice; report: AdapterReport }> {
  if (opts.device) {
    return { device: opts.device, report: describe(opts.device.adapterInfo, opts.device.features, opts.device.limits) };
  }
  const gpu = await getGpu();
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  const inBrowser = !!(globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu && gpu !== dawnGpu;
  if (!adapter && inBrowser) {
    throw new Error('initWebGPU: navigator.gpu returned no adapter (WebGPU is blocked or the GPU is unsupported; in Chromium try --enable-unsafe-webgpu)');
  }
  if (!adapter) {
    throw new Error(
      'initWebGPU: no WebGPU adapter found. On a machine without a GPU, install Mesa\'s software Vulkan driver ' +
        '(lavapipe) with `bash scripts/setup.sh` (Debian: mesa-vulkan-drivers from bookworm-backports) and set ' +
        'XDG_RUNTIME_DIR; or use the cpu device.',
    );
  }
  const l = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: l.maxComputeWorkgroupSizeY,
    maxComputeWorkgroupSizeZ: l.maxComputeWorkgroupSizeZ,
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
  };
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f));
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  return { device, report: describe(adapter.info, device.features, device.limits) };
}

function describe(info: GPUAdapterInfo | undefined, features: GPUSupportedFeatures, l: GPUSupportedLimits): AdapterReport {
  const vendor = info?.vendor ?? '';
  const dev = info?.device ?? '';
  const description = info?.description ?? '';
  const text = `${vendor} ${dev} ${description} ${info?.architecture ?? ''}`.toLowerCase();
  return {
    vendor,
    architecture: info?.architecture ?? '',
    device: dev,
    description,
    features: [...features].sort(),
    limits: {
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
    isSoftware: /llvmpipe|lavapipe|swiftshader|software|cpu/.test(text),
  };
}
