// Raw TCP upstreams on 127.0.0.1 port 0: an echo server, one that resets connections, one that answers garbage, and a closed port.
import { EventEmitter } from 'node:events';
import net from 'node:net';

export interface SocketUpstream {
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  /** Emits 'connection' on accept and 'request' when an HTTP request head was read (reset/garbage servers). */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

function serve(onConnection: (socket: net.Socket, events: EventEmitter) => void): Promise<SocketUpstream> {
  const sockets = new Set<net.Socket>();
  const events = new EventEmitter();
  let count = 0;
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    count += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    events.emit('connection', socket);
    onConnection(socket, events);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: (server.address() as net.AddressInfo).port,
        connections: () => count,
        events,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            for (const s of sockets) s.destroy();
          }),
      });
    });
  });
}

/**
 * TCP echo: echoes every byte as it arrives. When the client half-closes, it writes
 * "<<EOF n>>" (n = bytes received) and then closes its own side.
 */
export function startTcpEcho(): Promise<SocketUpstream> {
  return serve((socket) => {
    let n = 0;
    socket.on('data', (c: Buffer) => {
      n += c.length;
      socket.write(c);
    });
    socket.on('end', () => {
      socket.end(`<<EOF ${n}>>`);
    });
  });
}

/** Calls `onHead` once a full HTTP request head ("\r\n\r\n") has been read on the socket. */
function onRequestHead(socket: net.Socket, onHead: () => void): void {
  let buf = '';
  let fired = false;
  socket.on('data', (c: Buffer) => {
    if (fired) return;
    buf += c.toString('latin1');
    if (buf.includes('\r\n\r\n')) {
      fired = true;
      onHead();
    }
  });
}

/** Accepts, reads the request head, then resets the connection (TCP RST) without answering. */
export function startResetServer(): Promise<SocketUpstream> {
  return serve((socket, events) => {
    onRequestHead(socket, () => {
      events.emit('request');
      socket.resetAndDestroy();
    });
  });
}

/** Accepts, reads the request head, then writes bytes that are not HTTP and closes. */
export function startGarbageServer(): Promise<SocketUpstream> {
  return serve((socket, events) => {
    onRequestHead(socket, () => {
      events.emit('request');
      socket.end('THIS IS NOT HTTP AT ALL\r\n\u0000\u0001\u0002garbage\r\n\r\n');
    });
  });
}

/** A port on 127.0.0.1 that was just free and is now closed (connections to it are refused). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
