/**
 * TensorFlow.js on the same adapter: Dawn's GPU object (pinned on globalThis by initWebGPU) is
 * handed to tfjs as navigator.gpu, so tfjs requests its own device from the same adapter.
 * Every timed tfjs run is wrapped in WebGPU error scopes: a failed bind group (a binding over
 * maxStorageBufferBindingSize) does not throw in tfjs, it silently leaves the output unwritten.
 */
import type { TF } from './tfjs_model.js';
import { errorMessage, measure, randomArray, type MeasureOptions, type Stats } from './harness.js';

export interface TfEnv {
  tf: TF;
  /** tfjs's WebGPU device (null when the webgpu backend could not start). */
  device: GPUDevice | null;
  /** Validation / out-of-memory errors seen on tfjs's device (first lines, deduplicated). */
  errors: Map<string, number>;
  /** Runs fn inside validation + out-of-memory error scopes on tfjs's device; returns its value and the errors. */
  scoped<T>(fn: () => Promise<T>): Promise<{ value: T; errors: string[] }>;
  /** Makes a backend the active one (initializing it the first time). */
  use(backend: 'webgpu' | 'cpu' | 'wasm'): Promise<void>;
  version: string;
  /** Bytes tfjs's WebGPU buffer manager has allocated (in use + pooled; its high-water mark). */
  gpuBytesAllocated(): number | undefined;
}

let env: TfEnv | null = null;

/**
 * Loads TensorFlow.js and its WebGPU backend once per process, on Dawn's GPU object (call
 * initWebGPU() first). The webgpu backend is made active when it starts; `device` is null otherwise.
 */
export async function loadTfjs(): Promise<TfEnv> {
  if (env) return env;
  const g = globalThis as { navigator?: { gpu?: GPU }; __resemotenetDawn?: GPU };
  if (!g.navigator?.gpu) {
    const gpu = g.__resemotenetDawn;
    if (!gpu) throw new Error('tfjs: no Dawn GPU object on globalThis (call initWebGPU() first)');
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu }, configurable: true, writable: true });
  }
  const tf = (await import('@tensorflow/tfjs')) as TF;
  await import('@tensorflow/tfjs-backend-webgpu');
  const errors = new Map<string, number>();
  const note = (m: string) => {
    const k = m.split('\n')[0]!.slice(0, 200);
    errors.set(k, (errors.get(k) ?? 0) + 1);
  };
  let device: GPUDevice | null = null;
  const ok = await tf.setBackend('webgpu');
  if (ok) {
    await tf.ready();
    device = (tf.backend() as unknown as { device: GPUDevice }).device;
    device.addEventListener('uncapturederror', (ev: Event) => note(`uncaptured: ${(ev as GPUUncapturedErrorEvent).error.message}`));
  }
  env = {
    tf,
    device,
    errors,
    async scoped<T>(fn: () => Promise<T>) {
      const d = tf.getBackend() === 'webgpu' ? device : null;
      if (!d) return { value: await fn(), errors: [] };
      d.pushErrorScope('validation');
      d.pushErrorScope('out-of-memory');
      const found: string[] = [];
      let value: T;
      try {
        value = await fn();
      } finally {
        for (let i = 0; i < 2; i++) {
          const err = await d.popErrorScope();
          if (err) {
            note(err.message);
            found.push(err.message.split('\n')[0]!);
          }
        }
      }
      return { value, errors: found };
    },
    async use(backend) {
      if (tf.getBackend() !== backend) {
        if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed to start`);
        await tf.ready();
      }
    },
    version: tf.version.tfjs,
    gpuBytesAllocated() {
      if (tf.getBackend() !== 'webgpu') return undefined;
      const m = tf.memory() as { numBytesAllocatedInGPU?: number };
      return m.numBytesAllocatedInGPU;
    },
  };
  return env;
}

/** tfjs-webgpu's matmul at PxPxP, timed with a readback: a peer's best effort for the compute peak. */
export async function tfMatmulPeak(e: TfEnv, P: number, o: MeasureOptions): Promise<{ name: string; shape: string; gflops: number; time: Stats; coldMs: number } | null> {
  if (!e.device) return null;
  await e.use('webgpu');
  const { tf } = e;
  const a = tf.tensor2d(randomArray(P * P, 5), [P, P]);
  const b = tf.tensor2d(randomArray(P * P, 6), [P, P]);
  let y: ReturnType<typeof tf.matMul> | null = null;
  try {
    const { value: m, errors } = await e.scoped(() =>
      measure(
        () => {
          y?.dispose();
          y = tf.matMul(a, b);
        },
        async () => {
          await y!.data();
        },
        { ...o, minSampleMs: 0 },
      ),
    );
    if (errors.length) throw new Error(`tfjs matmul reported WebGPU errors: ${errors.join('; ')}`);
    return { name: `tfjs-webgpu matMul ${P}^3 (peak reference)`, shape: `${P}x${P} @ ${P}x${P}`, gflops: (2 * P ** 3) / (m.stats.median / 1000) / 1e9, time: m.stats, coldMs: m.coldMs };
  } catch (err) {
    throw new Error(`tfjs matmul: ${errorMessage(err)}`);
  } finally {
    (y as { dispose(): void } | null)?.dispose();
    a.dispose();
    b.dispose();
  }
}
