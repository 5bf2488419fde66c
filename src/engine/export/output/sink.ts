// The output sink: appends each page to the main file and one file per sideload, fsyncs them,
// and reports byte lengths for the checkpoint. A resume first cuts every file back to those lengths,
// which removes whatever a crashed run wrote after its last checkpoint. A JSON array's closing bracket
// is written after every page (and overwritten by the next), so the file is valid JSON between pages.
import { constants, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ResourceName } from '../../zendesk';
import { syncDirectory } from '../durableFile';
import { ExportError } from '../../errors';
import type { OutputFormat } from '../../query';
import { isCsvState, type CsvFieldNames } from './csv';
import { createFormatWriter, FORMAT_EXTENSIONS } from './formats';
import type { FormatWriter } from './formatWriter';


export interface OutputResume {
  /** Byte length of each file when the checkpoint was taken (keys: absolute paths). */
  files: Record<string, number>;
  writerState?: unknown;
}

export interface OpenOutputOptions {
  path: string;
  format: OutputFormat;
  resource: ResourceName;
  /** Null: a new export, existing files are overwritten. */
  resume: OutputResume | null;
  /** Names for the custom-field columns of a CSV main file (sideload files keep field keys). */
  csvFields?: CsvFieldNames | null;
}

export interface OutputSink {
  /** Appends the page to each file it touches (one write per file) and fsyncs them before resolving. */
  writePage(records: Record<string, unknown>[], sideloads: Record<string, unknown[]>): Promise<void>;
  /** Byte lengths (keys = absolute paths) and writer state to store in the checkpoint. Never counts finish()'s bytes. */
  state(): { files: Record<string, number>; writerState?: unknown };
  /** Makes sure every file is a complete document (a closed JSON array). Pages may still follow. */
  finish(): Promise<void>;
  close(): Promise<void>;
  /** Absolute paths of every file this export writes so far: the main file first, then sideloads. */
  readonly paths: string[];
}

/** Writer state kept in the checkpoint: CSV columns (and field names) per file, keyed by file name so a moved workspace still resumes. */
interface SinkWriterState {
  csvColumns?: Record<string, unknown>;
}

/** '<dir>/<base>.<key>.<ext>' beside the main output, in the same format. */
export function sideloadPath(mainPath: string, key: string, format: OutputFormat): string {
  const abs = path.resolve(mainPath);
  return path.join(path.dirname(abs), `${stem(abs)}.${safeKey(key)}.${FORMAT_EXTENSIONS[format]}`);
}

export async function openOutput(opts: OpenOutputOptions): Promise<OutputSink> {
  const mainPath = path.resolve(opts.path);
  const dir = path.dirname(mainPath);
  try {
    await fs.mkdir(dir, { recursive: true });
  } catch (err) {
    throw writeError(dir, err);
  }
  const sink = new FileSink(mainPath, opts.format, opts.csvFields ?? null);
  try {
    if (opts.resume) await sink.resume(opts.resume);
    if (!sink.has(mainPath)) await sink.create(mainPath, true);
  } catch (err) {
    await sink.close();
    throw err;
  }
  return sink;
}

interface Slot {
  path: string;
  writer: FormatWriter;
  handle: fs.FileHandle;
  /** Length without the epilogue: what a checkpoint records, and where the next page is written. */
  length: number;
  /** Whether the epilogue is on disk after `length`. */
  closedOff: boolean;
}

class FileSink implements OutputSink {
  private readonly slots = new Map<string, Slot>();
  private broken: ExportError | null = null;
  private closed = false;

  constructor(
    private readonly mainPath: string,
    private readonly format: OutputFormat,
    private readonly csvFields: CsvFieldNames | null,
  ) {}

  get paths(): string[] {
    const others = [...this.slots.keys()].filter((p) => p !== this.mainPath);
    return this.slots.has(this.mainPath) ? [this.mainPath, ...others] : others;
  }

  has(file: string): boolean {
    return this.slots.has(file);
  }

