/**
 * ImageFolder reader and image decoding: labels by folder NAME (the sorted-name trap), PNG pixels
 * equal the FER2013 CSV rows, PNG colour types / bit depths and JPEG to PIL-style grey, corrupt
 * files and unknown class folders (errors naming the path, or skip + count).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import jpeg from 'jpeg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, decodeImageToGray, emotionIdFromName, loadFer2013Csv, loadImageFolder, rgbToL, summarize } from '../../src/resemotenet/data/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DATA = path.resolve(repoRoot, '../shared/data');
const SAMPLE = path.join(DATA, 'fer2013-sample');
const CSV_GZ = path.join(DATA, 'fer2013/fer2013.csv.gz');
const HAVE_DATA = fs.existsSync(path.join(SAMPLE, 'index.csv')) && fs.existsSync(CSV_GZ);
const CI = process.env.CI === 'true';
if (!HAVE_DATA && !CI) console.warn(`[data_folder.test] ${SAMPLE} not found: shared-data tests skipped (they fail under CI=true)`);
const itData = HAVE_DATA || CI ? it : it.skip;

interface IndexRow {
  path: string;
  row: number;
  emotion: number;
  usage: string;
}
function readIndex(): IndexRow[] {
  const lines = fs.readFileSync(path.join(SAMPLE, 'index.csv'), 'utf8').trim().split('\n');
  expect(lines[0]).toBe('path,fer2013_row,emotion,Usage');
  return lines.slice(1).map((l) => {
    const [p, r, e, u] = l.split(',');
    return { path: p!, row: Number(r), emotion: Number(e), usage: u! };
  });
}

// --- a minimal PNG writer, to make every colour type / bit depth ---------------------------------
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}
/** samples: row-major, `channels` samples per pixel, each < 2^depth. */
function makePng(w: number, h: number, colorType: 0 | 2 | 3 | 4 | 6, depth: 1 | 2 | 4 | 8 | 16, samples: number[], extra: Array<[string, Buffer]> = []): Buffer {
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType];
  expect(samples.length).toBe(w * h * channels);
  const rowBytes = Math.ceil((w * channels * depth) / 8);
  const raw = Buffer.alloc(h * (rowBytes + 1));
  for (let y = 0; y < h; y++) {
    const o = y * (rowBytes + 1) + 1; // filter byte 0 (None)
    for (let k = 0; k < w * channels; k++) {
      const v = samples[y * w * channels + k]!;
      if (depth === 16) raw.writeUInt16BE(v, o + 2 * k);
      else if (depth === 8) raw[o + k] = v;
      else {
        const bit = k * depth;
        raw[o + (bit >> 3)]! |= v << (8 - depth - (bit & 7));
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), ...extra.map(([t, d]) => chunk(t, d)), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

let tmp = '';
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fer-folder-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('decodeImageToGray', () => {
  const dec = (b: Buffer) => Array.from(decodeImageToGray(b, 'mem.png').data);

  it('8-bit grey PNG is returned as is, with its size', () => {
    const img = decodeImageToGray(makePng(3, 2, 0, 8, [0, 17, 128, 200, 254, 255]), 'g8.png');
    expect([img.width, img.height]).toEqual([3, 2]);
    expect(Array.from(img.data)).toEqual([0, 17, 128, 200, 254, 255]);
  });
  it('1/2/4-bit grey scale to 0..255 as PIL (x255, x85, x17)', () => {
    expect(dec(makePng(4, 1, 0, 1, [0, 1, 1, 0]))).toEqual([0, 255, 255, 0]);
    expect(dec(makePng(4, 1, 0, 2, [0, 1, 2, 3]))).toEqual([0, 85, 170, 255]);
    expect(dec(makePng(3, 1, 0, 4, [0, 1, 15]))).toEqual([0, 17, 255]);
  });
  it('16-bit grey and RGB keep the high byte', () => {
    expect(dec(makePng(3, 1, 0, 16, [0x1234, 0xffff, 0x00ff]))).toEqual([0x12, 255, 0]);
    // (0xff00, 0x0000, 0x00ff) -> RGB (255, 0, 0) -> L 76
    expect(dec(makePng(1, 1, 2, 16, [0xff00, 0x0000, 0x00ff]))).toEqual([76]);
  });
  it("RGB/RGBA/palette/grey+alpha use PIL's luma (19595 R + 38470 G + 7471 B + 2^15) >> 16; alpha ignored", () => {
    // red: (255*19595 + 32768) >> 16 = 5029493 >> 16 = 76; green: 9842618 >> 16 = 150 (299/587/114 truncated would give 149);
    // blue: 1937873 >> 16 = 29; (10,20,30): 1222248 >> 16 = 18; grey (77,77,77) -> 77.
    const rgb = [255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 77, 77, 77];
    expect(dec(makePng(5, 1, 2, 8, rgb))).toEqual([76, 150, 29, 18, 77]);
    const rgba = [255, 0, 0, 0, 0, 255, 0, 10, 0, 0, 255, 128, 10, 20, 30, 255, 77, 77, 77, 1];
    expect(dec(makePng(5, 1, 6, 8, rgba))).toEqual([76, 150, 29, 18, 77]);
    const plte = Buffer.from([255, 0, 0, 0, 255, 0, 10, 20, 30]);
    expect(dec(makePng(4, 1, 3, 8, [0, 1, 2, 1], [['PLTE', plte]]))).toEqual([76, 150, 18, 150]);
    expect(dec(makePng(2, 1, 4, 8, [90, 0, 200, 255]))).toEqual([90, 200]);
    expect(rgbToL(0, 255, 0)).toBe(150);
  });
  it('a tRNS colour key does not blacken the keyed grey value (PIL ignores it for L)', () => {
    const trns = Buffer.from([0, 50]);
    expect(dec(makePng(3, 1, 0, 8, [50, 60, 50], [['tRNS', trns]]))).toEqual([50, 60, 50]);
  });
  it('JPEG (grey and colour) decodes to grey within JPEG error', () => {
    const w = 16, h = 16;
    const rgba = Buffer.alloc(w * h * 4);
    const want: number[] = [];
    for (let i = 0; i < w * h; i++) {
      const v = 40 + ((i % w) * 8 + Math.floor(i / w) * 3); // smooth ramp 40..205
      want.push(v);
      rgba.set([v, v, v, 255], i * 4);
    }
    const enc = jpeg.encode({ width: w, height: h, data: rgba }, 100).data;
    const got = decodeImageToGray(enc, 'ramp.jpg');
    expect([got.width, got.height]).toEqual([16, 16]);
    let maxDiff = 0;
    for (let i = 0; i < w * h; i++) maxDiff = Math.max(maxDiff, Math.abs(got.data[i]! - want[i]!));
    expect(maxDiff).toBeLessThanOrEqual(3);
    const red = Buffer.alloc(8 * 8 * 4);
    for (let i = 0; i < 64; i++) red.set([255, 0, 0, 255], i * 4);
    const r = decodeImageToGray(jpeg.encode({ width: 8, height: 8, data: red }, 100).data, 'red.jpg');
    for (const v of r.data) expect(Math.abs(v - 76)).toBeLessThanOrEqual(2);
  });
  it('corrupt bytes -> DataError naming the file', () => {
    const good = makePng(4, 4, 0, 8, Array.from({ length: 16 }, (_, i) => i * 16));
    expect(() => decodeImageToGray(good.subarray(0, 30), '/x/trunc.png')).toThrow(/^\/x\/trunc\.png: cannot decode PNG: missing IHDR/);
    const badCrc = Buffer.from(good);
    badCrc[good.length - 20]! ^= 0xff; // inside IDAT
    expect(() => decodeImageToGray(badCrc, '/x/crc.png')).toThrow(/^\/x\/crc\.png: cannot decode PNG \(bit depth 8, colour type 0\): /);
    expect(() => decodeImageToGray(good.subarray(0, good.length - 25), '/x/cut.png')).toThrow(/^\/x\/cut\.png: cannot decode PNG/);
    expect(() => decodeImageToGray(Buffer.from('hello world'), '/x/text.png')).toThrow('/x/text.png: not a PNG or JPEG image (11 bytes, first bytes: 68 65 6c 6c)');
    expect(() => decodeImageToGray(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]), '/x/cut.jpg')).toThrow(/^\/x\/cut\.jpg: cannot decode JPEG: /);
    try {
      decodeImageToGray(Buffer.alloc(0), '/x/empty.png');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DataError);
      expect((e as DataError).file).toBe('/x/empty.png');
    }
  });
});

