/**
 * `resemotenet predict` on photographs (tests/fixtures/photos, see its README): a folder given as
 * input (recursive), a file that is not an image and a missing path reported and skipped with exit
 * status 1 while the others go on, `no face found` for the coffee cup, one row per face with the
 * full path, JSON and CSV, `--no-detect`, and `--annotate` writing PNGs with the boxes drawn.
 * The classifier is a tiny untrained ResEmoteNet (its labels are meaningless; what is checked is
 * where the faces are, that every face gets a probability row summing to 1, and the files).
 * The face boxes are compared with the tfjs reference fixture (tests/fixtures/blazeface_reference.json).
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import pngjs from 'pngjs';
import { main } from '../../src/resemotenet/cli.js';
import { buildModel, modelConfig, saveCheckpoint } from '../../src/resemotenet/checkpoint.js';
import { EMOTIONS } from '../../src/resemotenet/data/labels.js';
import { encodePng } from '../../src/resemotenet/annotate.js';
import { REPO_ROOT, tmpDir } from './helpers.js';

const PHOTOS = path.join(REPO_ROOT, 'tests', 'fixtures', 'photos');
const REF = JSON.parse(readFileSync(path.join(REPO_ROOT, 'tests', 'fixtures', 'blazeface_reference.json'), 'utf8')) as {
  photos: Record<string, { faces: { score: number; box: number[] }[] }>;
};
/** The reference faces at predict's default min score (0.65). */
const refFaces = (photo: string) => REF.photos[photo]!.faces.filter((f) => f.score >= 0.65);

function collector() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s), progress: false, handleSignals: false } };
}

let dir: string;
let ck: string;
let inputs: string;
/** A flat grey picture: no face even at the reference's low threshold. */
let blank: string;

beforeAll(async () => {
  dir = tmpDir('predict-photos');
  const cfg = modelConfig({ width: 1 / 32, image_size: 32 });
  ck = path.join(dir, 'ck');
  await saveCheckpoint({ prefix: ck, model: buildModel(cfg), config: cfg, kind: 'test' });
  // A folder with photos in a subfolder, a text file named .jpg (not an image) and a README that
  // the folder walk must not pick up.
  inputs = path.join(dir, 'in');
  mkdirSync(path.join(inputs, 'sub'), { recursive: true });
  copyFileSync(path.join(PHOTOS, 'montage.jpg'), path.join(inputs, 'montage.jpg'));
  copyFileSync(path.join(PHOTOS, 'coffee.jpg'), path.join(inputs, 'sub', 'coffee.jpg'));
  writeFileSync(path.join(inputs, 'sub', 'broken.jpg'), 'this is not a JPEG');
  writeFileSync(path.join(inputs, 'notes.txt'), 'not an image, not picked up from a folder');
  blank = path.join(dir, 'blank.png');
  writeFileSync(blank, encodePng({ width: 64, height: 48, data: new Uint8Array(64 * 48 * 3).fill(128) }));
});