  /** Check every file first, so a mismatch changes nothing; then truncate, reopen and close off each one. */
  async resume(resume: OutputResume): Promise<void> {
    const columns = (resume.writerState as SinkWriterState | undefined)?.csvColumns ?? {};
    const planned: { file: string; length: number }[] = [];
    for (const [key, length] of Object.entries(resume.files)) {
      const file = this.currentLocation(key);
      if (!Number.isInteger(length) || length < 0) {
        throw new ExportError('checkpointCorrupt', `The checkpoint's length for ${file} (${String(length)}) is not a byte count; delete the checkpoint to start over.`);
      }
      let size: number;
      try {
        const info = await fs.lstat(file);
        if (info.isSymbolicLink()) throw symlinkError(file);
        size = info.size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw writeError(file, err);
        // Nothing was in it yet, so nothing is lost: it is simply created again.
        if (length === 0) continue;
        throw new ExportError(
          'io',
          `The output ${file} is missing, though its checkpoint says it holds ${length} bytes; it was changed outside the export — move the other outputs away and delete the checkpoint to start over.`,
        );
      }
      if (size < length) {
        throw new ExportError(
          'io',
          `The output ${file} is shorter than its checkpoint says (${size} bytes, expected at least ${length}); it was changed outside the export — move it away and delete the checkpoint to start over.`,
        );
      }
      if (this.format === 'csv' && length > 0 && !isCsvState(columns[path.basename(file)])) {
        throw new ExportError('checkpointCorrupt', `The checkpoint doesn't record the CSV columns of ${file}; move the output away and delete the checkpoint to start over.`);
      }
      planned.push({ file, length });
    }
    for (const { file, length } of planned) {
      try {
        // Never through a symlink planted at the output's name: opened with O_NOFOLLOW, truncated by handle.
        const handle = await fs.open(file, constants.O_RDWR | constants.O_NOFOLLOW);
        await handle.truncate(length);
        const writer = createFormatWriter(this.format, length, columns[path.basename(file)], file === this.mainPath ? this.csvFields : null);
        this.slots.set(file, { path: file, writer, handle, length, closedOff: false });
      } catch (err) {
        throw writeError(file, err);
      }
    }
    // The truncation removed the JSON array's closing bracket: put it back so the file stays valid even if
    // this run never gets a page. A JSON file cut to nothing (never expected) gets its opening bracket again.
    await this.append([...this.slots.values()].map((slot) => [slot, slot.length === 0 ? slot.writer.prologue : '']));
  }