describe('class folder names', () => {
  it('maps names and aliases to FER2013 ids, case-insensitively, never by sorted position', () => {
    const names = ['angry', 'disgust', 'fear', 'happy', 'neutral', 'sad', 'surprise']; // sorted order
    expect(names.map(emotionIdFromName)).toEqual([0, 1, 2, 3, 6, 4, 5]);
    expect(['Anger', 'DISGUSTED', 'Fearful', 'Happiness', 'Sadness', 'surprised', ' Neutral ', '4'].map(emotionIdFromName)).toEqual([0, 1, 2, 3, 4, 5, 6, 4]);
    expect(['contempt', '7', '', 'happy2'].map(emotionIdFromName)).toEqual([-1, -1, -1, -1]);
  });
});

describe('loadImageFolder on temporary folders', () => {
  const px = (v: number) => makePng(2, 2, 0, 8, [v, v, v, v]);
  function tree(root: string, files: Record<string, Buffer | string>): string {
    for (const [rel, data] of Object.entries(files)) {
      const p = path.join(root, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, data);
    }
    return root;
  }

  it('aliases, nested files, ignored files, order by id then path', async () => {
    const root = tree(path.join(tmp, 'alias'), {
      'train/Surprised/b.png': px(5),
      'train/Surprised/a.PNG': px(6),
      'train/SADNESS/x.png': px(4),
      'train/Happiness/sub/y.png': px(3),
      'train/Anger/z.jpeg': jpeg.encode({ width: 2, height: 2, data: Buffer.alloc(16, 255) }, 100).data,
      'train/Anger/notes.txt': 'not an image',
      'train/README.md': 'x',
    });
    const d = await loadImageFolder(root, { split: 'train' });
    expect(d.paths).toEqual(['train/Anger/z.jpeg', 'train/Happiness/sub/y.png', 'train/SADNESS/x.png', 'train/Surprised/a.PNG', 'train/Surprised/b.png']);
    expect(Array.from(d.labels)).toEqual([0, 3, 4, 5, 5]);
    expect(d.image(3).data[0]).toBe(6);
    expect(d.image(0).data[0]).toBeGreaterThanOrEqual(253);
    expect(d.ignoredFiles).toBe(2);
    expect(d.classes.map((c) => [c.folder, c.id, c.count])).toEqual([['Anger', 0, 1], ['Happiness', 3, 1], ['SADNESS', 4, 1], ['Surprised', 5, 2]]);
  });

  it('unknown class folder -> DataError naming it, or skip and list it', async () => {
    const root = tree(path.join(tmp, 'unknown'), { 'happy/a.png': px(1), 'contempt/b.png': px(2) });
    const err = (await loadImageFolder(root).catch((e: unknown) => e)) as DataError;
    expect(err).toBeInstanceOf(DataError);
    expect(err.file).toBe(path.join(root, 'contempt'));
    expect(err.message).toMatch(/unknown class folder 'contempt': expected one of angry, disgust, fear, happy, sad, surprise, neutral/);
    const d = await loadImageFolder(root, { onUnknownClass: 'skip' });
    expect(d.skippedClasses).toEqual(['contempt']);
    expect(Array.from(d.labels)).toEqual([3]);
  });

  it('two folders for one class, no class folders, missing folder', async () => {
    const dup = tree(path.join(tmp, 'dup'), { 'happy/a.png': px(1), 'Happiness/b.png': px(2) });
    await expect(loadImageFolder(dup)).rejects.toThrow(/class folders 'Happiness' and 'happy' both mean happy \(id 3\)/);
    const none = tree(path.join(tmp, 'none'), { 'a.png': px(1) });
    await expect(loadImageFolder(none)).rejects.toThrow(`${none}: no class folders found`);
    await expect(loadImageFolder(tmp, { split: 'nope' })).rejects.toThrow(`${path.join(tmp, 'nope')}: cannot read image folder`);
  });

  it('corrupt image -> DataError naming the file, or skip and count', async () => {
    const good = px(9);
    const root = tree(path.join(tmp, 'corrupt'), {
      'fear/good.png': good,
      'fear/trunc.png': good.subarray(0, good.length - 20),
      'fear/text.jpg': 'plain text',
      'sad/ok.png': px(4),
    });
    const err = (await loadImageFolder(root).catch((e: unknown) => e)) as DataError;
    expect(err).toBeInstanceOf(DataError);
    expect([path.join(root, 'fear/trunc.png'), path.join(root, 'fear/text.jpg')]).toContain(err.file);
    expect(err.message.startsWith(`${err.file}: `)).toBe(true);
    const d = await loadImageFolder(root, { onBadImage: 'skip' });
    expect(d.paths).toEqual(['fear/good.png', 'sad/ok.png']);
    expect(d.skippedCount).toBe(2);
    expect(d.skipped.map((s) => path.basename(s.file))).toEqual(['text.jpg', 'trunc.png']);
    expect(d.skipped[0]!.reason).toMatch(/not a PNG or JPEG image/);
    expect(d.skipped[1]!.reason).toMatch(/cannot decode PNG/);
  });
});

