// Deterministic 53-bit string hashing and combining, shared by ring-hash load balancing and request hash policies.

const TWO_32 = 4294967296;
const TWO_52 = 4503599627370496;
const TWO_53 = 9007199254740992;

/** cyrb53: a fast, well-mixed, deterministic hash of a string to an integer in [0, 2^53). */
export function hash53(str: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return TWO_32 * (0x1fffff & h2) + (h1 >>> 0);
}

/** Bitwise XOR of two integers in [0, 2^53). */
export function xor53(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) & 0x1fffff;
  const lo = ((a >>> 0) ^ (b >>> 0)) >>> 0;
  return hi * TWO_32 + lo;
}

/** Rotates a 53-bit integer left by one bit. */
export function rotl53(a: number): number {
  const top = a >= TWO_52 ? 1 : 0;
  return ((a * 2) % TWO_53) + top;
}

/** Envoy's way of folding one more policy hash into an accumulated one: rotate left by one, then XOR. */
export function combineHash(acc: number | null, next: number): number {
  return acc === null ? next : xor53(rotl53(acc), next);
}

/** A uniformly random integer in [0, 2^53). */
export function randomHash(): number {
  return Math.floor(Math.random() * TWO_53);
}
