/** Reference batched matmul on strided 3-d layouts; float64 accumulation. */
import type { Layout, Storage } from '../backend.js';
import { arr } from './storage.js';

export function matmul(a: Storage, al: Layout, b: Storage, bl: Layout, out: Storage, B: number, M: number, N: number, K: number): void {
  const as = arr(a), bs = arr(b), o = arr(out);
  const [sab, sam, sak] = al.strides as [number, number, number];
  const [sbb, sbk, sbn] = bl.strides as [number, number, number];
  for (let bi = 0; bi < B; bi++) {
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        const ao = al.offset + bi * sab + m * sam;
        const bo = bl.offset + bi * sbb + n * sbn;
        for (let k = 0; k < K; k++) s += as[ao + k * sak]! * bs[bo + k * sbk]!;
        o[(bi * M + m) * N + n] = s;
      }
    }
  }
}
