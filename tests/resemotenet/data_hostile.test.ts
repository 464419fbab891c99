/**
 * Hostile and broken data files (issue 14): each ends in a clean DataError naming the file (and
 * the line, where one applies), in bounded time and memory. Loads that used to crash the process,
 * hang or take gigabytes run in a child under a heap limit and a timeout (tests/helpers/child.ts).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pngjs from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, FER_PIXELS, loadFer2013Csv, loadImageFolder } from '../../src/resemotenet/data/index.js';
import { readImageFile } from '../../src/resemotenet/data/read_file.js';
import { probeLoad } from '../helpers/child.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'data-hostile-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, data: string | Buffer): string => {
  const p = path.join(tmp, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, data);
  return p;
};
const pixels = (seed: number) => Array.from({ length: FER_PIXELS }, (_, p) => (seed + 3 * p) % 256).join(' ');
const csv = (rows: number) => ['emotion,pixels,Usage', ...Array.from({ length: rows }, (_, r) => `${r % 7},${pixels(r)},Training`)].join('\n') + '\n';

describe('FER2013 CSV', () => {
  it('a gzip CRC error is a gzip error naming the file, not "line 1"', async () => {
    const gz = zlib.gzipSync(csv(3));
    gz[gz.length - 8]! ^= 0xff; // the CRC-32 of the trailer
    const f = write('crc.csv.gz', gz);
    const err = (await loadFer2013Csv(f).catch((e: unknown) => e)) as DataError;
    expect(err).toBeInstanceOf(DataError);
    expect(err.file).toBe(f);
    expect(err.line).toBeUndefined();
    expect(err.message).toMatch(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: corrupt or truncated gzip stream: incorrect data check \\(after line \\d+, \\d+ data rows`));
  });

  it('a gzipped CSV with a 200 MB line ends in an error naming line 2 (child, 128 MB heap)', async () => {
    const f = path.join(tmp, 'longline.csv.gz');
    const mb = Buffer.alloc(1 << 20, '1 ');
    async function* body() {
      yield Buffer.from('emotion,pixels,Usage\n3,');
      for (let i = 0; i < 200; i++) yield mb;
      yield Buffer.from(',Training\n');
    }
    await pipeline(Readable.from(body()), zlib.createGzip({ level: 1 }), fs.createWriteStream(f));
    expect(fs.statSync(f).size).toBeLessThan(2 << 20);
    const r = probeLoad('csv', f, { heapMb: 128, timeoutMs: 60_000 });
    expect(r, JSON.stringify(r).slice(0, 600)).toMatchObject({ outcome: 'error', name: 'DataError' });
    expect(r.message).toBe(`${f}:2: line longer than 1048576 bytes (a FER2013 row is about 8,400; maxLineBytes raises the limit): not a FER2013 CSV, or corrupt`);
    expect(r.ms).toBeLessThan(10_000);
  });

  it('maxLineBytes: a row just under the limit loads, just over names its line', async () => {
    const text = csv(2);
    const longest = Math.max(...text.split('\n').map((l) => Buffer.byteLength(l)));
    const f = write('rows.csv', text);
    expect((await loadFer2013Csv(f, { maxLineBytes: longest })).length).toBe(2);
    const err = (await loadFer2013Csv(f, { maxLineBytes: longest - 1 }).catch((e: unknown) => e)) as DataError;
    expect(err.line).toBe(text.split('\n').findIndex((l) => Buffer.byteLength(l) === longest) + 1);
    expect(err.reason).toMatch(new RegExp(`^line longer than ${longest - 1} bytes`));
  });

  it('LF, CRLF and lone-CR line breaks all split rows (as node:readline did)', async () => {
    const rows = ['emotion,pixels,Usage', `1,${pixels(1)},Training`, `2,${pixels(2)},PublicTest`, `5,${pixels(5)},PrivateTest`];
    const f = write('cr.csv', `${rows[0]}\r${rows[1]}\r\n${rows[2]}\n${rows[3]}`);
    const d = await loadFer2013Csv(f);
    expect(Array.from(d.labels)).toEqual([1, 2, 5]);
    expect(Array.from(d.usage)).toEqual([0, 1, 2]);
    expect(d.image(2).data[1]).toBe(8);
  });
});

const tinyPng = (v: number) => {
  const png = new pngjs.PNG({ width: 2, height: 2 });
  png.data.fill(v);
  return pngjs.PNG.sync.write(png);
};

describe('images', () => {
  it('a PNG header of 30000x30000 pixels is refused before decoding (child, 256 MB heap)', () => {
    const chunk = (type: string, data: Buffer) => {
      const len = Buffer.alloc(4);
      len.writeUInt32BE(data.length);
      const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(td) >>> 0);
      return Buffer.concat([len, td, crc]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(30000, 0);
    ihdr.writeUInt32BE(30000, 4);
    ihdr[8] = 8; // depth
    ihdr[9] = 0; // grey
    const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const f = write('huge.png', Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(Buffer.alloc(30001 * 64))), chunk('IEND', Buffer.alloc(0))]));
    const r = probeLoad('image', f, { heapMb: 256, timeoutMs: 60_000 });
    expect(r, JSON.stringify(r).slice(0, 600)).toMatchObject({ outcome: 'error', name: 'DataError' });
    expect(r.message).toBe(`${f}: PNG of 30000x30000 pixels (900.0 megapixels) exceeds the 100-megapixel limit; not decoded`);
    expect(r.ms).toBeLessThan(2000);
  });

  it('only regular files are read: /dev/zero, a FIFO and a directory are refused at once', async () => {
    const zero = path.join(tmp, 'zero.png');
    fs.symlinkSync('/dev/zero', zero);
    const r = probeLoad('image', zero, { timeoutMs: 30_000 });
    expect(r, JSON.stringify(r).slice(0, 600)).toMatchObject({ outcome: 'error', message: `${zero}: cannot read image: a character device, not a regular file` });
    const fifo = path.join(tmp, 'fifo.png');
    execFileSync('mkfifo', [fifo]);
    const r2 = probeLoad('image', fifo, { timeoutMs: 30_000 });
    expect(r2, JSON.stringify(r2).slice(0, 600)).toMatchObject({ outcome: 'error', message: `${fifo}: cannot read image: a FIFO (named pipe), not a regular file` });
    await expect(readImageFile(tmp)).rejects.toThrow(`${tmp}: cannot read image: a directory, not a regular file`);
    await expect(readImageFile(path.join(tmp, 'missing.png'))).rejects.toThrow(/missing\.png: cannot read image: ENOENT/);
    const ok = write('ok.png', tinyPng(9));
    expect((await readImageFile(ok)).equals(fs.readFileSync(ok))).toBe(true);
    await expect(readImageFile(ok, 10)).rejects.toThrow(`${ok}: cannot read image: ${fs.statSync(ok).size} bytes, more than the 10-byte limit`);
  });
});

describe('image folders with hostile links', () => {
  const root = path.join(tmp, 'folders');
  const outside = path.join(tmp, 'outside');
  const train = path.join(root, 'train');
  fs.mkdirSync(path.join(train, 'happy'), { recursive: true });
  fs.mkdirSync(path.join(train, 'sad', 'deeper'), { recursive: true });
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(train, 'happy', 'a.png'), tinyPng(10));
  fs.writeFileSync(path.join(train, 'sad', 'deeper', 'b.png'), tinyPng(20));
  fs.writeFileSync(path.join(outside, 'c.png'), tinyPng(30));
  fs.symlinkSync('.', path.join(train, 'happy', 'loop')); // a loop onto itself
  fs.symlinkSync('..', path.join(train, 'happy', 'up')); // the split folder: would relabel sad as happy
  fs.symlinkSync('../../happy', path.join(train, 'sad', 'deeper', 'cycle')); // a second loop, across classes
  fs.symlinkSync('../../sad', path.join(train, 'sad', 'deeper', 'back')); // back up to its class folder
  fs.symlinkSync(outside, path.join(train, 'happy', 'ext')); // leads outside the root
  fs.symlinkSync('/etc', path.join(train, 'sad', 'etc'));
  fs.symlinkSync('/dev/zero', path.join(train, 'sad', 'zero.png'));
  fs.symlinkSync(path.join(tmp, 'nowhere'), path.join(train, 'sad', 'broken.png'));
  fs.symlinkSync('deeper/b.png', path.join(train, 'sad', 'b_link.png')); // a file link inside: fine

  it('loops, links to .. and outside the root are skipped and reported; only regular files read (child)', () => {
    const r = probeLoad('folder', root, { args: { split: 'train' }, timeoutMs: 60_000 });
    expect(r, JSON.stringify(r).slice(0, 800)).toMatchObject({ outcome: 'ok' });
    const s = r.summary as { paths: string[]; labels: number[]; skippedLinks: { file: string; reason: string }[] };
    expect(s.paths).toEqual(['train/happy/a.png', 'train/sad/b_link.png', 'train/sad/deeper/b.png']);
    expect(s.labels).toEqual([3, 4, 4]);
    const why = Object.fromEntries(s.skippedLinks.map((x) => [path.relative(root, x.file), x.reason]));
    expect(why).toEqual({
      'train/happy/ext': `link 'train/happy/ext' leads outside the data root (to ${fs.realpathSync(outside)}); skipped (pass followLinksOutsideRoot to follow it)`,
      'train/happy/loop': "'train/happy/loop' is the folder 'train/happy' again (a link loop, or a link into a folder already walked); skipped",
      'train/happy/up': "'train/happy/up' is the folder 'train' again (a link loop, or a link into a folder already walked); skipped",
      'train/sad/broken.png': 'broken link (ENOENT); skipped',
      'train/sad/deeper/back': "'train/sad/deeper/back' is the folder 'train/sad' again (a link loop, or a link into a folder already walked); skipped",
      'train/sad/deeper/cycle': "'train/sad/deeper/cycle' is the folder 'train/happy' again (a link loop, or a link into a folder already walked); skipped",
      'train/sad/etc': "link 'train/sad/etc' leads outside the data root (to /etc); skipped (pass followLinksOutsideRoot to follow it)",
      'train/sad/zero.png': "link 'train/sad/zero.png' leads outside the data root (to /dev/zero); skipped (pass followLinksOutsideRoot to follow it)",
    });
  });

  it('followLinksOutsideRoot follows a link out of the root (once)', async () => {
    const d = await loadImageFolder(root, { split: 'train', followLinksOutsideRoot: true });
    expect(d.paths).toContain('train/happy/ext/c.png');
    expect(d.paths.filter((p) => p.endsWith('c.png'))).toHaveLength(1);
    expect(d.image(d.paths.indexOf('train/happy/ext/c.png')).data[0]).toBe(30);
    // /etc is followed too now, but holds no images of the accepted extensions
    expect(d.skippedLinks.some((x) => x.file.endsWith('etc'))).toBe(false);
    // followed, /dev/zero is a device: never read
    expect(d.skippedLinks.find((x) => x.file.endsWith('zero.png'))?.reason).toBe('a character device; only regular files are read');
  });
});

it('class folders that are links out of the root are skipped, and the error says so', async () => {
  const root = path.join(tmp, 'linked-root');
  const elsewhere = path.join(tmp, 'elsewhere', 'happy');
  fs.mkdirSync(elsewhere, { recursive: true });
  fs.writeFileSync(path.join(elsewhere, 'x.png'), tinyPng(5));
  fs.mkdirSync(root, { recursive: true });
  fs.symlinkSync(elsewhere, path.join(root, 'happy'));
  await expect(loadImageFolder(root)).rejects.toThrow(
    `${root}: no class folders found (expected sub-folders named angry, disgust, fear, happy, sad, surprise, neutral); skipped: link 'happy' leads outside the data root (to ${fs.realpathSync(elsewhere)}); skipped (pass followLinksOutsideRoot to follow it)`,
  );
  const d = await loadImageFolder(root, { followLinksOutsideRoot: true });
  expect(d.paths).toEqual(['happy/x.png']);
});
