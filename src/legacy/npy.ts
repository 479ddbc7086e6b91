// NumPy .npy files (format versions 1.0–3.0), limited to what the legacy layout
// uses: a C-ordered 2-D little-endian float32 array. Anything else is refused
// with a message saying what was found, never guessed at.
import { closeSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

export interface NpyHeader {
  rows: number;
  cols: number;
  /** Byte offset of the first row. */
  dataOffset: number;
}

/** Reads and validates the header of a (rows, cols) float32 .npy file. */
export function readNpyHeader(path: string): NpyHeader {
  const fd = openSync(path, 'r');
  try {
    const fixed = Buffer.alloc(12);
    const got = readSync(fd, fixed, 0, 12, 0);
    if (got < 10 || !fixed.subarray(0, 6).equals(MAGIC)) throw new Error(`${path} is not a .npy file (bad magic)`);
    const major = fixed[6];
    if (major < 1 || major > 3) throw new Error(`${path}: unsupported .npy format version ${major}.${fixed[7]}`);
    const headerLen = major === 1 ? fixed.readUInt16LE(8) : fixed.readUInt32LE(8);
    const headerStart = major === 1 ? 10 : 12;
    const header = Buffer.alloc(headerLen);
    if (readSync(fd, header, 0, headerLen, headerStart) !== headerLen) throw new Error(`${path}: truncated .npy header`);
    const text = header.toString(major === 3 ? 'utf8' : 'latin1');
    const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
    const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
    const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
    if (descr === undefined || fortran === undefined || shape === undefined) {
      throw new Error(`${path}: malformed .npy header ${JSON.stringify(text.trim())}`);
    }
    if (descr !== '<f4') throw new Error(`${path}: dtype is '${descr}', expected little-endian float32 ('<f4')`);
    if (fortran !== 'False') throw new Error(`${path}: array is in Fortran order; save it C-ordered (np.ascontiguousarray)`);
    const dims = shape
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map(Number);
    if (dims.length !== 2 || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new Error(`${path}: shape (${shape}) is not two-dimensional (rows, dims)`);
    }
    const [rows, cols] = dims;
    const dataOffset = headerStart + headerLen;
    const expected = dataOffset + rows * cols * 4;
    const size = fstatSync(fd).size;
    if (size < expected) throw new Error(`${path}: holds ${size} bytes, but shape (${rows}, ${cols}) needs ${expected}`);
    return { rows, cols, dataOffset };
  } finally {
    closeSync(fd);
  }
}

/** Reads rows [start, start + count) of a float32 .npy file. */
export function readNpyRows(path: string, header: NpyHeader, start: number, count: number): Float32Array {
  const out = new Float32Array(count * header.cols);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, new Uint8Array(out.buffer), 0, out.byteLength, header.dataOffset + start * header.cols * 4);
  } finally {
    closeSync(fd);
  }
  return out;
}

/** Room for any row count in the header, so the count can be written once the rows are. */
const ROWS_FIELD = 20;

/**
 * Streams a (rows, cols) float32 .npy (format 1.0). The header is written with
 * room for the row count, and the count filled in by close(): the rows written
 * are the rows declared, even if the catalogue changed while it was read.
 */
export class NpyWriter {
  private readonly fd: number;
  private written = 0;

  constructor(
    readonly path: string,
    private readonly cols: number,
  ) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, this.header(0));
  }

  private header(rows: number): Buffer {
    // numpy reads the header with ast.literal_eval, so spaces inside the tuple are fine.
    let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${String(rows).padStart(ROWS_FIELD)}, ${this.cols}), }`;
    // Padded with spaces and a newline so that the data starts on a 64-byte boundary.
    const unpadded = 10 + header.length + 1;
    header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
    const prefix = Buffer.alloc(10);
    MAGIC.copy(prefix);
    prefix[6] = 1;
    prefix[7] = 0;
    prefix.writeUInt16LE(header.length, 8);
    return Buffer.concat([prefix, Buffer.from(header, 'latin1')]);
  }

  append(row: Float32Array): void {
    if (row.length !== this.cols) throw new Error(`${this.path}: row of ${row.length} values, expected ${this.cols}`);
    writeSync(this.fd, new Uint8Array(row.buffer, row.byteOffset, row.byteLength));
    this.written++;
  }

  /** Writes the row count into the header and closes the file. */
  close(): number {
    try {
      writeSync(this.fd, this.header(this.written), 0, undefined, 0);
    } finally {
      closeSync(this.fd);
    }
    return this.written;
  }

  /** Closes without finishing (the caller removes the file). */
  abandon(): void {
    closeSync(this.fd);
  }
}
