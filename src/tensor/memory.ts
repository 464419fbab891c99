/**
 * Tensor lifetimes. Storage is reference counted: every tensor (a view included) holds one
 * reference, and the device memory is freed when the last one is released. Three ways release:
 * `t.dispose()`, the end of a `tidy()` scope for tensors created inside it and not returned or
 * kept, and a FinalizationRegistry as a safety net for tensors that were simply dropped.
 */
import type { Backend, Storage } from '../kernels/backend.js';

/** A storage with a reference count. */
export class StorageRef {
  refs = 0;
  freed = false;
  constructor(
    readonly backend: Backend,
    readonly storage: Storage,
  ) {}
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs <= 0 && !this.freed) {
      this.freed = true;
      this.backend.free(this.storage);
    }
  }
}

const finalizer = new FinalizationRegistry<StorageRef>((ref) => ref.release());

/** Anything tidy can dispose. */
export interface Disposable {
  dispose(): void;
  readonly isDisposed: boolean;
}

const scopes: Set<Disposable>[] = [];

/** Called by every new tensor: tracks it in the innermost tidy scope and the finalizer. */
export function track(t: Disposable & object, ref: StorageRef, token: object): void {
  ref.retain();
  finalizer.register(t, ref, token);
  scopes[scopes.length - 1]?.add(t);
}

export function untrackFinalizer(token: object): void {
  finalizer.unregister(token);
}

/**
 * Runs `fn` and disposes every tensor created inside it, except the tensors in its result
 * (a tensor, or an array/object of tensors, searched one level deep) and those passed to `keep`.
 * Like TensorFlow.js's `tf.tidy`. Nested scopes hand their results to the enclosing scope.
 * Autograd: a result's graph reads tensors its forward created (and the scope disposes), so call
 * `backward()` inside the same tidy as the forward; gradients stored in `.grad` are kept.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Disposable>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of scope) t.dispose();
    throw new Error('tidy: the function must be synchronous (it returned a Promise)');
  }
  const out = new Set<Disposable>();
  collect(result, out, 0);
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (out.has(t)) parent?.add(t);
    else t.dispose();
  }
  return result;
}

function collect(v: unknown, out: Set<Disposable>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 2) return;
  if ('dispose' in v && 'isDisposed' in v) {
    out.add(v as Disposable);
    return;
  }
  const vals = Array.isArray(v) ? v : v instanceof Map ? [...v.values()] : Object.values(v);
  for (const x of vals) collect(x, out, depth + 1);
}

/** Removes a tensor from every open tidy scope, so that it outlives them (like `tf.keep`). */
export function keep<T extends Disposable>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}
