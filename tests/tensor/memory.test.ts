import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getBackend, keep, randn, tensor, tidy, type Tensor } from '../../src/index.js';
import type { Backend, Storage } from '../../src/kernels/backend.js';
import type { CpuStorage } from '../../src/kernels/cpu/index.js';

/** Tracks the cpu storages allocated since `start` that are not freed yet. */
function liveCounter() {
  const b = getBackend('cpu') as Backend & Record<string, unknown>;
  const live = new Set<Storage>();
  const orig = { alloc: b.alloc, upload: b.upload, free: b.free };
  b.alloc = function (this: Backend, ...a: Parameters<Backend['alloc']>) {
    const s = orig.alloc.apply(this, a);
    live.add(s);
    return s;
  };
  b.upload = function (this: Backend, ...a: Parameters<Backend['upload']>) {
    const s = orig.upload.apply(this, a);
    live.add(s);
    return s;
  };
  b.free = function (this: Backend, s: Storage) {
    live.delete(s);
    return orig.free.call(this, s);
  };
  return {
    get count() {
      return live.size;
    },
    restore() {
      // The patched methods are own properties; removing them restores the prototype's.
      for (const k of ['alloc', 'upload', 'free']) Reflect.deleteProperty(b, k);
    },
  };
}

let counter: ReturnType<typeof liveCounter>;
beforeEach(() => {
  counter = liveCounter();
});
afterEach(() => counter.restore());

describe('dispose and storage reference counts', () => {
  it('dispose is idempotent and frees the storage', () => {
    const x = tensor([1, 2, 3]);
    expect(counter.count).toBe(1);
    expect(x._ref.refs).toBe(1);
    x.dispose();
    x.dispose();
    expect(x.isDisposed).toBe(true);
    expect(x._ref.freed).toBe(true);
    expect((x._ref.storage as CpuStorage).freed).toBe(true);
    expect(counter.count).toBe(0);
  });
  it('a view keeps the base storage alive; disposing all frees it', () => {
    const x = tensor([[1, 2], [3, 4]]);
    const v = x.t();
    const w = x.reshape(4).narrow(0, 1, 2);
    expect(x._ref.refs).toBe(4); // x, t(), reshape's view, narrow's view
    x.dispose();
    expect(x._ref.freed).toBe(false);
    expect(v.toArray()).toEqual([[1, 3], [2, 4]]);
    expect(w.toArray()).toEqual([2, 3]);
    v.dispose();
    w.dispose();
    expect(x._ref.freed).toBe(false); // the intermediate reshape view is still referenced
    // Release every handle: the storage goes.
    const y = tensor([5, 6]);
    const y1 = y.unsqueeze(0);
    const y2 = y1.squeeze(0);
    for (const t of [y, y1, y2]) t.dispose();
    expect(y._ref.refs).toBe(0);
    expect(y._ref.freed).toBe(true);
  });
  it('Symbol.dispose releases (using declarations)', () => {
    const x = tensor([1]);
    x[Symbol.dispose]();
    expect(x.isDisposed).toBe(true);
  });
  it('using a disposed tensor throws naming the op and the shape', () => {
    const x = tensor([[1, 2, 3]]);
    x.dispose();
    const msg = (op: string) => new RegExp(`^${op}: tensor of shape \\[1, 3\\] was disposed`);
    expect(() => x.add(1)).toThrow(msg('add'));
    expect(() => x.mul(x)).toThrow(msg('mul'));
    expect(() => x.exp()).toThrow(msg('exp'));
    expect(() => x.sum()).toThrow(msg('sum'));
    expect(() => x.reshape(3)).toThrow(msg('reshape'));
    expect(() => x.permute(1, 0)).toThrow(msg('permute'));
    expect(() => x.matmul(x)).toThrow(msg('matmul'));
    expect(() => x.softmax(1)).toThrow(msg('softmax'));
    expect(() => x.toArray()).toThrow(msg('dataSync'));
    expect(() => x.argmax()).toThrow(msg('argmax'));
    expect(() => x.clone()).toThrow(msg('clone'));
    expect(() => x.to('int32')).toThrow(msg('to'));
    expect(() => x.to('float32')).toThrow(msg('to'));
    expect(() => tensor([1, 2, 3]).add(x)).toThrow(/add: tensor of shape \[1, 3\] was disposed/);
    return expect(x.data()).rejects.toThrow(msg('data'));
  });
});

