/**
 * Seeded random state, as torch.Generator: a 64-bit seed and a counter of Philox blocks used so
 * far. Each random op takes the next blocks, so the same seed gives the same numbers on every
 * device, and saving (seed, offset) resumes a stream exactly.
 */
export class Generator {
  private seedLo = 0;
  private seedHi = 0;
  /** Philox blocks consumed so far. */
  offset = 0;
  constructor(seed = 0) {
    this.manual_seed(seed);
  }
  /** Resets to `seed` (an integer up to 2^53) and offset 0. Returns this. */
  manual_seed(seed: number): this {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`manual_seed: seed must be a non-negative safe integer, got ${seed}`);
    this.seedLo = seed % 0x100000000;
    this.seedHi = Math.floor(seed / 0x100000000);
    this.offset = 0;
    return this;
  }
  initial_seed(): number {
    return this.seedHi * 0x100000000 + this.seedLo;
  }
  get seedWords(): readonly [number, number] {
    return [this.seedLo, this.seedHi];
  }
  /** Reserves the blocks for `n` numbers; returns the first block index. */
  take(n: number): number {
    const first = this.offset;
    this.offset += Math.ceil(n / 4);
    return first;
  }
  get_state(): { seed: number; offset: number } {
    return { seed: this.initial_seed(), offset: this.offset };
  }
  set_state(s: { seed: number; offset: number }): void {
    this.manual_seed(s.seed);
    this.offset = s.offset;
  }
}

/** The default generator used when none is passed (torch.default_generator). */
export const default_generator = new Generator(0);

/** Seeds the default generator (torch.manual_seed). */
export function manual_seed(seed: number): Generator {
  return default_generator.manual_seed(seed);
}
