/**
 * The `predict` command's output: a table (one row per face, full image paths, the face's box and
 * detector score, the probabilities and the top class; `no face found` or the error for images
 * without a row of their own), CSV with the same rows, and JSON.
 */
import { formatTable } from './metrics.js';
import type { ImageResult, PredictFilesResult } from './predict.js';

const fmtBox = (b: readonly number[]) => b.map((v) => Math.round(v)).join(',');

/** The human-readable table (see the file header). */
export function formatFaceTable(results: readonly ImageResult[], classNames: readonly string[], digits = 3): string {
  const rows: string[][] = [['image', 'face', 'box (x1,y1,x2,y2)', 'face score', ...classNames, 'prediction']];
  const blank = classNames.map(() => '');
  for (const r of results) {
    if (r.status === 'error') rows.push([r.image, '-', '', '', ...blank, `error: ${r.error}`]);
    else if (r.status === 'no_face') rows.push([r.image, '-', '', '', ...blank, 'no face found']);
    else {
      for (const f of r.faces) {
        rows.push([
          r.image,
          f.face === null ? 'whole' : String(f.face),
          f.box ? fmtBox(f.box) : '',
          f.faceScore === null ? '' : f.faceScore.toFixed(3),
          ...classNames.map((n) => f.probabilities[n]!.toFixed(digits)),
          `${f.label} (${(f.confidence * 100).toFixed(1)}%)`,
        ]);
      }
    }
  }
  return formatTable(rows);
}

/** One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). */
export function csvField(v: string | number | null | undefined): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV: header `image,face,x1,y1,x2,y2,face_score,label,confidence,<class...>,status,error`, one
 * row per face, one row (status no_face / error) for an image without faces or unreadable.
 * Coordinates with 2 decimals, probabilities with 6.
 */
export function formatCsv(results: readonly ImageResult[], classNames: readonly string[]): string {
  const lines = [['image', 'face', 'x1', 'y1', 'x2', 'y2', 'face_score', 'label', 'confidence', ...classNames, 'status', 'error'].map(csvField).join(',')];
  const blank = classNames.map(() => '');
  for (const r of results) {
    if (r.status !== 'ok') {
      lines.push([r.image, '', '', '', '', '', '', '', '', ...blank, r.status, r.error ?? ''].map(csvField).join(','));
      continue;
    }
    for (const f of r.faces) {
      lines.push(
        [
          r.image,
          f.face ?? '',
          ...(f.box ? f.box.map((v) => v.toFixed(2)) : ['', '', '', '']),
          f.faceScore === null ? '' : f.faceScore.toFixed(6),
          f.label,
          f.confidence.toFixed(6),
          ...classNames.map((n) => f.probabilities[n]!.toFixed(6)),
          'ok',
          '',
        ]
          .map(csvField)
          .join(','),
      );
    }
  }
  return lines.join('\n');
}

/**
 * The JSON report: checkpoint, class names, detection settings (null with --no-detect),
 * `predictions` (one per face, or per whole image, with the image's path), `images` (every
 * input's status: ok / no_face / error with the reason, its size and face count), `failed` and
 * the annotated pictures written.
 */
export function formatJson(r: PredictFilesResult, detection: Record<string, unknown> | null): string {
  return JSON.stringify(
    {
      checkpoint: r.checkpoint,
      class_names: r.classNames,
      detection,
      predictions: r.results.flatMap((x) =>
        x.faces.map((f) => ({
          image: x.image,
          face: f.face,
          box: f.box,
          keypoints: f.keypoints,
          face_score: f.faceScore,
          label: f.label,
          confidence: f.confidence,
          probabilities: f.probabilities,
          logits: f.logits,
        })),
      ),
      images: r.results.map((x) => ({
        image: x.image,
        status: x.status,
        ...(x.error ? { error: x.error } : {}),
        ...(x.width ? { width: x.width, height: x.height } : {}),
        faces: x.faces.length,
      })),
      failed: r.failed,
      annotated: r.annotated,
    },
    null,
    2,
  );
}
