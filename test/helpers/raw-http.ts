// A raw-socket HTTP/1.1 client for tests that must control the exact bytes sent (pipelining, malformed requests, 100-continue).
import net from 'node:net';
import { withTimeout } from './wait.ts';

export interface RawResponse {
  status: number;
  reason: string;
  /** Lower-case header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

/** One TCP connection with an incremental HTTP/1.1 response parser. */
export class RawConnection {
  readonly socket: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private closed = false;
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.buf = Buffer.concat([this.buf, c]);
      this.wake();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<RawConnection> {
    const socket = net.connect({ port, host });
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      }),
      timeoutMs,
      `TCP connect to ${host}:${port}`,
    );
    return new RawConnection(socket);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /**
   * Reads the next response (1xx responses are returned too). `noBody` for responses to HEAD.
   * Body framing: chunked, content-length, none for 1xx/204/304, else until the peer closes.
   */
  readResponse(opts: { noBody?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    return withTimeout(this.parse(opts.noBody ?? false), opts.timeoutMs ?? 10_000, 'an HTTP response on the raw connection');
  }

  private async parse(noBody: boolean): Promise<RawResponse> {
    let headEnd: number;
    while ((headEnd = this.buf.indexOf('\r\n\r\n')) < 0) {
      if (this.ended) throw new Error(`connection closed before a response head (got ${JSON.stringify(this.buf.toString('latin1').slice(0, 200))})`);
      await this.changed();
    }
    const head = this.buf.subarray(0, headEnd).toString('latin1');
    this.buf = this.buf.subarray(headEnd + 4);
    const [statusLine, ...headerLines] = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const status = Number(m[1]);
    const headers: Record<string, string> = {};
    for (const line of headerLines) {
      const i = line.indexOf(':');
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    let body: Buffer = Buffer.alloc(0);
    if (noBody || status < 200 || status === 204 || status === 304) {
      // no body
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
      body = await this.readChunked();
    } else if (headers['content-length'] !== undefined) {
      body = await this.readExactly(Number(headers['content-length']));
    } else {
      while (!this.ended) await this.changed();
      body = this.buf;
      this.buf = Buffer.alloc(0);
    }
    return { status, reason: m[2] ?? '', headers, body };
  }

  private async readExactly(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error(`connection closed after ${this.buf.length} of ${n} body bytes`);
      await this.changed();
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return Buffer.from(out);
  }

  private async readLine(): Promise<string> {
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) < 0) {
      if (this.ended) throw new Error('connection closed inside a chunked body');
      await this.changed();
    }
    const line = this.buf.subarray(0, i).toString('latin1');
    this.buf = this.buf.subarray(i + 2);
    return line;
  }

  private async readChunked(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const size = parseInt((await this.readLine()).split(';')[0], 16);
      if (size === 0) {
        while ((await this.readLine()) !== '') {
          // trailers
        }
        return Buffer.concat(parts);
      }
      parts.push(await this.readExactly(size));
      await this.readLine();
    }
  }

  /** Resolves true once the peer closed (FIN or reset), false if still open at the deadline. */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    try {
      await withTimeout(
        (async () => {
          while (!this.ended) await this.changed();
        })(),
        timeoutMs,
        'the peer to close',
      );
      return true;
    } catch {
      return false;
    }
  }

  /** True when nothing more was received and the peer has not closed. */
  get isOpen(): boolean {
    return !this.ended && !this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
