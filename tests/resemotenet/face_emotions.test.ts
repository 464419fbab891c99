/**
 * The file-free pieces that the browser entry runs (src/resemotenet/sidecar.ts and
 * face_emotions.ts) against the Node code they mirror: a checkpoint loaded from bytes gives the
 * same model as `loadCheckpoint` from files (F32 and the shipped F16 layout), and `faceEmotions`
 * on an RGBA image (what a canvas gives) finds the same faces with the same probabilities as
 * `predictPhoto` on the decoded RGB file, bit for bit on the cpu. Also the errors for a sidecar
 * that is not one, and for a model file from another save.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { manual_seed, randn } from '../../src/index.js';
import { buildModel, loadCheckpoint, modelConfig, saveCheckpoint } from '../../src/resemotenet/checkpoint.js';
import { classifierFromCheckpoint, predictPhoto } from '../../src/resemotenet/predict.js';
import { loadCheckpointBytes, parseSidecar } from '../../src/resemotenet/sidecar.js';
import { faceEmotions, toGray } from '../../src/resemotenet/face_emotions.js';
import { FaceDetector } from '../../src/facedetect/detect.js';
import { decodeImage } from '../../src/facedetect/image.js';
import { floatToHalf } from '../../src/nn/serialization/convert.js';
import { REPO_ROOT, tmpDir } from './helpers.js';

const PHOTOS = path.join(REPO_ROOT, 'tests', 'fixtures', 'photos');
let dir: string;
let ck: string;
let detector: FaceDetector;

beforeAll(async () => {
  dir = tmpDir('face-emotions');
  manual_seed(7);
  const cfg = modelConfig({ width: 1 / 32, image_size: 32 });
  ck = path.join(dir, 'ck');
  await saveCheckpoint({ prefix: ck, model: buildModel(cfg), config: cfg, kind: 'test' });
  detector = await FaceDetector.create({ device: 'cpu' });
});

/** The sidecar text and the bytes of the model file it names. */
function files(prefix: string): { text: string; bytes: Uint8Array } {
  const text = readFileSync(`${prefix}.json`, 'utf8');
  return { text, bytes: new Uint8Array(readFileSync(path.join(path.dirname(prefix), JSON.parse(text).model_file as string))) };
}

/** The RGBA pixels a canvas would give for an RGB image (alpha 255). */
function rgba(img: { width: number; height: number; data: Uint8Array }): { width: number; height: number; data: Uint8ClampedArray } {
  const out = new Uint8ClampedArray(img.width * img.height * 4);
  for (let i = 0; i < img.width * img.height; i++) {
    out.set(img.data.subarray(3 * i, 3 * i + 3), 4 * i);
    out[4 * i + 3] = 255;
  }
  return { width: img.width, height: img.height, data: out };
}

