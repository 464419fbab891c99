/**
 * The BlazeFace module and its shipped weights: state-dict keys and shapes equal the converted
 * file's (strict load), the file's provenance metadata, output shapes, the input check, and the
 * TF 'SAME' padding of the stride-2 convs (nothing before, the rest after) checked by hand on a
 * block whose weights pick single pixels.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BlazeFace, BlazeBlock, loadBlazeFace, blazeFaceWeightsUrl } from '../../src/facedetect/index.js';
import { no_grad, tensor, zeros, nn } from '../../src/index.js';

describe('BlazeFace', () => {
  it('the shipped weights fill every parameter (strict), with their source recorded', async () => {
    const m = await loadBlazeFace({ device: 'cpu' });
    const sd = m.state_dict();
    expect(Object.keys(sd)).toHaveLength(106);
    expect(Object.values(sd).reduce((s, t) => s + t.numel(), 0)).toBe(134704);
    expect(sd['conv0.weight']!.shape).toEqual([24, 3, 5, 5]);
    expect(sd['blocks.15.pw.weight']!.shape).toEqual([48, 24, 1, 1]);
    expect(sd['down8.dw.weight']!.shape).toEqual([96, 1, 3, 3]);
    expect(sd['reg8.weight']!.shape).toEqual([96, 96, 1, 1]);
    const file = blazeFaceWeightsUrl();
    expect(path.basename(file.pathname)).toBe('blazeface.safetensors');
    const meta = await nn.read_metadata(decodeURIComponent(file.pathname));
    expect(meta).toMatchObject({ source: '@vladmandic/human@3.3.6 models/blazeface.json + models/blazeface.bin', converter: 'scripts/blazeface/convert.ts' });
    expect(m.training).toBe(false);
  });

  it('outputs (N, 896) logits and (N, 896, 16) regressors; rejects other input sizes', () => {
    const m = new BlazeFace();
    const out = no_grad(() => m.call(zeros([2, 3, 256, 256])));
    expect(out.scores.shape).toEqual([2, 896]);
    expect(out.regressors.shape).toEqual([2, 896, 16]);
    expect(() => m.call(zeros([1, 3, 128, 128]))).toThrow(/BlazeFace: expected input \(N, 3, 256, 256\), got \[1, 3, 128, 128\]/);
  });

  it('a stride-2 block: depthwise taps start at row/col 0 (TF SAME), skip = 2x2 max pool with zero channels appended', () => {
    // 1 -> 2 channels, 4x4 input x[r][c] = 4r + c. TF 'SAME' for k 3, stride 2 on 4 pads 0 before
    // and 1 after, so output (i, j)'s window starts at (2i, 2j) and its centre tap is
    // x[2i+1][2j+1] = 5, 7, 13, 15 (symmetric padding would give x[2i][2j] = 0, 2, 8, 10). The
    // 2x2 max pool of the skip path picks the same bottom-right pixels, so channel 0 doubles them;
    // channel 1 is relu(-100 + the appended zero channel) = 0.
    const b = new BlazeBlock(1, 2, 2);
    b.load_state_dict({
      'dw.weight': tensor([[[[0, 0, 0], [0, 1, 0], [0, 0, 0]]]]),
      'pw.weight': tensor([[[[1]]], [[[0]]]]),
      'pw.bias': tensor([0, -100]),
    });
    const x = tensor(Float32Array.from({ length: 16 }, (_, i) => i), { shape: [1, 1, 4, 4] });
    const y = no_grad(() => b.call(x));
    expect(y.toArray()).toEqual([[[[10, 14], [26, 30]], [[0, 0], [0, 0]]]]);
  });

  it('loadBlazeFace names the bytes that do not hold the weights', async () => {
    await expect(loadBlazeFace({ bytes: new Uint8Array(readFileSync(new URL(import.meta.url))) })).rejects.toThrow(/<bytes>/);
  });
});