describe('predict on photos (cpu)', () => {
  it('a folder (recursive), a missing path: one row per face with full paths, no face for the cup, the bad ones reported, exit 1', async () => {
    const c = collector();
    const missing = path.join(dir, 'nope.png');
    const code = await main(['predict', '-c', `${ck}.json`, inputs, missing, '--device', 'cpu', '--json'], c.io);
    expect(code, c.err.join('\n')).toBe(1);
    const r = JSON.parse(c.out.join('\n'));
    const montage = path.join(inputs, 'montage.jpg');
    const coffee = path.join(inputs, 'sub', 'coffee.jpg');
    const broken = path.join(inputs, 'sub', 'broken.jpg');
    expect(r.images.map((x: { image: string; status: string }) => [x.image, x.status])).toEqual([
      [montage, 'ok'],
      [broken, 'error'],
      [coffee, 'no_face'],
      [missing, 'error'],
    ]);
    expect(r.images[1].error).toMatch(/not a PNG or JPEG image \(18 bytes/);
    expect(r.images[3].error).toMatch(/no such file or folder/);
    expect(r.failed).toBe(2);
    expect(c.err.join('\n')).toMatch(/broken\.jpg: not a PNG or JPEG image[\s\S]*\(skipped\)[\s\S]*nope\.png: no such file or folder \(skipped\)[\s\S]*2 of 4 input\(s\) could not be read/);
    // The montage's faces, at the reference's places, best first.
    const ref = refFaces('montage.jpg');
    expect(ref.length).toBe(2);
    expect(r.predictions).toHaveLength(ref.length);
    r.predictions.forEach((p: { image: string; face: number; box: number[]; face_score: number; probabilities: Record<string, number> }, i: number) => {
      expect(p.image).toBe(montage);
      expect(p.face).toBe(i);
      // The reference blends more candidates (it keeps scores >= 0.3): same face, box centre inside its box.
      const [x1, y1, x2, y2] = ref[i]!.box as [number, number, number, number];
      const [cx, cy] = [(p.box[0]! + p.box[2]!) / 2, (p.box[1]! + p.box[3]!) / 2];
      expect(cx > x1 && cx < x2 && cy > y1 && cy < y2).toBe(true);
      expect(Math.abs(p.face_score - ref[i]!.score)).toBeLessThanOrEqual(1e-3);
      expect(Object.keys(p.probabilities)).toEqual([...EMOTIONS]);
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    });
    expect(r.detection).toMatchObject({ min_score: 0.65, margin: 0.2 });
  });

  it('CSV: a header, one row per face, a no_face row; --min-face-score 0.3 (the reference\'s) finds the third face of the montage at the reference\'s place', async () => {
    const c = collector();
    const montage = path.join(PHOTOS, 'montage.jpg');
    expect(await main(['predict', '-c', `${ck}.json`, montage, blank, '--device', 'cpu', '--csv', '--min-face-score', '0.3'], c.io)).toBe(0);
    const lines = c.out.join('\n').split('\n');
    expect(lines[0]).toBe(`image,face,x1,y1,x2,y2,face_score,label,confidence,${EMOTIONS.join(',')},status,error`);
    const rows = lines.slice(1).map((l) => l.split(','));
    const ref = REF.photos['montage.jpg']!.faces;
    expect(ref.length).toBe(3);
    expect(rows.length).toBe(ref.length + 1);
    ref.forEach((f, i) => {
      const row = rows[i]!;
      expect(row[0]).toBe(montage);
      expect(row[1]).toBe(String(i));
      row.slice(2, 6).forEach((v, k) => expect(Math.abs(Number(v) - f.box[k]!)).toBeLessThanOrEqual(1));
      expect(row.at(-2)).toBe('ok');
      const probs = row.slice(9, 9 + EMOTIONS.length).map(Number);
      expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    });
    expect(rows.at(-1)).toEqual([blank, '', '', '', '', '', '', '', '', ...EMOTIONS.map(() => ''), 'no_face', '']);
  });

  it('the table says no face found; --no-detect labels the whole image as before', async () => {
    const coffee = path.join(PHOTOS, 'coffee.jpg');
    const c = collector();
    expect(await main(['predict', '-c', `${ck}.json`, coffee, '--device', 'cpu'], c.io)).toBe(0);
    expect(c.out.join('\n')).toMatch(new RegExp(`${coffee.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s+-\\s+no face found`));
    const w = collector();
    expect(await main(['predict', '-c', `${ck}.json`, coffee, '--device', 'cpu', '--json', '--no-detect'], w.io)).toBe(0);
    const r = JSON.parse(w.out.join('\n'));
    expect(r.detection).toBeNull();
    expect(r.predictions).toHaveLength(1);
    expect(r.predictions[0]).toMatchObject({ image: coffee, face: null, box: null, face_score: null });
  });

  it('--annotate writes a PNG per image with the boxes drawn in the box colour', async () => {
    const out = path.join(dir, 'annotated');
    const c = collector();
    const astronaut = path.join(PHOTOS, 'astronaut.jpg');
    const coffee = path.join(PHOTOS, 'coffee.jpg');
    expect(await main(['predict', '-c', `${ck}.json`, astronaut, coffee, '--device', 'cpu', '--annotate', out], c.io)).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['astronaut.png', 'coffee.png']);
    const png = pngjs.PNG.sync.read(readFileSync(path.join(out, 'astronaut.png')));
    expect([png.width, png.height]).toEqual([512, 512]);
    // The first face's box is drawn in the first colour (255, 64, 64), 2 pixels wide, just outside the box.
    const [x1, y1, x2, y2] = refFaces('astronaut.jpg')[0]!.box;
    const at = (x: number, y: number) => Array.from(png.data.subarray(4 * (y * png.width + x), 4 * (y * png.width + x) + 3));
    const midY = Math.round((y1! + y2!) / 2);
    expect(at(Math.floor(x1!) - 1, midY)).toEqual([255, 64, 64]);
    expect(at(Math.ceil(x2!), midY)).toEqual([255, 64, 64]);
    expect(at(Math.round((x1! + x2!) / 2), Math.ceil(y2!))).toEqual([255, 64, 64]);
    // Inside the face the photo is untouched.
    const src = pngjs.PNG.sync.read(readFileSync(path.join(out, 'coffee.png')));
    expect([src.width, src.height]).toEqual([600, 400]);
  });

  it('refuses --json with --csv, and a bad --min-face-score, before any work (status 2)', async () => {
    const c = collector();
    expect(await main(['predict', '-c', `${ck}.json`, PHOTOS, '--json', '--csv'], c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(/--json and --csv cannot be used together/);
    const d = collector();
    expect(await main(['predict', '-c', `${ck}.json`, PHOTOS, '--min-face-score', '2'], d.io)).toBe(2);
    expect(d.err.join('\n')).toMatch(/--min-face-score must be in \[0, 1\], got 2/);
  });
});
