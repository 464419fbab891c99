/**
 * Shared setup of the ResEmoteNet tests: the shared data paths (missing data fails under
 * CI=true and skips with a warning otherwise), and the devices a training test runs on:
 * 'cpu', plus 'webgpu' when an adapter is present (tests/helpers/devices.ts) and one training
 * step of a tiny ResEmoteNet runs there. While WebGPU kernels are still missing, the webgpu
 * variants are skipped with a printed warning; under CI=true they run (and fail, naming the
 * missing kernel).
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { it } from 'vitest';
import type { Device } from '../../src/index.js';
import { DEVICES } from '../helpers/devices.js';
import { probeTraining } from '../../src/resemotenet/device.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHARED_DATA = path.resolve(REPO_ROOT, '../shared/data');
export const SAMPLE = path.join(SHARED_DATA, 'fer2013-sample');
export const FER_CSV = path.join(SHARED_DATA, 'fer2013/fer2013.csv.gz');
export const CI = process.env.CI === 'true';

/** `it`, or `it.skip` (with a warning) when the sample ImageFolder is missing outside CI. */
export function itWithSample(file: string): typeof it {
  if (existsSync(SAMPLE) || CI) return it;
  console.warn(`[${file}] ${SAMPLE} not found: data tests skipped (they fail under CI=true)`);
  return it.skip as unknown as typeof it;
}

async function trainingDevices(): Promise<Device[]> {
  const out: Device[] = ['cpu'];
  if (!DEVICES.includes('webgpu')) return out;
  try {
    await probeTraining('webgpu');
    out.push('webgpu');
  } catch (e) {
    if (CI) out.push('webgpu');
    else console.warn(`[resemotenet tests] webgpu cannot train ResEmoteNet yet (${(e as Error).message.split('\n')[0]}): webgpu variants skipped (they run under CI=true)`);
  }
  return out;
}

/** Devices for ResEmoteNet training tests (see the module comment). */
export const TRAIN_DEVICES: Device[] = await trainingDevices();

/** A fresh temporary folder. */
export function tmpDir(tag: string): string {
  return mkdtempSync(path.join(os.tmpdir(), `resemotenet-${tag}-`));
}
