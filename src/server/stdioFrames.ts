// Frames on stdio are `Content-Length: N\r\n\r\n` + N bytes of JSON. vscode-jsonrpc's stream reader
// trusts that header: a length too large swallows every later request into one body, a negative or
// non-numeric one (or a line that isn't a header) stops it reading anything again. This stream sits
// between stdin and that reader: it passes well-formed frames through whole and drops a broken one,
// resynchronising on the next `Content-Length:` header, so one bad frame costs only itself.
import { Transform, type TransformCallback } from 'node:stream';

const HEADER_END = Buffer.from('\r\n\r\n');
/** Spellings of the header searched for when resynchronising (clients send the first). */
const CONTENT_LENGTH = [Buffer.from('Content-Length:'), Buffer.from('content-length:')];
/** A header block longer than this is not one. */
const MAX_HEADER_BYTES = 8 * 1024;
/** The largest frame passed on: far above any request an editor sends (a 10 MB document is ~10 MB). */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;
/** Bytes kept from the end of a body to find a header split across two chunks. */
const OVERLAP = 64;
const HEADER_LINE = /^([!-9;-~]+):[ \t]*(.*?)[ \t]*$/;

/** Why a header block is not a frame's header, or its body length. */
function parseHeader(block: string): { length: number } | { problem: string } {
  let length: number | undefined;
  for (const line of block.split('\r\n')) {
    const m = HEADER_LINE.exec(line);
    if (!m) return { problem: `a header line that isn't "Name: value" (${JSON.stringify(line.slice(0, 40))})` };
    if (m[1].toLowerCase() !== 'content-length') continue;
    if (!/^\d+$/.test(m[2])) return { problem: `Content-Length ${JSON.stringify(m[2].slice(0, 20))}, which is not a whole number` };
    length = Number(m[2]);
    if (length === 0) return { problem: 'Content-Length 0 (a message is never empty)' };
    if (length > MAX_FRAME_BYTES) return { problem: `Content-Length ${m[2]}, more than the ${MAX_FRAME_BYTES} bytes a message may have` };
  }
  return length === undefined ? { problem: 'a header without Content-Length' } : { length };
}

/** Offset of the first Content-Length header at or after `from`, or -1. */
function nextHeader(buf: Buffer, from: number): number {
  const hits = CONTENT_LENGTH.map((h) => buf.indexOf(h, from)).filter((i) => i >= 0);
  return hits.length ? Math.min(...hits) : -1;
}

/**
 * Where a body holds the start of another frame's header, or -1. A JSON text can't contain
 * `Content-Length: 12\r\n` (raw line breaks never occur inside its strings, and the words are no JSON
 * token), so such a body belongs to a frame whose Content-Length was too large.
 */
function headerInside(buf: Buffer): number {
  for (let at = nextHeader(buf, 0); at >= 0; at = nextHeader(buf, at + 1)) {
    const after = buf.subarray(at + CONTENT_LENGTH[0].length, at + CONTENT_LENGTH[0].length + 24).toString('latin1');
    if (/^[ \t]*\d+[ \t]*\r\n/.test(after)) return at;
  }
  return -1;
}

export class FrameResync extends Transform {
  /** Header mode: bytes not yet parsed. */
  private head: Buffer = Buffer.alloc(0);
  /** Body mode: the frame's header and the body bytes so far. */
  private frame: Buffer[] = [];
  private bodyBytes = 0;
  /** Body length of the current frame; -1 while reading a header. */
  private want = -1;
  /** The last bytes of the body so far, so a header split across chunks is still found. */
  private tail: Buffer = Buffer.alloc(0);

  /** `onDrop` hears one sentence per dropped frame. */
  constructor(private readonly onDrop: (why: string) => void) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let data: Buffer = chunk;
    while (data.length > 0) data = this.want < 0 ? this.readHeader(data) : this.readBody(data);
    done();
  }

  /** Consumes a header; returns the bytes after it (the body's start), or nothing while it is incomplete. */
  private readHeader(data: Buffer): Buffer {
    this.head = this.head.length ? Buffer.concat([this.head, data]) : data;
    for (;;) {
      const end = this.head.indexOf(HEADER_END);
      if (end < 0) {
        if (this.head.length <= MAX_HEADER_BYTES) return Buffer.alloc(0);
        this.resync(`${this.head.length} bytes without a header's end`, 1);
        if (!this.head.length || this.head.indexOf(HEADER_END) < 0) return Buffer.alloc(0);
        continue;
      }
      const parsed = parseHeader(this.head.subarray(0, end).toString('latin1'));
      if ('problem' in parsed) {
        this.resync(parsed.problem, end + HEADER_END.length);
        continue;
      }
      const header = this.head.subarray(0, end + HEADER_END.length);
      const rest = this.head.subarray(end + HEADER_END.length);
      this.head = Buffer.alloc(0);
      this.want = parsed.length;
      this.frame = [header];
      this.bodyBytes = 0;
      this.tail = Buffer.alloc(0);
      return rest;
    }
  }

  /**
   * Drops the broken header at the start of `head` up to the next Content-Length header; without one,
   * at least its first `atLeast` bytes, keeping a tail that may begin the next header.
   */
  private resync(problem: string, atLeast: number): void {
    const next = nextHeader(this.head, 1);
    const keep = next >= 0 ? next : Math.max(atLeast, this.head.length - (CONTENT_LENGTH[0].length - 1));
    this.onDrop(`Dropped a malformed message on stdin (${problem}); reading on from the next Content-Length header.`);
    this.head = this.head.subarray(keep);
  }

  /** Consumes body bytes; returns what follows the body, or a broken body's embedded header and all after it. */
  private readBody(data: Buffer): Buffer {
    const piece = data.subarray(0, this.want - this.bodyBytes);
    const rest = data.subarray(piece.length);
    const window = Buffer.concat([this.tail, piece]);
    const inside = headerInside(window);
    if (inside >= 0) {
      this.onDrop(`Dropped a malformed message on stdin (its Content-Length ${this.want} reached into the next message); reading on from that message.`);
      this.want = -1;
      this.frame = [];
      return Buffer.concat([window.subarray(inside), rest]);
    }
    this.frame.push(piece);
    this.bodyBytes += piece.length;
    this.tail = window.subarray(Math.max(0, window.length - OVERLAP));
    if (this.bodyBytes === this.want) {
      // The whole frame in one push: the reader downstream never sees half of one.
      this.push(Buffer.concat(this.frame));
      this.want = -1;
      this.frame = [];
      this.tail = Buffer.alloc(0);
    }
    return rest;
  }
}
