// Keeps a copy of a streamed request body (up to a limit) so a retry can send it again.
import { PassThrough, type Readable } from 'node:stream';

export const RETRY_BUFFER_LIMIT_BYTES = 1024 * 1024;

export class RequestBodyBuffer {
  /** What the first attempt sends: the body as it streams in. */
  readonly first: PassThrough = new PassThrough();
  #chunks: Buffer[] | null = [];
  #size = 0;
  #complete = false;

  constructor(src: Readable, limit = RETRY_BUFFER_LIMIT_BYTES) {
    src.on('data', (c: Buffer) => {
      if (this.#chunks !== null) {
        this.#size += c.length;
        if (this.#size > limit) this.#chunks = null; // too big to keep: this request will not be retried
        else this.#chunks.push(c);
      }
      if (!this.first.write(c)) src.pause();
    });
    this.first.on('drain', () => src.resume());
    src.on('end', () => { this.#complete = true; this.first.end(); });
    src.on('error', (e) => this.first.destroy(e));
  }

  /** The whole body for another attempt, or null when it is not (yet) fully buffered. */
  replay(): Buffer | null {
    if (!this.#complete || this.#chunks === null) return null;
    return this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks, this.#size);
  }
}
