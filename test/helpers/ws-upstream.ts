// A WebSocket echo upstream (ws package) on 127.0.0.1 port 0 that greets, echoes, and closes on request.
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

export interface WsUpstream {
  readonly port: number;
  /** Close frames the server received from clients: code and reason. */
  readonly closes: { code: number; reason: string }[];
  /** Request headers of each upgrade request. */
  readonly upgrades: Record<string, string | string[] | undefined>[];
  /** Emits 'close' ({code, reason}) when a client connection closes. */
  readonly events: EventEmitter;
  close(): Promise<void>;
}

/**
 * On connect the server sends "hello from <name>". Every text message is echoed back as "echo:<text>";
 * binary messages are echoed unchanged. The text "close <code> <reason>" makes the server close with that code.
 */
export async function startWsEcho(name: string): Promise<WsUpstream> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const closes: { code: number; reason: string }[] = [];
  const upgrades: Record<string, string | string[] | undefined>[] = [];
  const events = new EventEmitter();
  wss.on('connection', (ws: WebSocket, req) => {
    upgrades.push(req.headers);
    ws.send(`hello from ${name}`);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        ws.send(data, { binary: true });
        return;
      }
      const text = data.toString();
      const m = /^close (\d+) (.*)$/.exec(text);
      if (m) ws.close(Number(m[1]), m[2]);
      else ws.send(`echo:${text}`);
    });
    ws.on('close', (code, reason) => {
      const c = { code, reason: reason.toString() };
      closes.push(c);
      events.emit('close', c);
    });
    ws.on('error', () => undefined);
  });
  return {
    port: (wss.address() as net.AddressInfo).port,
    closes,
    upgrades,
    events,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}
