/**
 * TensorFlow.js's wasm backend (`@tensorflow/tfjs-backend-wasm`: XNNPACK kernels, SIMD when the
 * runtime has it) as a CPU peer: registers the backend on the same tfjs instance as the WebGPU
 * peer and reports its SIMD and thread count.
 *
 * Threads: tfjs-backend-wasm 4.22 decides by its flag WASM_HAS_MULTITHREAD_SUPPORT, which is
 * false whenever tfjs runs under Node (IS_NODE). Forcing the flag does not help: the threaded
 * build starts its pthread workers from blob: URLs, which Node's Worker refuses, and the backend
 * then fails to initialize. So under Node the peer runs on one thread, and the report says so.
 */
import os from 'node:os';
import type { TF } from './tfjs_model.js';

export interface WasmInfo {
  /** The runtime validates WebAssembly SIMD (tfjs then loads its SIMD build). */
  simd: boolean;
  /** Threads of the backend's thread pool (1 without threads). */
  threads: number;
  /** What was used and why (threads off under Node, say). */
  note: string;
}

let info: Promise<WasmInfo> | null = null;

/**
 * Registers and initializes tfjs's wasm backend once per process; leaves the active backend as it
 * was. With thread support (a browser with cross-origin isolation) the pool gets one thread per core.
 * @throws Error when the package is missing or the backend fails to start.
 */
export function loadTfjsWasm(tf: TF): Promise<WasmInfo> {
  info ??= (async () => {
    let wasm: typeof import('@tensorflow/tfjs-backend-wasm');
    try {
      wasm = await import('@tensorflow/tfjs-backend-wasm');
    } catch (e) {
      throw new Error(`tfjs wasm: could not load @tensorflow/tfjs-backend-wasm (npm ci installs it): ${(e as Error).message}`);
    }
    const simd = !!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    const mt = !!(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
    if (mt) wasm.setThreadsCount(os.cpus().length);
    const prev = tf.getBackend();
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs wasm: the backend failed to start');
    await tf.ready();
    const threads = wasm.getThreadsCount();
    if (prev && prev !== 'wasm') await tf.setBackend(prev);
    const build = simd ? 'SIMD' : 'no SIMD (the runtime lacks WebAssembly SIMD)';
    const note = mt
      ? `tfjs wasm: ${build}, ${threads} threads`
      : `tfjs wasm: ${build}, ${threads} thread: tfjs-backend-wasm turns threads off under Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE; its pthread workers are blob: URLs, which Node's Worker refuses)`;
    return { simd, threads, note };
  })();
  return info;
}
