// Wraps a socket whose first bytes were already read so a TLS layer or codec sees them again (Node has no MSG_PEEK).
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

/**
 * `first`: bytes to read before the socket's own; `ended`: the socket already emitted 'end' (the client half-closed),
 * so the wrapper's readable side ends right after `first` while writes still go to the socket.
 */
export function replaySocket(socket: Socket, first: Buffer | null, ended = false): Duplex {
  const d = new Duplex({
    read() { socket.resume(); },
    write(chunk: Buffer, _enc, cb) { socket.write(chunk, cb); },
    final(cb) { socket.end(); cb(); },
    destroy(err, cb) { socket.destroy(err ?? undefined); cb(err); },
  });
  if (first !== null) d.push(first);
  if (ended) d.push(null);
  else {
    socket.on('data', (c: Buffer) => { if (!d.push(c)) socket.pause(); });
    socket.on('end', () => d.push(null));
  }
  socket.on('error', (e) => d.destroy(e));
  socket.on('close', () => d.destroy());
  return d;
}