describe('checkpoints from bytes (sidecar.ts)', () => {
  it('give the model loadCheckpoint gives: same outputs, class names and eval mode', async () => {
    const { text, bytes } = files(ck);
    const fromBytes = await loadCheckpointBytes(text, bytes, { name: 'ck.json' });
    const fromFile = await loadCheckpoint(`${ck}.json`);
    fromFile.model.eval();
    expect(fromBytes.model.training).toBe(false);
    expect(fromBytes.model.class_names).toEqual(fromFile.model.class_names);
    expect(fromBytes.model.channels).toEqual(fromFile.model.channels);
    manual_seed(3);
    const x = randn([2, 3, 32, 32]);
    expect(Array.from(await fromBytes.model.call(x).data())).toEqual(Array.from(await fromFile.model.call(x).data()));
  });

  it("build the config's layers: a 'floor' width rule (PyTorch's c // k) loads as loadCheckpoint loads it", async () => {
    const cfg = modelConfig({ width: 1 / 8, width_rule: 'floor', image_size: 32 });
    const prefix = path.join(dir, 'floor');
    await saveCheckpoint({ prefix, model: buildModel(cfg), config: cfg, kind: 'test' });
    const { text, bytes } = files(prefix);
    const fromBytes = await loadCheckpointBytes(text, bytes, { name: 'floor.json' });
    const fromFile = await loadCheckpoint(`${prefix}.json`);
    expect(fromBytes.model.channels.conv1).toBe(8); // 64 // 8; the default rule would give 16
    expect(fromBytes.model.channels).toEqual(fromFile.model.channels);
  });

  it('widen F16 storage (the shipped weights layout) to the rounded float32 values', async () => {
    const { text, bytes } = files(ck);
    // Rewrite the model file with F16 floats, as scripts/export_weights.ts does.
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const chunks: Uint8Array[] = [];
    let off = 0;
    const out: Record<string, unknown> = { __metadata__: header.__metadata__ };
    for (const [k, v] of Object.entries(header)) {
      if (k === '__metadata__') continue;
      const raw = bytes.slice(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1]);
      const data = v.dtype === 'F32' ? new Uint8Array(Uint16Array.from(new Float32Array(raw.buffer), floatToHalf).buffer) : raw;
      out[k] = { dtype: v.dtype === 'F32' ? 'F16' : v.dtype, shape: v.shape, data_offsets: [off, off + data.length] };
      chunks.push(data);
      off += data.length;
    }
    let json = JSON.stringify(out);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const hb = new TextEncoder().encode(json);
    const f16 = new Uint8Array(8 + hb.length + off);
    new DataView(f16.buffer).setBigUint64(0, BigInt(hb.length), true);
    f16.set(hb, 8);
    let p = 8 + hb.length;
    for (const c of chunks) (f16.set(c, p), (p += c.length));
    const half = await loadCheckpointBytes(text, f16, { name: 'ck.json' });
    const full = await loadCheckpointBytes(text, bytes, { name: 'ck.json' });
    const w16 = await half.model.conv1.weight.data();
    const w32 = await full.model.conv1.weight.data();
    let maxRel = 0;
    for (let i = 0; i < w32.length; i++) maxRel = Math.max(maxRel, Math.abs(w16[i]! - w32[i]!) / Math.max(Math.abs(w32[i]!), 2 ** -14));
    expect(maxRel).toBeGreaterThan(0); // really rounded
    expect(maxRel).toBeLessThanOrEqual(2 ** -11); // half of F16's 10-bit mantissa step
  });

  it('refuse a sidecar that is not one, and a model file from another save', async () => {
    expect(() => parseSidecar('{"format": "x"}', 'a.json')).toThrow(/a\.json: not a ResEmoteNet checkpoint sidecar/);
    expect(() => parseSidecar('{oops', 'b.json')).toThrow(/b\.json: cannot read checkpoint sidecar/);
    const { text } = files(ck);
    const other = path.join(dir, 'other');
    const cfg = modelConfig({ width: 1 / 32, image_size: 32 });
    await saveCheckpoint({ prefix: other, model: buildModel(cfg), config: cfg, kind: 'test' });
    await expect(loadCheckpointBytes(text, files(other).bytes, { name: 'ck.json', modelName: 'other.safetensors' })).rejects.toThrow(
      /other\.safetensors does not belong to ck\.json \(checkpoint_id [0-9a-f]+ vs [0-9a-f]+\)/,
    );
    // The sidecar's class count must be the model's.
    const sc = JSON.parse(text);
    sc.config.num_classes = 6;
    sc.config.class_names = sc.config.class_names.slice(0, 6);
    writeFileSync(path.join(dir, 'six.json'), JSON.stringify(sc));
    await expect(loadCheckpointBytes(JSON.stringify(sc), files(ck).bytes, { name: 'six.json' })).rejects.toThrow(/has 7 outputs but its sidecar lists 6 classes/);
  });
});

describe('faceEmotions (face_emotions.ts) = predictPhoto', () => {
  for (const photo of ['montage.jpg', 'basketball.png']) {
    it(`${photo}: same faces, boxes and probabilities from RGBA pixels as predictPhoto from the file (cpu)`, async () => {
      const rgb = decodeImage(readFileSync(path.join(PHOTOS, photo)), photo);
      const loaded = await loadCheckpoint(`${ck}.json`);
      const node = await predictPhoto(classifierFromCheckpoint(loaded), rgb, photo, { device: 'cpu', detector });
      const { text, bytes } = files(ck);
      const { model, sidecar } = await loadCheckpointBytes(text, bytes, { name: 'ck.json' });
      const page = await faceEmotions({ model, config: sidecar.config }, detector, rgba(rgb), { device: 'cpu' });
      expect(page.width).toBe(rgb.width);
      expect(node.faces.length).toBeGreaterThan(0);
      expect(page.faces.map((f) => [f.box, f.keypoints, f.faceScore, f.probabilities, f.logits, f.label, f.confidence])).toEqual(
        node.faces.map((f) => [f.box, f.keypoints, f.faceScore, f.probabilities, f.logits, f.label, f.confidence]),
      );
      expect(page.timings.detectMs).toBeGreaterThan(0);
      expect(page.timings.classifyMs).toBeGreaterThan(0);
    });
  }

  it('toGray: PIL luma of RGB(A), grey copied', () => {
    expect(Array.from(toGray({ width: 3, height: 1, data: new Uint8Array([255, 0, 0, 0, 255, 0, 10, 20, 30]) }).data)).toEqual([76, 150, 18]);
    expect(Array.from(toGray({ width: 2, height: 1, data: new Uint8ClampedArray([0, 0, 255, 0, 200, 200, 200, 9]) }).data)).toEqual([29, 200]);
    expect(() => toGray({ width: 2, height: 2, data: new Uint8Array(5) })).toThrow(/5 bytes for a 2x2 image/);
  });
});
