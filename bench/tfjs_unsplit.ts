/**
 * What an unsplit weight over maxStorageBufferBindingSize does in tfjs-webgpu: res_block3's conv2
 * at its real input (1x1, batch 1), whole weight vs the weight split along the output channels.
 * tfjs binds the whole buffer, WebGPU rejects the bind group, and the conv silently returns zeros.
 */
import { randomArray } from './harness.js';
import { maxAbsDiff } from './model_checks.js';
import { paramSpecs, type Geometry } from './shapes.js';
import type { TfEnv } from './tfjs_env.js';

/** Runs the demonstration on tfjs's WebGPU device and adds a note with what it saw. */
export async function demoUnsplit(tfe: TfEnv, g: Geometry, notes: string[]): Promise<void> {
  const { tf } = tfe;
  const spec = paramSpecs(g).find((s) => s.name === 'res_block3.conv2.weight');
  if (!spec || !tfe.device) return;
  const [O, I] = spec.shape as [number, number];
  // Both halves are built on the host: slicing a 151 MB tensor in tfjs would itself hit the limit.
  const half = O / 2;
  const a = randomArray(9 * I * half, 4, 0.01);
  const b = randomArray(9 * I * half, 5, 0.01);
  const whole = new Float32Array(9 * I * O);
  for (let r = 0; r < 9 * I; r++) {
    whole.set(a.subarray(r * half, (r + 1) * half), r * O);
    whole.set(b.subarray(r * half, (r + 1) * half), r * O + half);
  }
  const x = tf.tensor4d(randomArray(I, 3), [1, 1, 1, I]);
  const w = tf.tensor4d(whole, [3, 3, I, O]);
  const parts = [tf.tensor4d(a, [3, 3, I, half]), tf.tensor4d(b, [3, 3, I, half])];
  try {
    const unsplit = await tfe.scoped(async () => {
      const y = tf.conv2d(x, w, 1, 1);
      const d = await y.data();
      y.dispose();
      return d;
    });
    const split = await tfe.scoped(async () => {
      const y = tf.concat(parts.map((p) => tf.conv2d(x, p, 1, 1)), 3);
      const d = await y.data();
      y.dispose();
      return d;
    });
    const zeros = unsplit.value.every((v) => v === 0);
    const diff = maxAbsDiff(unsplit.value, split.value);
    notes.push(
      `tfjs-webgpu check of res_block3.conv2 with its ${((9 * I * O * 4) / 2 ** 20).toFixed(0)} MiB weight unsplit: ${unsplit.errors.length} WebGPU validation error(s)${unsplit.errors[0] ? ` ("${unsplit.errors[0]}")` : ''}; output ${zeros ? 'all zeros' : 'non-zero'}, max |unsplit - split| = ${diff.toExponential(2)}; split: ${split.errors.length} errors`,
    );
  } finally {
    x.dispose();
    w.dispose();
    parts.forEach((p) => p.dispose());
  }
}