describe('tidy / keep', () => {
  it('disposes intermediates and keeps the returned tensor', () => {
    const x = tensor([1, 2]);
    let inner: Tensor | undefined;
    const y = tidy(() => {
      inner = x.mul(2);
      return inner.add(1);
    });
    expect(inner!.isDisposed).toBe(true);
    expect(y.isDisposed).toBe(false);
    expect(x.isDisposed).toBe(false); // created outside
    expect(y.toArray()).toEqual([3, 5]);
    expect(counter.count).toBe(2); // x and y
  });
  it('keeps tensors in returned arrays and objects; keep() survives the scope', () => {
    let kept: Tensor | undefined;
    let dropped: Tensor | undefined;
    const r = tidy(() => {
      kept = keep(tensor([1]));
      dropped = tensor([2]);
      return { a: tensor([3]), list: [tensor([4]), tensor([5])] };
    });
    expect(kept!.isDisposed).toBe(false);
    expect(dropped!.isDisposed).toBe(true);
    expect(r.a.isDisposed).toBe(false);
    expect(r.list.every((t) => !t.isDisposed)).toBe(true);
  });
  it('returning a view of an intermediate keeps its storage alive', () => {
    const v = tidy(() => tensor([[1, 2], [3, 4]]).t());
    expect(v.toArray()).toEqual([[1, 3], [2, 4]]);
  });
  it('nested scopes hand results to the parent scope', () => {
    let mid: Tensor | undefined;
    const out = tidy(() => {
      mid = tidy(() => tensor([1]).add(1));
      expect(mid.isDisposed).toBe(false);
      return mid.mul(3);
    });
    expect(mid!.isDisposed).toBe(true);
    expect(out.toArray()).toEqual([6]);
  });
  it('disposes everything when the function throws; rejects async functions', () => {
    let t: Tensor | undefined;
    expect(() =>
      tidy(() => {
        t = tensor([1]);
        throw new Error('inner');
      }),
    ).toThrow('inner');
    expect(t!.isDisposed).toBe(true);
    let u: Tensor | undefined;
    expect(() =>
      tidy(() => {
        u = tensor([1]);
        return Promise.resolve(u);
      }),
    ).toThrow(/tidy: the function must be synchronous/);
    expect(u!.isDisposed).toBe(true);
  });
  it('a forward + backward step inside tidy leaves only the leaves and their gradients', () => {
    const w = randn([4, 3], { requires_grad: true });
    const b = randn([3], { requires_grad: true });
    const x = randn([5, 4]);
    const base = counter.count; // w, b, x
    for (let step = 0; step < 3; step++) {
      tidy(() => {
        const h = x.matmul(w).add(b).relu();
        const loss = h.log_softmax(1).mul(h.sigmoid()).max(1).mean();
        loss.backward();
      });
    }
    expect(w.grad!.isDisposed).toBe(false);
    expect(counter.count).toBe(base + 2); // w.grad and b.grad, accumulated in place
  });
  it('backward frees the seed and every temporary its rules create', () => {
    const x = randn([3, 4], { requires_grad: true });
    const y = x.abs().clamp(0.1, 2).pow(2).maximum(x).softmax(0).max(1).sum();
    const before = counter.count; // x and the forward's tensors
    y.backward();
    expect(counter.count).toBe(before + 1); // only x.grad is new
  });
  it('the graph needs the tensors of its forward: backward after the forward\'s tidy throws clearly', () => {
    // Run backward inside the same tidy as the forward (see the memory.ts header).
    const x = randn([3], { requires_grad: true });
    const y = tidy(() => x.exp().mul(x).sum());
    expect(() => y.backward()).toThrow(/was disposed \(use after dispose\(\) or outside its tidy scope\)/);
  });
});
