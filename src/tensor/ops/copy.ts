/** Device and dtype conversion (differentiable for floating dtypes). */
import { record } from '../autograd.js';
import { getBackend, type Device } from '../device.js';
import { checkDType, type DType } from '../dtype.js';
import { Tensor } from '../tensor.js';
import { denseCopy } from './views.js';

/** A copy of t on `device` (t itself when already there). Reads back through the host. */
export function toDevice(t: Tensor, device: Device): Tensor {
  t.assertAlive('to');
  if (t.device === device) return t;
  getBackend(device);
  const src = t._isDense ? t : denseCopy(t);
  // Cross-device copies go through the host; only cpu storage can be read synchronously.
  let out: Tensor;
  if (src.device === 'cpu') {
    const data = (src.storage as unknown as { data: import('../dtype.js').TypedArray }).data;
    out = Tensor.fromArray(data, t.shape, t.dtype, device);
  } else {
    throw new Error(`to('${device}'): a '${t.device}' tensor is read back asynchronously; use await t.toAsync('${device}')`);
  }
  if (src !== t) src.dispose();
  const from = t.device;
  return record('to', out, [t], (gy) => [toDevice(gy, from)]);
}

/** Async device copy that works from any device (GPU -> host readback). */
export async function toDeviceAsync(t: Tensor, device: Device): Promise<Tensor> {
  if (t.device === device) return t;
  const data = await t.data();
  const out = Tensor.fromArray(data, t.shape, t.dtype, device);
  const from = t.device;
  return record('to', out, [t], (gy) => [toDevice(gy, from)]);
}

/** A copy converted to `dtype` (t itself when already of that dtype). Float -> int truncates toward zero. */
export function toDType(t: Tensor, dtype: DType): Tensor {
  t.assertAlive('to');
  checkDType('to', dtype);
  if (t.dtype === dtype) return t;
  if (dtype === 'float64' && t.device !== 'cpu') throw new TypeError(`to('float64'): float64 exists only on the cpu device (tensor is on '${t.device}')`);
  const out = Tensor.empty(t.shape, dtype, t.device);
  out.backend.copy(t.storage, t.layout, out.storage, out.layout);
  if (dtype === 'int32' || t.dtype === 'int32') return out;
  const from = t.dtype;
  return record('to', out, [t], (gy) => [toDType(gy, from)]);
}
