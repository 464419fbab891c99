/** Errors raised by the data pipeline. */

/**
 * A problem with an input file: a bad CSV row, an undecodable image, an unknown class folder.
 * The message starts with `file:line:` (or `file:` when no line applies), like a compiler error,
 * so it can be clicked in an editor; `file` and `line` are also kept as fields.
 */
export class DataError extends Error {
  override readonly name = 'DataError';
  /** The file (or folder) the problem is in, as given by the caller (not made absolute). */
  readonly file: string;
  /** 1-based line number in `file` (the CSV header is line 1), or undefined. */
  readonly line: number | undefined;
  /** The reason without the `file:line:` prefix. */
  readonly reason: string;
  constructor(file: string, line: number | undefined, reason: string, options?: { cause?: unknown }) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`, options);
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

/** A skipped input (bad row or image) when `onBadRow` / `onBadImage` is 'skip'. */
export interface SkippedInput {
  file: string;
  /** 1-based line (CSV rows); undefined for images and folders. */
  line?: number;
  reason: string;
}
