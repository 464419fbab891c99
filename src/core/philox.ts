/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the
 * counter-based generator used by cuRAND and JAX. Block `c` with key `k` gives four u32 words;
 * the WebGPU kernel (shaders/random.wgsl) computes the same words bit for bit.
 */
const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (the low half is Math.imul). */
function mulhi(a: number, b: number): number {
  const aH = a >>> 16, aL = a & 0xffff, bH = b >>> 16, bL = b & 0xffff;
  // (mid * 2^16 + aL*bL) < 2^50: exact in a double.
  const rest = (aH * bL + aL * bH) * 65536 + aL * bL;
  return (aH * bH + Math.floor(rest / 4294967296)) >>> 0;
}

/**
 * Philox4x32-10 on a full 4-word counter (c0, c1, c2, c3) under key (k0, k1); the four u32 words
 * are written to out[0..3]. Matches Random123's philox4x32 (R = 10) bit for bit.
 */
export function philox4x32_10(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array): void {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, x2 = c2 >>> 0, x3 = c3 >>> 0;
  let a = k0 >>> 0, b = k1 >>> 0;
  for (let r = 0; r < 10; r++) {
    const h0 = mulhi(M0, x0), l0 = Math.imul(M0, x0) >>> 0;
    const h1 = mulhi(M1, x2), l1 = Math.imul(M1, x2) >>> 0;
    const n0 = (h1 ^ x1 ^ a) >>> 0;
    const n2 = (h0 ^ x3 ^ b) >>> 0;
    x0 = n0; x1 = l1; x2 = n2; x3 = l0;
    a = (a + W0) >>> 0;
    b = (b + W1) >>> 0;
  }
  out[0] = x0; out[1] = x1; out[2] = x2; out[3] = x3;
}

/**
 * The four u32 words of block (c0, c1) under key (k0, k1): the 4-word counter (c0, c1, 0, 0).
 * This is what the random ops use (block index = c1 * 2^32 + c0).
 */
export function philox4x32(c0: number, c1: number, k0: number, k1: number, out: Uint32Array): void {
  philox4x32_10(c0, c1, 0, 0, k0, k1, out);
}

/** u32 -> float in [0, 1) with 24 random bits (exact in float32). */
export function uniformFromBits(u: number): number {
  return (u >>> 8) * (1 / 16777216);
}

/**
 * Standard normals by Box-Muller from words (u, v): r = sqrt(-2 ln((u>>>8)+1)/2^24),
 * z0 = r cos(2 pi v'), z1 = r sin(2 pi v'). Words 0,1 give elements 0,1 of a block; 2,3 give 2,3.
 */
export function normalPair(u: number, v: number): [number, number] {
  const u1 = ((u >>> 8) + 1) * (1 / 16777216);
  const u2 = (v >>> 8) * (1 / 16777216);
  const r = Math.sqrt(-2 * Math.log(u1));
  const th = 2 * Math.PI * u2;
  return [r * Math.cos(th), r * Math.sin(th)];
}
