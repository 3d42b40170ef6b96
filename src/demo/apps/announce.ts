// Tells the demo launcher (over the IPC channel, when there is one) that an app is listening, and exits cleanly on SIGTERM/SIGINT.

/** Reports readiness to the parent process and lets the IPC channel stop holding the event loop. */
export function announceReady(name: string, port: number): void {
  if (process.send) {
    process.send({ type: 'ready', name, port });
    process.channel?.unref();
  } else {
    console.log(`${name} listening on 127.0.0.1:${port}`);
  }
}

/** Runs `close` on SIGTERM/SIGINT, then exits 0 (forced after 3 s). */
export function onShutdown(close: () => Promise<void> | void): void {
  const stop = () => {
    setTimeout(() => process.exit(0), 3000).unref();
    Promise.resolve(close()).then(() => process.exit(0), () => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** The PORT env var as a number, or a clear failure. */
export function portFromEnv(): number {
  const port = Number(process.env.PORT);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`PORT must be set to a port number, got ${process.env.PORT}`);
  return port;
}
