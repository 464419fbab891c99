/**
 * A minimal, read-only zip reader for PyTorch checkpoints, following PKWARE's APPNOTE.TXT
 * (sections 4.3 and 4.4): the end of central directory record (and its zip64 variant), the
 * central directory, local file headers, and entries that are stored (method 0) or deflated
 * (method 8, inflated with node:zlib). Multi-disk archives and encryption are refused.
 * Entries are read on demand through a {@link ByteSource}, so a large checkpoint is never held
 * in memory as a whole; CRC-32 checksums are verified.
 */
import { zlib } from './node.js';
import { CheckpointError, crc32, type ByteSource } from './io.js';

/** One file of the archive, as described by its central directory record. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of the local file header. */
  localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
/** The best compression ratio deflate can reach; a bigger claimed size is corrupt or a bomb. */
const MAX_DEFLATE_RATIO = 1032;

function u64(dv: DataView, pos: number): number {
  const v = dv.getBigUint64(pos, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** An open zip archive. Reads go through the byte source given to {@link ZipReader.open}. */
export class ZipReader {
  /** For each entry, where the next entry's local header (or the central directory) begins. */
  private readonly limits = new Map<ZipEntry, number>();

  private constructor(
    readonly src: ByteSource,
    /** Entries by name, in central directory order. */
    readonly entries: ReadonlyMap<string, ZipEntry>,
    private readonly centralDirOffset: number,
  ) {
    const byOffset = [...entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    for (let i = 0; i < byOffset.length; i++) this.limits.set(byOffset[i]!, byOffset[i + 1]?.localHeaderOffset ?? centralDirOffset);
  }

  /**
   * Reads the central directory.
   * @throws CheckpointError when the archive is truncated or malformed (no end of central
   * directory record, records out of bounds, bad signatures, duplicate names, entries whose
   * bytes overlap), spans several
   * disks, or holds encrypted entries or a compression method other than stored/deflate.
   */
  static async open(src: ByteSource): Promise<ZipReader> {
    const fail = (msg: string): never => {
      throw new CheckpointError(`zip: ${src.name}: ${msg}`, src.name);
    };
    if (src.size < 22) fail(`file is ${src.size} bytes, too small for a zip archive`);
    const tailLen = Math.min(src.size, 22 + 0xffff);
    const tailStart = src.size - tailLen;
    const tail = await src.read(tailStart, tailLen);
    const tdv = new DataView(tail.buffer, tail.byteOffset, tail.byteLength);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tdv.getUint32(i, true) === SIG_EOCD && i + 22 + tdv.getUint16(i + 20, true) <= tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail('no end of central directory record (truncated file, or not a zip archive)');
    const disk = tdv.getUint16(eocd + 4, true);
    const cdDisk = tdv.getUint16(eocd + 6, true);
    let count = tdv.getUint16(eocd + 10, true);
    let cdSize = tdv.getUint32(eocd + 12, true);
    let cdOffset = tdv.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      // zip64: a locator sits just before the classic record and points at the zip64 record.
      const locAbs = tailStart + eocd - 20;
      if (locAbs < 0) fail('zip64 end of central directory locator missing');
      const loc = await src.read(locAbs, 20);
      const ldv = new DataView(loc.buffer, loc.byteOffset, 20);
      if (ldv.getUint32(0, true) !== SIG_ZIP64_LOCATOR) fail('zip64 end of central directory locator missing');
      const z64 = u64(ldv, 8);
      if (z64 + 56 > src.size) fail('zip64 end of central directory record out of bounds');
      const rec = await src.read(z64, 56);
      const rdv = new DataView(rec.buffer, rec.byteOffset, 56);
      if (rdv.getUint32(0, true) !== SIG_ZIP64_EOCD) fail('bad zip64 end of central directory signature');
      if (rdv.getUint32(16, true) !== 0 || rdv.getUint32(20, true) !== 0) fail('multi-disk archives are not supported');
      count = u64(rdv, 32);
      cdSize = u64(rdv, 40);
      cdOffset = u64(rdv, 48);
    } else if (disk !== 0 || cdDisk !== 0) {
      fail('multi-disk archives are not supported');
    }
    if (cdOffset + cdSize > src.size) fail(`central directory (${cdSize} bytes at ${cdOffset}) runs past the end of the file (${src.size} bytes; truncated?)`);
    if (count * 46 > cdSize) fail(`central directory of ${cdSize} bytes cannot hold ${count} entries`);
    const cd = await src.read(cdOffset, cdSize);
    const dv = new DataView(cd.buffer, cd.byteOffset, cd.byteLength);
    const entries = new Map<string, ZipEntry>();
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cdSize || dv.getUint32(p, true) !== SIG_CENTRAL) fail(`bad central directory record #${i} at offset ${cdOffset + p}`);
      const flags = dv.getUint16(p + 8, true);
      const method = dv.getUint16(p + 10, true);
      const crc = dv.getUint32(p + 16, true);
      let compressedSize = dv.getUint32(p + 20, true);
      let uncompressedSize = dv.getUint32(p + 24, true);
      const nameLen = dv.getUint16(p + 28, true);
      const extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      const diskStart = dv.getUint16(p + 34, true);
      let localHeaderOffset = dv.getUint32(p + 42, true);
      const end = p + 46 + nameLen + extraLen + commentLen;
      if (end > cdSize) fail(`central directory record #${i} runs past the directory`);
      const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
      const name = (flags & 0x800 ? utf8 : latin1).decode(nameBytes);
      // zip64 extended information (header id 1): the 64-bit values of the fields set to ~0.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = dv.getUint16(e, true);
        const len = dv.getUint16(e + 2, true);
        if (e + 4 + len > extraEnd) fail(`entry '${name}': malformed extra field`);
        if (id === 1) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) fail(`entry '${name}': zip64 extra field too short`);
            const v = u64(dv, q);
            q += 8;
            return v;
          };
          if (uncompressedSize === 0xffffffff) uncompressedSize = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        e += 4 + len;
      }
      if (flags & 1) fail(`entry '${name}' is encrypted`);
      if (method !== 0 && method !== 8) fail(`entry '${name}' uses compression method ${method}; only stored (0) and deflate (8) are supported`);
      if (diskStart !== 0 && diskStart !== 0xffff) fail('multi-disk archives are not supported');
      if (entries.has(name)) fail(`duplicate entry '${name}'`);
      if (localHeaderOffset + 30 + compressedSize > cdOffset) fail(`entry '${name}' (${compressedSize} bytes at ${localHeaderOffset}) overlaps the central directory`);
      if (method === 0 && compressedSize !== uncompressedSize) fail(`stored entry '${name}' has compressed size ${compressedSize} != size ${uncompressedSize}`);
      if (method === 8 && uncompressedSize > Math.max(1024, compressedSize * MAX_DEFLATE_RATIO)) {
        fail(`entry '${name}' claims ${uncompressedSize} bytes from ${compressedSize} compressed bytes, beyond what deflate can produce`);
      }
      entries.set(name, { name, method, flags, crc32: crc, compressedSize, uncompressedSize, localHeaderOffset });
      p = end;
    }
    // Entries must not share bytes: records pointing at the same data would let a small file
    // pass the ratio check above once per record (one deflated GiB, read four times).
    const byOffset = [...entries.values()].sort((a, b) => a.localHeaderOffset - b.localHeaderOffset);
    for (let i = 1; i < byOffset.length; i++) {
      const a = byOffset[i - 1]!;
      const b = byOffset[i]!;
      if (a.localHeaderOffset + 30 + a.compressedSize > b.localHeaderOffset) {
        fail(`entries '${a.name}' (${30 + a.compressedSize} bytes at ${a.localHeaderOffset}) and '${b.name}' (at ${b.localHeaderOffset}) overlap`);
      }
    }
    return new ZipReader(src, entries, cdOffset);
  }

  /** The entry called `name`, or undefined. */
  get(name: string): ZipEntry | undefined {
    return this.entries.get(name);
  }

  /** Absolute offset of an entry's data (after its local header). */
  async dataOffset(entry: ZipEntry): Promise<number> {
    const hdr = await this.src.read(entry.localHeaderOffset, 30);
    const dv = new DataView(hdr.buffer, hdr.byteOffset, 30);
    if (dv.getUint32(0, true) !== SIG_LOCAL) {
      throw new CheckpointError(`zip: ${this.src.name}: entry '${entry.name}': bad local header signature at ${entry.localHeaderOffset}`, this.src.name, entry.name);
    }
    const start = entry.localHeaderOffset + 30 + dv.getUint16(26, true) + dv.getUint16(28, true);
    const limit = this.limits.get(entry) ?? this.centralDirOffset;
    if (start + entry.compressedSize > limit) {
      const into = limit === this.centralDirOffset ? 'the central directory' : 'the next entry';
      throw new CheckpointError(`zip: ${this.src.name}: entry '${entry.name}': data (${entry.compressedSize} bytes at ${start}) runs into ${into} (at ${limit})`, this.src.name, entry.name);
    }
    return start;
  }

  /**
   * The uncompressed bytes of an entry, in a fresh 8-byte aligned array.
   * @throws CheckpointError for a corrupt entry (bad local header, inflate error, wrong size,
   * CRC mismatch when `verifyCrc`).
   */
  async read(entry: ZipEntry, verifyCrc = true): Promise<Uint8Array> {
    const fail = (msg: string): never => {
      throw new CheckpointError(`zip: ${this.src.name}: entry '${entry.name}': ${msg}`, this.src.name, entry.name);
    };
    const start = await this.dataOffset(entry);
    let out: Uint8Array;
    if (entry.method === 0) {
      out = await this.src.read(start, entry.compressedSize);
    } else {
      const comp = await this.src.read(start, entry.compressedSize);
      let raw: Buffer;
      try {
        raw = zlib().inflateRawSync(comp, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
      } catch (e) {
        return fail(`cannot inflate (${(e as Error).message})`);
      }
      if (raw.length !== entry.uncompressedSize) fail(`inflated to ${raw.length} bytes, expected ${entry.uncompressedSize}`);
      out = new Uint8Array(new ArrayBuffer(raw.length));
      out.set(raw);
    }
    if (verifyCrc && crc32(out) !== entry.crc32) fail('CRC-32 mismatch (corrupt file)');
    return out;
  }
}
