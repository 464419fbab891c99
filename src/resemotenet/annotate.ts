/**
 * Annotated pictures for `predict --annotate`: each face's box drawn as a rectangle and its top
 * emotion written on a filled tag above it (inside when there is no room) with the 5x7 bitmap font
 * of ./bitmap_font.ts, scaled with the image; a picture without boxes gets its tag in the top-left
 * corner. Written as an RGB PNG (pngjs), atomically.
 */
import { writeFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import pngjs from 'pngjs';
import type { RgbImage } from '../facedetect/image.js';
import { ADVANCE, GLYPH_H, glyph, textWidth } from './bitmap_font.js';

const { PNG } = pngjs;

/** One thing to draw: a box (image pixels, x1 y1 x2 y2; null for none) and its tag text. */
export interface Annotation {
  box: readonly [number, number, number, number] | null;
  label: string;
}

/** Box and tag colours, one per face in turn. */
const COLOURS: readonly (readonly [number, number, number])[] = [
  [255, 64, 64],
  [64, 200, 255],
  [255, 210, 0],
  [80, 230, 80],
  [255, 120, 255],
];

function fillRect(img: { width: number; height: number; data: Uint8Array }, x0: number, y0: number, x1: number, y1: number, c: readonly number[]): void {
  const xa = Math.max(0, Math.floor(x0));
  const ya = Math.max(0, Math.floor(y0));
  const xb = Math.min(img.width, Math.ceil(x1));
  const yb = Math.min(img.height, Math.ceil(y1));
  for (let y = ya; y < yb; y++) for (let x = xa; x < xb; x++) img.data.set(c, 3 * (y * img.width + x));
}

function drawText(img: { width: number; height: number; data: Uint8Array }, text: string, x: number, y: number, scale: number, c: readonly number[]): void {
  for (let i = 0; i < text.length; i++) {
    const rows = glyph(text[i]!);
    for (let r = 0; r < GLYPH_H; r++) {
      for (let b = 0; b < 5; b++) {
        if ((rows[r]! >> (4 - b)) & 1) fillRect(img, x + (i * ADVANCE + b) * scale, y + r * scale, x + (i * ADVANCE + b + 1) * scale, y + (r + 1) * scale, c);
      }
    }
  }
}

/**
 * A copy of `img` with the annotations drawn (see the file header). Line width and text size grow
 * with the image (about 1/250 and 1/300 of its smaller side, at least 2 and 1 pixels).
 */
export function drawAnnotations(img: RgbImage, anns: readonly Annotation[]): RgbImage {
  const out = { width: img.width, height: img.height, data: new Uint8Array(img.data) };
  const small = Math.min(img.width, img.height);
  const line = Math.max(2, Math.round(small / 250));
  const scale = Math.max(1, Math.round(small / 300));
  const pad = scale + 1;
  anns.forEach((a, i) => {
    const c = COLOURS[i % COLOURS.length]!;
    const tw = textWidth(a.label, scale) + 2 * pad;
    const th = GLYPH_H * scale + 2 * pad;
    let tx = 0;
    let ty = 0;
    if (a.box) {
      const [x1, y1, x2, y2] = a.box;
      fillRect(out, x1 - line, y1 - line, x2 + line, y1, c);
      fillRect(out, x1 - line, y2, x2 + line, y2 + line, c);
      fillRect(out, x1 - line, y1, x1, y2, c);
      fillRect(out, x2, y1, x2 + line, y2, c);
      tx = Math.min(Math.max(0, x1 - line), Math.max(0, img.width - tw));
      ty = y1 - line - th >= 0 ? y1 - line - th : Math.max(0, y1);
    }
    fillRect(out, tx, ty, tx + tw, ty + th, c);
    drawText(out, a.label, tx + pad, ty + pad, scale, [0, 0, 0]);
  });
  return out;
}

/** RGB -> PNG bytes (8-bit RGB, no alpha). */
export function encodePng(img: RgbImage): Uint8Array {
  const png = new PNG({ width: img.width, height: img.height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Draws `anns` on `img` and writes it to `file` as PNG (through a temporary file and a rename). */
export async function writeAnnotated(file: string, img: RgbImage, anns: readonly Annotation[]): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, encodePng(drawAnnotations(img, anns)));
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
}
