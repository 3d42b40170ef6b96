// A compiled UTC strftime subset for %START_TIME(fmt)%, including Envoy's %s and %Nf (fractional seconds) extensions.

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const DAYS_LONG = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTHS_LONG = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const p3 = (n: number): string => String(n).padStart(3, '0');

type Piece = string | ((d: Date, ms: number) => string);

function dayOfYear(d: Date): number {
  return Math.floor((d.getTime() - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
}

const SPEC: Readonly<Record<string, (d: Date, ms: number) => string>> = {
  Y: (d) => String(d.getUTCFullYear()),
  y: (d) => p2(d.getUTCFullYear() % 100),
  C: (d) => p2(Math.floor(d.getUTCFullYear() / 100)),
  m: (d) => p2(d.getUTCMonth() + 1),
  d: (d) => p2(d.getUTCDate()),
  e: (d) => String(d.getUTCDate()).padStart(2, ' '),
  H: (d) => p2(d.getUTCHours()),
  I: (d) => p2(d.getUTCHours() % 12 || 12),
  M: (d) => p2(d.getUTCMinutes()),
  S: (d) => p2(d.getUTCSeconds()),
  p: (d) => (d.getUTCHours() < 12 ? 'AM' : 'PM'),
  j: (d) => p3(dayOfYear(d)),
  a: (d) => DAYS[d.getUTCDay()],
  A: (d) => DAYS_LONG[d.getUTCDay()],
  u: (d) => String(d.getUTCDay() || 7),
  w: (d) => String(d.getUTCDay()),
  b: (d) => MONTHS[d.getUTCMonth()],
  h: (d) => MONTHS[d.getUTCMonth()],
  B: (d) => MONTHS_LONG[d.getUTCMonth()],
  F: (d) => `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`,
  T: (d) => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}`,
  R: (d) => `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}`,
  D: (d) => `${p2(d.getUTCMonth() + 1)}/${p2(d.getUTCDate())}/${p2(d.getUTCFullYear() % 100)}`,
  z: () => '+0000',
  Z: () => 'UTC',
  s: (_d, ms) => String(Math.floor(ms / 1000)),
  n: () => '\n',
  t: () => '\t',
  '%': () => '%',
};

/** Fractional seconds with `digits` digits (Envoy's %1f..%9f; %f is 9 digits). Millisecond precision, zero padded. */
function fraction(digits: number): (d: Date, ms: number) => string {
  return (_d, ms) => {
    const frac = p3(((ms % 1000) + 1000) % 1000) + '000000';
    return frac.slice(0, digits);
  };
}

/** Compiles a strftime format once; the result formats epoch milliseconds in UTC. */
export function compileStrftime(format: string): (epochMs: number) => string {
  const pieces: Piece[] = [];
  let lit = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== '%' || i + 1 >= format.length) { lit += c; continue; }
    let n = format[i + 1];
    let fn: ((d: Date, ms: number) => string) | undefined;
    if (n >= '1' && n <= '9' && format[i + 2] === 'f') { fn = fraction(Number(n)); i += 2; }
    else if (n === 'f') { fn = fraction(9); i += 1; }
    else if ((n === 'E' || n === 'O') && SPEC[format[i + 2]]) { n = format[i + 2]; fn = SPEC[n]; i += 2; }
    else if (SPEC[n]) { fn = SPEC[n]; i += 1; }
    if (!fn) { lit += c; continue; }
    if (lit) { pieces.push(lit); lit = ''; }
    pieces.push(fn);
  }
  if (lit) pieces.push(lit);
  return (ms) => {
    const d = new Date(ms);
    let out = '';
    for (const p of pieces) out += typeof p === 'string' ? p : p(d, ms);
    return out;
  };
}