describe('the shared fer2013-sample ImageFolder', () => {
  itData('shared data is present', () => {
    expect(HAVE_DATA, `missing ${SAMPLE}: the shared data (../shared/data from the repo root) is required under CI`).toBe(true);
  });

  itData('labels match index.csv (the sorted-folder-name trap), 350 train + 140 test', async () => {
    const index = readIndex();
    const byPath = new Map(index.map((r) => [r.path, r]));
    const train = await loadImageFolder(SAMPLE, { split: 'train' });
    const test = await loadImageFolder(SAMPLE, { split: 'test' });
    expect(train.length).toBe(350);
    expect(test.length).toBe(140);
    for (const ds of [train, test]) {
      for (let i = 0; i < ds.length; i++) {
        const r = byPath.get(ds.paths[i]!);
        expect(r, ds.paths[i]).toBeDefined();
        expect(ds.labels[i], ds.paths[i]).toBe(r!.emotion);
      }
    }
    const neutral = train.paths.findIndex((p) => p.startsWith('train/neutral/'));
    expect(train.labels[neutral]).toBe(6); // sorted folder names would say 4
    expect(summarize(train).rows[0]!.counts).toEqual([50, 50, 50, 50, 50, 50, 50]);
    expect(summarize(test).rows[0]!.counts).toEqual([20, 20, 20, 20, 20, 20, 20]);
    expect(train.image(0).width).toBe(48);
    expect(train.skippedCount + train.ignoredFiles).toBe(0);
  });

  itData('PNG pixels equal their fer2013.csv.gz rows (only those rows read)', async () => {
    const index = readIndex();
    const all = await loadImageFolder(SAMPLE, { split: 'train' });
    const test = await loadImageFolder(SAMPLE, { split: 'test' });
    const csv = await loadFer2013Csv(CSV_GZ, { rows: index.map((r) => r.row) });
    expect(csv.length).toBe(490);
    expect(csv.rowsScanned).toBe(Math.max(...index.map((r) => r.row)) + 1);
    const pos = new Map(Array.from(csv.rows, (r, i) => [r, i]));
    for (const ds of [all, test]) {
      for (let i = 0; i < ds.length; i++) {
        const r = index.find((x) => x.path === ds.paths[i])!;
        const k = pos.get(r.row)!;
        expect(csv.labels[k]).toBe(r.emotion);
        expect(['Training', 'PublicTest', 'PrivateTest'][csv.usage[k]!]).toBe(r.usage);
        expect(Buffer.from(ds.image(i).data).equals(Buffer.from(csv.image(k).data)), ds.paths[i]).toBe(true);
      }
    }
  });
});
