/**
 * Converts the BlazeFace TensorFlow.js graph model of `@vladmandic/human` (models/blazeface.json +
 * blazeface.bin, see ./source.ts) into weights/blazeface/blazeface.safetensors with this
 * project's own code: the manifest and shards are decoded here, the graph is walked to pair each
 * weight with its layer, every layer's op, stride and padding are checked against the network that
 * src/facedetect/model.ts builds, and the kernels are moved from TF's layouts (HWIO, and HWC1 for
 * depthwise) to PyTorch's (OIHW). Then the file is written atomically with save_file.
 *
 *   npx tsx scripts/blazeface/convert.ts [--from DIR] [--out weights/blazeface/blazeface.safetensors]
 *
 * Without --from it runs `npm pack @vladmandic/human@3.3.6` into a temporary folder first.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor } from '../../src/tensor/ops/creation.js';
import type { Tensor } from '../../src/tensor/tensor.js';
import { save_file } from '../../src/nn/serialization/safetensors.js';
import { BlazeFace, BLAZEFACE_BLOCKS } from '../../src/facedetect/model.js';
import { decodeWeights, readBlazeFaceGraphModel, HUMAN_PACKAGE, HUMAN_VERSION, SHA256, type GraphNode } from './source.js';

type Decoded = ReturnType<typeof decodeWeights>;

const b64 = (s?: string) => (s ? Buffer.from(s, 'base64').toString('latin1') : '');

/** A conv node's stride and padding attributes, checked against what the layer expects. */
function checkConv(n: GraphNode, stride: number, padding: 'SAME' | 'VALID', fused?: string): void {
  const st = (n.attr?.strides?.list?.i ?? []).map(Number);
  const pd = b64(n.attr?.padding?.s);
  const fz = (n.attr?.fused_ops?.list?.s ?? []).map(b64).join('+');
  if (st[1] !== stride || st[2] !== stride || pd !== padding || (fused !== undefined && fz !== fused)) {
    throw new Error(`graph node ${n.name} (${n.op}): strides ${st.join(',')}, padding ${pd}, fused ${fz || '-'}; expected stride ${stride}, ${padding}${fused ? `, ${fused}` : ''}`);
  }
}

/** TF HWIO (KH, KW, C_in, C_out) -> OIHW (C_out, C_in, KH, KW). */
function hwioToOihw(w: { shape: number[]; data: Float32Array | Int32Array }): Tensor {
  const [kh, kw, ci, co] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = w.data[((y * kw + x) * ci + i) * co + o]!;
  return tensor(out, { shape: [co, ci, kh, kw] });
}

/** TF depthwise (KH, KW, C, 1) -> grouped conv weight (C, 1, KH, KW). */
function depthwiseToOihw(w: { shape: number[]; data: Float32Array | Int32Array }): Tensor {
  const [kh, kw, c, m] = w.shape as [number, number, number, number];
  if (m !== 1) throw new Error(`depthwise multiplier ${m} is not supported (expected 1)`);
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) for (let i = 0; i < c; i++) out[(i * kh + y) * kw + x] = w.data[(y * kw + x) * c + i]!;
  return tensor(out, { shape: [c, 1, kh, kw] });
}

