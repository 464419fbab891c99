/**
 * Drawing the results over the picture: for every face a box, a tag with the top emotion, and a
 * small panel with one bar per emotion beside the box (right of it when there is room, else left,
 * else below). The overlay canvas has the picture's own pixel size and is scaled with it by CSS.
 */
import type { FaceEmotion } from '../src/browser/index.js';

const COLORS = ['#ff5f5f', '#4dabf7', '#40c057', '#fab005', '#cc5de8', '#ff922b', '#20c997', '#f06595'];

/** The colour of face `i` (the results list uses the same). */
export function faceColor(i: number): string {
  return COLORS[i % COLORS.length]!;
}

const pct = (p: number) => `${Math.round(p * 100)}%`;

/** Clears `canvas`, sizes it to width x height and draws every face. */
export function drawOverlay(canvas: HTMLCanvasElement, width: number, height: number, faces: readonly FaceEmotion[], classNames: readonly string[]): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, width, height);
  const side = Math.min(width, height);
  const lw = Math.max(2, Math.round(side / 200));
  const fs = Math.max(11, Math.round(side / 34));
  ctx.textBaseline = 'middle';
  faces.forEach((f, i) => {
    const color = faceColor(i);
    const [x1, y1, x2, y2] = f.box;
    ctx.lineWidth = lw;
    ctx.strokeStyle = color;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);

    // Tag with the top emotion, above the box when it fits.
    ctx.font = `600 ${fs}px system-ui, sans-serif`;
    const tag = `${f.label} ${pct(f.confidence)}`;
    const tw = ctx.measureText(tag).width + fs * 0.8;
    const th = fs * 1.5;
    const tx = Math.min(Math.max(0, x1 - lw / 2), width - tw);
    const ty = y1 - th >= 0 ? y1 - th : Math.max(0, y1);
    ctx.fillStyle = color;
    ctx.fillRect(tx, ty, tw, th);
    ctx.fillStyle = '#101418';
    ctx.fillText(tag, tx + fs * 0.4, ty + th / 2);

    // One bar per emotion.
    const small = Math.round(fs * 0.8);
    ctx.font = `${small}px system-ui, sans-serif`;
    const labelW = Math.max(...classNames.map((n) => ctx.measureText(n).width));
    const barW = small * 5;
    const rowH = small * 1.35;
    const pad = small * 0.5;
    const pw = pad * 3 + labelW + barW;
    const ph = pad * 2 + rowH * classNames.length;
    const gap = lw * 2;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(lo, v), Math.max(lo, hi));
    let px: number;
    let py = y1;
    if (x2 + gap + pw <= width) px = x2 + gap;
    else if (x1 - gap - pw >= 0) px = x1 - gap - pw;
    else {
      px = clamp(x1, 0, width - pw);
      py = y2 + gap + ph <= height ? y2 + gap : y1 + gap;
    }
    py = clamp(py, 0, height - ph);
    ctx.fillStyle = 'rgba(16, 20, 24, 0.72)';
    ctx.fillRect(px, py, pw, ph);
    classNames.forEach((name, j) => {
      const p = f.probabilities[name] ?? 0;
      const cy = py + pad + rowH * (j + 0.5);
      ctx.fillStyle = name === f.label ? color : '#e8ebf0';
      ctx.fillText(name, px + pad, cy);
      const bx = px + pad * 2 + labelW;
      ctx.fillStyle = 'rgba(255, 255, 255, 0.18)';
      ctx.fillRect(bx, cy - rowH * 0.25, barW, rowH * 0.5);
      ctx.fillStyle = color;
      ctx.fillRect(bx, cy - rowH * 0.25, barW * p, rowH * 0.5);
    });
  });
}
