/**
 * Where the BlazeFace weights come from: `models/blazeface.json` + `models/blazeface.bin` (a
 * TensorFlow.js graph model, MediaPipe's BlazeFace "back camera" face detector converted by
 * Vladimir Mandic) inside the npm package `@vladmandic/human` at a pinned version. The package is
 * fetched with the ordinary npm client (`npm pack`, no install) into a cache folder and only the two
 * model files are extracted; their SHA-256 are checked so the conversion and the reference fixture
 * always start from the same bytes. `--from DIR` (a folder holding blazeface.json/.bin, or an
 * unpacked package) skips npm.
 *
 * Used by scripts/blazeface/convert.ts and scripts/blazeface/reference.ts only (never at run time).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const HUMAN_PACKAGE = '@vladmandic/human';
export const HUMAN_VERSION = '3.3.6';
/** SHA-256 of the two files in @vladmandic/human@3.3.6 (models/). */
export const SHA256 = {
  'blazeface.json': 'cd7bbfc078270572beb39f9e5ae67aadbd50b5e67cff37e6d4f6b3ea39312e5f',
  'blazeface.bin': 'dc9a97fdc50bc43216554bdd69aa3e7b9361a519ee7bdd996a2f69a98a6f9b72',
} as const;

export interface GraphModelFiles {
  /** The parsed model.json (format 'graph-model'). */
  json: GraphModelJson;
  /** The weight shards, in weightsManifest order, by path. */
  shards: Map<string, Uint8Array>;
  /** Where the files were read from. */
  dir: string;
}

export interface GraphNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, { list?: { i?: string[]; s?: string[] }; s?: string; i?: string; f?: number; b?: boolean }>;
}

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  quantization?: unknown;
}

export interface GraphModelJson {
  format: string;
  modelTopology: { node: GraphNode[] };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The folder holding blazeface.json/.bin: `from` (or its models/), or the npm cache extraction. */
function modelDir(from?: string): string {
  if (from) {
    for (const d of [from, path.join(from, 'models'), path.join(from, 'package', 'models')]) {
      if (existsSync(path.join(d, 'blazeface.json'))) return d;
    }
    throw new Error(`--from ${from}: no blazeface.json there (nor in models/ or package/models/)`);
  }
  const cache = path.join(os.tmpdir(), `resemotenet-blazeface-${HUMAN_VERSION}`);
  const dir = path.join(cache, 'package', 'models');
  if (existsSync(path.join(dir, 'blazeface.json')) && existsSync(path.join(dir, 'blazeface.bin'))) return dir;
  mkdirSync(cache, { recursive: true });
  process.stderr.write(`fetching ${HUMAN_PACKAGE}@${HUMAN_VERSION} with npm pack into ${cache} ...\n`);
  const out = execFileSync('npm', ['pack', `${HUMAN_PACKAGE}@${HUMAN_VERSION}`, '--silent', '--pack-destination', cache], { encoding: 'utf8' }).trim().split('\n').pop()!;
  const tgz = path.join(cache, out.trim());
  execFileSync('tar', ['-xzf', tgz, '-C', cache, 'package/models/blazeface.json', 'package/models/blazeface.bin']);
  return dir;
}

/** Reads and checks the BlazeFace graph model files (see the file header). */
export function readBlazeFaceGraphModel(from?: string): GraphModelFiles {
  const dir = modelDir(from);
  const jsonBytes = readFileSync(path.join(dir, 'blazeface.json'));
  const bad: string[] = [];
  if (sha256(jsonBytes) !== SHA256['blazeface.json']) bad.push('blazeface.json');
  const json = JSON.parse(jsonBytes.toString('utf8')) as GraphModelJson;
  if (json.format !== 'graph-model') throw new Error(`${dir}/blazeface.json: format '${json.format}', expected 'graph-model'`);
  const shards = new Map<string, Uint8Array>();
  for (const group of json.weightsManifest) {
    for (const p of group.paths) {
      const b = new Uint8Array(readFileSync(path.join(dir, p)));
      if (p === 'blazeface.bin' && sha256(b) !== SHA256['blazeface.bin']) bad.push(p);
      shards.set(p, b);
    }
  }
  if (bad.length) {
    throw new Error(`${dir}: ${bad.join(', ')} differ from ${HUMAN_PACKAGE}@${HUMAN_VERSION} (SHA-256 mismatch); the conversion and fixtures are pinned to that version`);
  }
  return { json, shards, dir };
}

/**
 * The weights of a graph model by name, decoded from the shards as the tfjs manifest lays them out:
 * each group's paths concatenated, tensors back to back in manifest order, little-endian.
 */
export function decodeWeights(files: GraphModelFiles): Map<string, { shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }> {
  const out = new Map<string, { shape: number[]; dtype: 'float32' | 'int32'; data: Float32Array | Int32Array }>();
  for (const group of files.json.weightsManifest) {
    const parts = group.paths.map((p) => files.shards.get(p)!);
    const total = parts.reduce((s, b) => s + b.length, 0);
    const buf = new Uint8Array(total);
    let o = 0;
    for (const b of parts) {
      buf.set(b, o);
      o += b.length;
    }
    const view = new DataView(buf.buffer);
    let off = 0;
    for (const w of group.weights) {
      if (w.quantization) throw new Error(`weight ${w.name}: quantized weights are not supported by this converter`);
      const n = w.shape.reduce((a, b) => a * b, 1);
      const data = w.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = w.dtype === 'int32' ? view.getInt32(off + 4 * i, true) : view.getFloat32(off + 4 * i, true);
      off += 4 * n;
      out.set(w.name, { shape: w.shape, dtype: w.dtype, data });
    }
    if (off !== total) throw new Error(`weights manifest covers ${off} bytes but the shards hold ${total}`);
  }
  return out;
}
