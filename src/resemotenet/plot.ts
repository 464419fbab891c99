/**
 * Pictures as hand-written SVG text (no plotting dependency): the confusion matrix as a heat map
 * and the training curves (loss and accuracy per epoch). Both return a complete standalone SVG
 * document; write it to a `.svg` file and open it in any browser.
 */

/** Escapes text for SVG content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** A colour from white (0) to dark blue (1), as matplotlib's "Blues". */
function blues(t: number): string {
  const x = Math.min(1, Math.max(0, t));
  const stops: [number, number, number][] = [
    [247, 251, 255],
    [198, 219, 239],
    [107, 174, 214],
    [33, 113, 181],
    [8, 48, 107],
  ];
  const f = x * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(f));
  const u = f - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  const c = a.map((v, j) => Math.round(v + (b[j]! - v) * u));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

export interface ConfusionSvgOptions {
  title?: string;
  /** Colour by row-normalised values (recall per true class) and print percentages under counts (default true). */
  normalize?: boolean;
  /** Cell size in pixels (default 64). */
  cell?: number;
}

/**
 * The confusion matrix (rows: true class, columns: predicted class) as an SVG heat map with the
 * count in each cell (and the row percentage when `normalize`).
 */
export function confusionMatrixSvg(confusion: readonly (readonly number[])[], classNames: readonly string[], opts: ConfusionSvgOptions = {}): string {
  const k = confusion.length;
  if (classNames.length !== k) throw new RangeError(`confusionMatrixSvg: ${classNames.length} class names for a ${k}x${k} matrix`);
  const cell = opts.cell ?? 64;
  const normalize = opts.normalize ?? true;
  const left = 110;
  const top = opts.title ? 60 : 30;
  const bottom = 100;
  const right = 30;
  const W = left + k * cell + right;
  const H = top + k * cell + bottom;
  const rowSums = confusion.map((r) => r.reduce((a, b) => a + b, 0));
  const maxCount = Math.max(1, ...confusion.flat());
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title) parts.push(`<text x="${W / 2}" y="30" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const v = confusion[i]![j]!;
      const frac = normalize ? (rowSums[i]! > 0 ? v / rowSums[i]! : 0) : v / maxCount;
      const x = left + j * cell;
      const y = top + i * cell;
      const fill = blues(frac);
      const ink = frac > 0.5 ? 'white' : 'black';
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#999" stroke-width="0.5"><title>true ${escapeXml(classNames[i]!)}, predicted ${escapeXml(classNames[j]!)}: ${v}</title></rect>`);
      const cx = x + cell / 2;
      if (normalize) {
        parts.push(`<text x="${cx}" y="${y + cell / 2 - 2}" text-anchor="middle" font-size="13" fill="${ink}">${v}</text>`);
        parts.push(`<text x="${cx}" y="${y + cell / 2 + 13}" text-anchor="middle" font-size="10" fill="${ink}">${(frac * 100).toFixed(1)}%</text>`);
      } else {
        parts.push(`<text x="${cx}" y="${y + cell / 2 + 5}" text-anchor="middle" font-size="13" fill="${ink}">${v}</text>`);
      }
    }
  }
  for (let i = 0; i < k; i++) {
    const name = escapeXml(classNames[i]!);
    parts.push(`<text x="${left - 8}" y="${top + i * cell + cell / 2 + 4}" text-anchor="end" font-size="12">${name}</text>`);
    const x = left + i * cell + cell / 2;
    const y = top + k * cell + 10;
    parts.push(`<text x="${x}" y="${y}" text-anchor="end" font-size="12" transform="rotate(-45 ${x} ${y})">${name}</text>`);
  }
  parts.push(`<text x="${left + (k * cell) / 2}" y="${H - 12}" text-anchor="middle" font-size="13">predicted</text>`);
  parts.push(`<text x="16" y="${top + (k * cell) / 2}" text-anchor="middle" font-size="13" transform="rotate(-90 16 ${top + (k * cell) / 2})">true</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** One line of a chart. */
export interface Series {
  name: string;
  /** y values at x = 1..n (null = missing). */
  values: readonly (number | null)[];
  color: string;
  dashed?: boolean;
}

/** "Nice" tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= d;
    hi += d;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1]! < hi) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function chart(x0: number, y0: number, w: number, h: number, title: string, ylabel: string, series: readonly Series[], fixedRange?: [number, number]): string {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const ys = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const [lo0, hi0] = fixedRange ?? [ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1];
  const ticks = niceTicks(lo0, hi0);
  const lo = ticks[0]!;
  const hi = ticks[ticks.length - 1]!;
  const px = (i: number) => x0 + (n === 1 ? w / 2 : ((i - 1) / (n - 1)) * w);
  const py = (v: number) => y0 + h - ((v - lo) / (hi - lo || 1)) * h;
  const p: string[] = [];
  p.push(`<text x="${x0 + w / 2}" y="${y0 - 12}" text-anchor="middle" font-size="14" font-weight="bold">${escapeXml(title)}</text>`);
  p.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#444"/>`);
  for (const t of ticks) {
    const y = py(t);
    p.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#ddd"/>`);
    p.push(`<text x="${x0 - 6}" y="${y + 4}" text-anchor="end" font-size="11">${Number(t.toPrecision(4))}</text>`);
  }
  const xticks = niceTicks(1, Math.max(2, n), Math.min(8, n)).filter((t) => Number.isInteger(t) && t >= 1 && t <= n);
  for (const t of xticks) {
    const x = px(t);
    p.push(`<line x1="${x}" y1="${y0 + h}" x2="${x}" y2="${y0 + h + 4}" stroke="#444"/>`);
    p.push(`<text x="${x}" y="${y0 + h + 17}" text-anchor="middle" font-size="11">${t}</text>`);
  }
  p.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" text-anchor="middle" font-size="12">epoch</text>`);
  p.push(`<text x="${x0 - 44}" y="${y0 + h / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 ${x0 - 44} ${y0 + h / 2})">${escapeXml(ylabel)}</text>`);
  series.forEach((s, si) => {
    const pts: string[] = [];
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return;
      pts.push(`${px(i + 1).toFixed(1)},${py(v).toFixed(1)}`);
    });
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (pts.length > 1) p.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const pt of pts) {
      const [cx, cy] = pt.split(',');
      p.push(`<circle cx="${cx}" cy="${cy}" r="2.5" fill="${s.color}"/>`);
    }
    const ly = y0 + 16 + si * 16;
    p.push(`<line x1="${x0 + w - 120}" y1="${ly - 4}" x2="${x0 + w - 96}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    p.push(`<text x="${x0 + w - 90}" y="${ly}" font-size="11">${escapeXml(s.name)}</text>`);
  });
  return p.join('\n');
}

/** Per-epoch values for the curves (as in the training log). */
export interface CurvePoint {
  epoch: number;
  train_loss?: number | null;
  train_acc?: number | null;
  val_loss?: number | null;
  val_acc?: number | null;
}

/**
 * Training curves: loss (train, validation) on the left, accuracy (train, validation) on the
 * right, against the epoch number.
 */
export function trainingCurvesSvg(points: readonly CurvePoint[], opts: { title?: string } = {}): string {
  const sorted = [...points].sort((a, b) => a.epoch - b.epoch);
  const col = (k: keyof CurvePoint) => sorted.map((p) => (typeof p[k] === 'number' ? (p[k] as number) : null));
  const W = 980;
  const H = 420;
  const top = opts.title ? 80 : 50;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`);
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  if (opts.title) parts.push(`<text x="${W / 2}" y="28" text-anchor="middle" font-size="16" font-weight="bold">${escapeXml(opts.title)}</text>`);
  parts.push(
    chart(80, top, 370, H - top - 60, 'Loss', 'cross-entropy', [
      { name: 'train', values: col('train_loss'), color: '#1f77b4' },
      { name: 'validation', values: col('val_loss'), color: '#ff7f0e', dashed: true },
    ]),
  );
  const accs = [...col('train_acc'), ...col('val_acc')].filter((v): v is number => v !== null);
  const range: [number, number] = [Math.max(0, Math.min(...accs, 1)), Math.min(1, Math.max(...accs, 0))];
  parts.push(
    chart(580, top, 370, H - top - 60, 'Accuracy', 'accuracy', [
      { name: 'train', values: col('train_acc'), color: '#1f77b4' },
      { name: 'validation', values: col('val_acc'), color: '#ff7f0e', dashed: true },
    ], accs.length ? range : [0, 1]),
  );
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
