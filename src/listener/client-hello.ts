// Reads SNI and ALPN from a TLS ClientHello without terminating TLS (what Envoy's tls_inspector does).

export interface ClientHelloInfo {
  readonly serverName: string | null;
  readonly alpn: readonly string[];
}

/** Bytes needed before the first TLS record is complete, or 0 when `buf` already holds it. -1: not a TLS handshake. */
export function missingClientHelloBytes(buf: Buffer): number {
  if (buf.length < 1) return 1;
  if (buf[0] !== 0x16) return -1;
  if (buf.length < 5) return 5 - buf.length;
  const len = buf.readUInt16BE(3);
  return Math.max(0, 5 + len - buf.length);
}

/** Parses the ClientHello in the first record; returns null when it is malformed. */
export function parseClientHello(buf: Buffer): ClientHelloInfo | null {
  try {
    if (buf[0] !== 0x16 || buf.length < 9) return null;
    const recordEnd = Math.min(buf.length, 5 + buf.readUInt16BE(3));
    let p = 5;
    if (buf[p] !== 0x01) return null; // handshake type client_hello
    p += 4; // type + 24-bit length
    p += 2 + 32; // client version + random
    p += 1 + buf[p]; // session id
    p += 2 + buf.readUInt16BE(p); // cipher suites
    p += 1 + buf[p]; // compression methods
    if (p + 2 > recordEnd) return { serverName: null, alpn: [] };
    const extEnd = Math.min(recordEnd, p + 2 + buf.readUInt16BE(p));
    p += 2;
    let serverName: string | null = null;
    const alpn: string[] = [];
    while (p + 4 <= extEnd) {
      const type = buf.readUInt16BE(p);
      const len = buf.readUInt16BE(p + 2);
      const body = p + 4;
      if (type === 0x0000 && len >= 5) {
        // server_name_list: u16 list length, then (u8 type, u16 len, name)
        let q = body + 2;
        while (q + 3 <= body + len) {
          const nameType = buf[q];
          const nameLen = buf.readUInt16BE(q + 1);
          if (nameType === 0) { serverName = buf.toString('ascii', q + 3, q + 3 + nameLen).toLowerCase(); break; }
          q += 3 + nameLen;
        }
      } else if (type === 0x0010 && len >= 2) {
        let q = body + 2;
        while (q < body + len) {
          const l = buf[q];
          alpn.push(buf.toString('ascii', q + 1, q + 1 + l));
          q += 1 + l;
        }
      }
      p = body + len;
    }
    return { serverName, alpn };
  } catch {
    return null;
  }
}
