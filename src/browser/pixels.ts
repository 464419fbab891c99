/**
 * Pixels of what a page shows: an ImageBitmap, <img>, <canvas>, OffscreenCanvas, <video> (its
 * current frame), VideoFrame or ImageData, read as 8-bit RGBA at the source's own size (a 2d
 * canvas's drawImage + getImageData), and image files decoded without colour management, so that
 * the values are the file's own, as the Node decoders (pngjs, jpeg-js) give them.
 */
import type { PixelImage } from '../facedetect/pixels.js';

/** Anything {@link imagePixels} reads. */
export type BrowserImageSource = ImageBitmap | HTMLImageElement | HTMLCanvasElement | OffscreenCanvas | HTMLVideoElement | VideoFrame | ImageData;

const isA = <T>(name: string, v: unknown): v is T => {
  const C = (globalThis as Record<string, unknown>)[name];
  return typeof C === 'function' && v instanceof (C as abstract new (...a: never[]) => unknown);
};

/**
 * The pixel size of a source: natural size for an <img>, the video's frame size, the display
 * size of a VideoFrame (EXIF orientation already applied for an ImageBitmap made with the default
 * options).
 */
export function sourceSize(src: BrowserImageSource): { width: number; height: number } {
  if (isA<HTMLImageElement>('HTMLImageElement', src)) return { width: src.naturalWidth, height: src.naturalHeight };
  if (isA<HTMLVideoElement>('HTMLVideoElement', src)) return { width: src.videoWidth, height: src.videoHeight };
  if (isA<VideoFrame>('VideoFrame', src)) return { width: src.displayWidth, height: src.displayHeight };
  return { width: (src as { width: number }).width, height: (src as { height: number }).height };
}

let scratch: { canvas: OffscreenCanvas | HTMLCanvasElement; ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D } | null = null;

/** One canvas reused for every read (a video loop would otherwise make one per frame). */
function scratchContext(width: number, height: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D {
  if (!scratch) {
    const canvas = typeof OffscreenCanvas === 'function' ? new OffscreenCanvas(width, height) : document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true }) as OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null;
    if (!ctx) throw new Error('imagePixels: this browser gives no 2d canvas context');
    scratch = { canvas, ctx };
  }
  if (scratch.canvas.width !== width) scratch.canvas.width = width;
  if (scratch.canvas.height !== height) scratch.canvas.height = height;
  return scratch.ctx;
}

/**
 * The source's pixels as 8-bit RGBA (an ImageData; a given ImageData is returned as is), at its
 * own size (see {@link sourceSize}).
 * @throws Error naming the source when it has no pixels yet: an <img> that has not loaded, a
 * <video> before its first frame, a zero-sized canvas.
 */
export function imagePixels(src: BrowserImageSource): ImageData {
  if (isA<ImageData>('ImageData', src)) return src;
  const { width, height } = sourceSize(src);
  if (!(width > 0 && height > 0)) {
    const what = isA('HTMLImageElement', src) ? 'the <img> has not loaded yet (or failed to)' : isA('HTMLVideoElement', src) ? 'the <video> has no frame yet (wait for loadeddata)' : 'the source is empty';
    throw new Error(`imagePixels (src/browser/pixels.ts): ${what}: size ${width}x${height}`);
  }
  const ctx = scratchContext(width, height);
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(src as CanvasImageSource, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

/** An ImageData as the library's PixelImage (RGBA, 4 bytes per pixel). */
export function asPixelImage(img: ImageData): PixelImage {
  return { width: img.width, height: img.height, data: img.data };
}

/**
 * Decodes an image file (a File from an <input type=file>, a drop, or a fetched Blob) into an
 * ImageBitmap with the file's own pixel values (`colorSpaceConversion: 'none'`: no ICC profile or
 * gamma applied, as the Node decoders) and its EXIF orientation applied (phones store photos
 * sideways and say so in EXIF).
 * @throws Error naming the file when the browser cannot decode it.
 */
export async function decodeImageFile(file: Blob & { name?: string }): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(file, { colorSpaceConversion: 'none', imageOrientation: 'from-image' });
  } catch (e) {
    throw new Error(`${file.name ?? 'image'}: this browser cannot decode it as an image (${file.type || 'unknown type'}, ${file.size} bytes): ${(e as Error).message}`);
  }
}
