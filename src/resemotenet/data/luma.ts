/** PIL's RGB -> L: (19595 r + 38470 g + 7471 b + 0x8000) >> 16, inputs 0..255 (ITU-R 601-2 luma, PIL's fixed point). */
export function lumaL(r: number, g: number, b: number): number {
  return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
}
