/**
 * The devices every device-parametrized test body runs on: always 'cpu', plus 'webgpu' when an
 * adapter is present (with CI=true a missing adapter is a failure, see ./webgpu.ts).
 * Usage: `import { DEVICES } from '../helpers/devices.js'; describe.each(DEVICES)('... on %s', (device) => ...)`.
 */
import type { Device } from '../../src/index.js';
import { gpuAvailable } from './webgpu.js';

export const DEVICES: Device[] = (await gpuAvailable()) ? ['cpu', 'webgpu'] : ['cpu'];