/** Walks the graph and returns the state dict of src/facedetect/model.ts's BlazeFace. */
export function graphToStateDict(nodes: readonly GraphNode[], weights: Decoded): Record<string, Tensor> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const consumers = (name: string) => nodes.filter((n) => (n.input ?? []).includes(name));
  const weight = (name: string) => {
    const w = weights.get(name);
    if (!w) throw new Error(`weight ${name} is missing from the manifest`);
    return w;
  };
  const sd: Record<string, Tensor> = {};
  const conv1x1 = (prefix: string, n: GraphNode) => {
    const [, wName, bName] = n.input!;
    sd[`${prefix}.weight`] = hwioToOihw(weight(wName!));
    sd[`${prefix}.bias`] = tensor(Array.from(weight(bName!).data));
  };

  const input = nodes.find((n) => n.op === 'Placeholder');
  if (!input) throw new Error('the graph has no input placeholder');
  const conv0 = consumers(input.name)[0];
  if (!conv0 || conv0.op !== '_FusedConv2D') throw new Error('the input does not feed a fused conv');
  checkConv(conv0, 2, 'SAME', 'BiasAdd+Relu');
  sd['conv0.weight'] = hwioToOihw(weight(conv0.input![1]!));
  sd['conv0.bias'] = tensor(Array.from(weight(conv0.input![2]!).data));

  // Depthwise convs in graph order: 31 residual blocks, then the 16x16 -> 8x8 step.
  const dws = nodes.filter((n) => n.op === 'DepthwiseConv2dNative');
  if (dws.length !== BLAZEFACE_BLOCKS.length + 1) throw new Error(`found ${dws.length} depthwise convs, expected ${BLAZEFACE_BLOCKS.length + 1}`);
  let prevOut = conv0.name;
  dws.forEach((dw, i) => {
    const last = i === BLAZEFACE_BLOCKS.length;
    const stride = last ? 2 : BLAZEFACE_BLOCKS[i]![2];
    if (dw.input![0] !== prevOut) throw new Error(`depthwise ${dw.name} reads ${dw.input![0]}, expected the previous block's output ${prevOut}`);
    checkConv(dw, stride, 'SAME');
    const pw = consumers(dw.name)[0];
    if (!pw || pw.op !== '_FusedConv2D') throw new Error(`depthwise ${dw.name} does not feed a fused 1x1 conv`);
    checkConv(pw, 1, 'VALID', last ? 'BiasAdd+Relu' : 'BiasAdd');
    const prefix = last ? 'down8' : `blocks.${i}`;
    sd[`${prefix}.dw.weight`] = depthwiseToOihw(weight(dw.input![1]!));
    conv1x1(`${prefix}.pw`, pw);
    if (last) {
      prevOut = pw.name;
      return;
    }
    // A residual block ends in AddV2 (pw, skip) -> Relu; the skip is the block input, or
    // MaxPool(input) (+ Pad on channels) when strided.
    const add = consumers(pw.name).find((n) => n.op === 'AddV2');
    if (!add) throw new Error(`block ${i}: ${pw.name} has no residual add`);
    const skipName = add.input!.find((s) => s !== pw.name)!;
    let skip = byName.get(skipName)!;
    if (skip.op === 'Pad') {
      // NHWC paddings [[0,0],[0,0],[0,0],[0,out-in]]: zero channels appended, nothing else.
      const p = Array.from(weight(skip.input![1]!).data);
      const [ci, co] = BLAZEFACE_BLOCKS[i]!;
      if (p.join(',') !== `0,0,0,0,0,0,0,${co - ci}`) throw new Error(`block ${i}: skip Pad ${p.join(',')}, expected ${co - ci} channels appended`);
      skip = byName.get(skip.input![0]!)!;
    }
    if (stride === 2 ? skip.op !== 'MaxPool' || skip.input![0] !== prevOut : skipName !== prevOut) {
      throw new Error(`block ${i}: unexpected skip path ${skipName} (${skip.op})`);
    }
    const r = consumers(add.name).find((n) => n.op === 'Relu');
    if (!r) throw new Error(`block ${i}: no relu after ${add.name}`);
    prevOut = r.name;
  });

  // Heads: 1x1 convs on the 16x16 features (last residual block) and on down8's output.
  const f16 = dws[BLAZEFACE_BLOCKS.length]!.input![0]!;
  const f8 = prevOut;
  const heads: [string, string, number][] = [['cls16', f16, 2], ['reg16', f16, 32], ['cls8', f8, 6], ['reg8', f8, 96]];
  for (const [name, src, co] of heads) {
    const n = consumers(src).find((c) => c.op === '_FusedConv2D' && weight(c.input![1]!).shape[3] === co);
    if (!n) throw new Error(`no ${co}-channel head on ${src}`);
    checkConv(n, 1, 'SAME', 'BiasAdd');
    conv1x1(name, n);
  }
  return sd;
}

async function main(argv: string[]): Promise<void> {
  const arg = (k: string) => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const out = arg('--out') ?? path.join(here, '..', '..', 'weights', 'blazeface', 'blazeface.safetensors');
  const files = readBlazeFaceGraphModel(arg('--from'));
  const sd = graphToStateDict(files.json.modelTopology.node, decodeWeights(files));
  // Every key and shape must be the model's own, so that load_state_dict(strict) takes it as is.
  const expected = new BlazeFace().state_dict();
  const missing = Object.keys(expected).filter((k) => !(k in sd));
  const extra = Object.keys(sd).filter((k) => !(k in expected));
  const badShape = Object.keys(sd).filter((k) => k in expected && expected[k]!.shape.join('x') !== sd[k]!.shape.join('x'));
  if (missing.length || extra.length || badShape.length) throw new Error(`state dict mismatch: missing ${missing.join(', ')}; extra ${extra.join(', ')}; shapes ${badShape.join(', ')}`);
  await save_file(sd, out, {
    format: 'pt',
    model: 'BlazeFace (MediaPipe face detection, back camera, 256x256)',
    source: `${HUMAN_PACKAGE}@${HUMAN_VERSION} models/blazeface.json + models/blazeface.bin`,
    source_sha256: `${SHA256['blazeface.json']} ${SHA256['blazeface.bin']}`,
    license: 'Apache-2.0 (MediaPipe model)',
    converter: 'scripts/blazeface/convert.ts',
  });
  const n = Object.values(sd).reduce((s, t) => s + t.numel(), 0);
  process.stdout.write(`wrote ${out}: ${Object.keys(sd).length} tensors, ${n} parameters\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