  /** Opens a file the checkpoint doesn't know: anything already there is from an uncheckpointed run. */
  async create(file: string, main: boolean): Promise<Slot> {
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
    } catch (err) {
      throw writeError(file, err);
    }
    // The new name must survive a power cut before a checkpoint can mention the file.
    await syncDirectory(path.dirname(file));
    const writer = createFormatWriter(this.format, null, null, main ? this.csvFields : null);
    const slot: Slot = { path: file, writer, handle, length: 0, closedOff: false };
    this.slots.set(file, slot);
    // The main file is written now so that even an export with no records leaves a valid file;
    // a sideload's prologue goes out with its first page, in the same write.
    if (main) await this.append([[slot, writer.prologue]]);
    return slot;
  }

  async writePage(records: Record<string, unknown>[], sideloads: Record<string, unknown[]>): Promise<void> {
    this.usable();
    const work: [Slot, string][] = [];
    const main = this.slots.get(this.mainPath)!;
    work.push([main, main.writer.encode(records)]);
    for (const [key, items] of Object.entries(sideloads)) {
      if (!Array.isArray(items) || items.length === 0) continue;
      const file = sideloadPath(this.mainPath, key, this.format);
      let slot = this.slots.get(file);
      let prefix = '';
      if (!slot) {
        slot = await this.create(file, false);
        prefix = slot.writer.prologue;
      }
      work.push([slot, prefix + slot.writer.encode(items as Record<string, unknown>[])]);
    }
    await this.append(work);
  }

  state(): { files: Record<string, number>; writerState?: unknown } {
    const files: Record<string, number> = {};
    const csvColumns: Record<string, unknown> = {};
    for (const file of this.paths) {
      const slot = this.slots.get(file)!;
      files[slot.path] = slot.length;
      const cols = slot.writer.state();
      if (cols !== null && cols !== undefined) csvColumns[path.basename(slot.path)] = cols;
    }
    if (this.format !== 'csv') return { files };
    const writerState: SinkWriterState = { csvColumns };
    return { files, writerState };
  }

  async finish(): Promise<void> {
    this.usable();
    // Every page already ends with the epilogue; this only completes a file whose last write was empty.
    await this.append([...this.slots.values()].map((slot) => [slot, '']));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.slots.values()].map((s) => s.handle.close().catch(() => undefined)));
  }

  /**
   * Writes `text` + epilogue at each file's checkpoint length, one write call per file, then fsyncs them.
   * The epilogue of the previous page is overwritten, so a JSON array is closed after every page.
   */
  private async append(work: [Slot, string][]): Promise<void> {
    // Each page's text becomes bytes once; the epilogue goes out as its own buffer in the same write.
    const todo = work
      .filter(([slot, text]) => text.length > 0 || (slot.writer.epilogue !== '' && !slot.closedOff))
      .map(([slot, text]) => [slot, Buffer.from(text, 'utf8')] as const);
    try {
      await Promise.all(
        todo.map(async ([slot, bytes]) => {
          try {
            await writeAll(slot.handle, slot.writer.epilogue ? [bytes, Buffer.from(slot.writer.epilogue, 'utf8')] : [bytes], slot.length);
            await slot.handle.datasync();
          } catch (err) {
            throw writeError(slot.path, err);
          }
        }),
      );
    } catch (err) {
      // The files now hold bytes the sink can't account for; only a resume (which truncates) may continue.
      this.broken = err instanceof ExportError ? err : writeError(this.mainPath, err);
      throw this.broken;
    }
    for (const [slot, bytes] of todo) {
      slot.length += bytes.length;
      slot.closedOff = slot.writer.epilogue !== '';
    }
  }

  private usable(): void {
    if (this.closed) throw new Error('The output sink is closed.');
    if (this.broken) throw this.broken;
  }

  /** Checkpoint keys are absolute; if the workspace moved, the same file names beside the output are meant. */
  private currentLocation(key: string): string {
    const name = path.basename(key);
    const dir = path.dirname(this.mainPath);
    const main = path.basename(this.mainPath);
    const ext = FORMAT_EXTENSIONS[this.format];
    if (name === main || (name.startsWith(`${stem(this.mainPath)}.`) && name.endsWith(`.${ext}`))) {
      return path.join(dir, name);
    }
    throw new ExportError('checkpointMismatch', `The checkpoint lists ${key}, which is not an output of this export; delete the checkpoint to start over.`);
  }
}

/** Positional writes: the sink knows where the data ends, whatever a truncation did to the file offset. */
async function writeAll(handle: fs.FileHandle, buffers: Buffer[], position: number): Promise<void> {
  let at = position;
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await handle.writev(rest, at);
    at += bytesWritten;
    // A short write: drop what went out and write the remainder.
    while (rest.length > 0 && bytesWritten >= rest[0].length) bytesWritten -= rest.shift()!.length;
    if (rest.length > 0 && bytesWritten > 0) rest = [rest[0].subarray(bytesWritten), ...rest.slice(1)];
  }
}

function stem(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

/** Sideload keys come from the response body: keep them to a safe file-name alphabet. */
function safeKey(key: string): string {
  const clean = key.replace(/[^A-Za-z0-9_-]/g, '_') || '_';
  // '<base>.checkpoint.json' is the checkpoint's own name.
  return clean === 'checkpoint' ? 'checkpoint_' : clean;
}

function symlinkError(file: string): ExportError {
  return new ExportError('io', `The output ${file} is a symbolic link, which this tool never writes through; remove it or choose another output path.`);
}

function writeError(file: string, err: unknown): ExportError {
  if (err instanceof ExportError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ELOOP') return symlinkError(file);
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new ExportError('io', `The disk is full while writing ${file}; free some space.`, code);
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new ExportError('io', `There is no permission to write ${file} (${code}).`, code);
    case 'EISDIR':
      return new ExportError('io', `The output ${file} is a folder; choose a file path for the output.`, code);
    default:
      return new ExportError('io', `Writing ${file} failed (${code ?? (err as Error).message}).`, code);
  }
}
