/**
 * The protocol fuzzer's frames (protocol-fuzz.ts): a deterministic generator of random, mutated and oversized
 * text and binary frames, each one the protocol's own parsers reject.
 */
import { decodeBinaryFrame, encodeBinaryFrame } from '../../shared/protocol/binary-frame';
import type { ClientMessage } from '../../shared/protocol/messages';
import { decodeClientText } from '../../shared/protocol/parse';
import { clientMessages } from '../../shared/protocol/samples';
import { mulberry32 } from '../../shared/seeded-random';

// ---------------------------------------------------------------------------------------------------------------
// Deterministic generator

let rand = mulberry32(0x0d50a);
/** A generator integer in [0, n). */
export const fuzzInt = (n: number): number => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[fuzzInt(xs.length)]!;
const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[fuzzInt(16)]).join('');

/** Restarts the generator at `seed` (the same seed gives the same frames). */
export function seedFuzz(seed: number): void {
  rand = mulberry32(seed);
}

/** Fresh copies of the valid client messages (shared/protocol/samples.ts) that the fuzzer damages. */
const templates = (): Record<string, unknown>[] =>
  structuredClone(clientMessages) as unknown as Record<string, unknown>[];

/** A fresh copy of the first valid client message of `type`. */
function template(type: ClientMessage['type']): Record<string, unknown> {
  const found = templates().find((m) => m['type'] === type);
  if (found === undefined) throw new Error(`shared/protocol/samples.ts has no ${type} message`);
  return found;
}

const wrongValues = (): unknown[] => [
  null,
  true,
  -1,
  0.5,
  1e300,
  -0,
  Number.MAX_SAFE_INTEGER + 2,
  '',
  'x'.repeat(1 + fuzzInt(300)),
  '\ud800',
  [],
  [1, 'a', null],
  {},
  { type: 'ping' },
  hex(64).toUpperCase(),
  '../../etc/passwd',
];

/** Every path to a value inside `v`. */
function paths(
  v: unknown,
  prefix: (string | number)[] = [],
  out: (string | number)[][] = [],
): (string | number)[][] {
  if (v !== null && typeof v === 'object') {
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const p = [...prefix, Array.isArray(v) ? Number(k) : k];
      out.push(p);
      paths(child, p, out);
    }
  }
  return out;
}

function setPath(
  root: Record<string, unknown>,
  path: (string | number)[],
  value: unknown,
  remove = false,
): void {
  let o = root as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (remove) delete o[last];
  else o[last] = value;
}

/** One fuzz frame: what kind of damage, and the text or binary data sent. */
export type FuzzFrame = { kind: string; data: string | Uint8Array };

function mutatedText(): FuzzFrame {
  const base = pick(templates());
  switch (fuzzInt(12)) {
    case 0:
    case 1:
    case 2: {
      const ps = paths(base);
      const p = pick(ps);
      setPath(base, p, pick(wrongValues()));
      return { kind: 'wrong-type', data: JSON.stringify(base) };
    }
    case 3: {
      const ps = paths(base).filter((p) => p.length > 0);
      setPath(base, pick(ps), undefined, true);
      return { kind: 'missing-field', data: JSON.stringify(base) };
    }
    case 4: {
      // The top level or any nested object gets a key the schema does not have (objects are strict).
      const objects: Record<string, unknown>[] = [base];
      const walk = (v: unknown): void => {
        if (v === null || typeof v !== 'object') return;
        if (!Array.isArray(v)) objects.push(v as Record<string, unknown>);
        for (const c of Object.values(v as Record<string, unknown>)) walk(c);
      };
      for (const c of Object.values(base)) walk(c);
      pick(objects)[`extra${fuzzInt(100)}`] = pick(wrongValues());
      return { kind: 'extra-key', data: JSON.stringify(base) };
    }
    case 5:
      base['type'] = pick([
        '',
        'hello2',
        'run.start ',
        'RUN.START',
        'ping.pong',
        'x'.repeat(500),
        `t${fuzzInt(1e9)}`,
      ]);
      return { kind: 'unknown-type', data: JSON.stringify(base) };
    case 6: {
      const s = JSON.stringify(base);
      return { kind: 'truncated-json', data: s.slice(0, fuzzInt(s.length)) };
    }
    case 7: {
      const s = JSON.stringify(base).split('');
      for (let i = 0; i < 1 + fuzzInt(4); i++) s[fuzzInt(s.length)] = String.fromCharCode(fuzzInt(0x250));
      return { kind: 'flipped-json', data: s.join('') };
    }
    case 8:
      return {
        kind: 'garbage',
        data: Array.from({ length: fuzzInt(200) }, () => String.fromCharCode(fuzzInt(0xffff))).join(''),
      };
    case 9:
      return {
        kind: 'non-object',
        data: pick([
          '1',
          '"hello"',
          'null',
          'true',
          '[]',
          '[{"type":"ping","nonce":1}]',
          '{}',
          '-0',
          '1e999',
        ]),
      };
    case 10: {
      const depth = 100 + fuzzInt(3000);
      return { kind: 'deep-nesting', data: '['.repeat(depth) + ']'.repeat(depth) };
    }
    default: {
      // Large but bounded: over the schema's limits, below the 1 MiB frame limit.
      const which = fuzzInt(4);
      if (which === 0)
        return {
          kind: 'huge-field',
          data: JSON.stringify({
            ...template('run.start'),
            params: { prompt: 'p'.repeat(4001 + fuzzInt(200_000)), seed: 1 },
          }),
        };
      if (which === 1)
        return {
          kind: 'huge-field',
          data: JSON.stringify({ ...template('hello'), clientName: 'n'.repeat(129 + fuzzInt(100_000)) }),
        };
      if (which === 2) {
        const files = Array.from({ length: 4097 }, (_, i) => ({
          path: `f${i}`,
          bytes: 1,
          sha256: 'a'.repeat(64),
        }));
        return { kind: 'huge-array', data: JSON.stringify({ ...template('blockset.offer'), files }) };
      }
      return {
        kind: 'huge-field',
        data: JSON.stringify({ type: 'ping', nonce: 1, pad: 'z'.repeat(fuzzInt(500_000)) }),
      };
    }
  }
}

function oversizeText(): FuzzFrame {
  return {
    kind: 'over-1MiB',
    data: JSON.stringify({ type: 'ping', nonce: 1, pad: 'x'.repeat(1024 * 1024 + fuzzInt(4096)) }),
  };
}

function mutatedBinary(): FuzzFrame {
  const valid = encodeBinaryFrame({
    kind: 'image-rgb8',
    purpose: 'preview',
    streamId: 'r-1',
    seq: 1,
    index: 0,
    dims: [2, 3, 3],
    payload: new Uint8Array(18),
  });
  switch (fuzzInt(7)) {
    case 0:
      return { kind: 'bin-truncated-header', data: valid.slice(0, fuzzInt(40)) };
    case 1:
      return { kind: 'bin-truncated-payload', data: valid.slice(0, 40 + fuzzInt(valid.length - 40)) };
    case 2: {
      const b = new Uint8Array(valid);
      for (let i = 0; i < 1 + fuzzInt(3); i++) b[fuzzInt(40)] = fuzzInt(256);
      return { kind: 'bin-flipped-header', data: b };
    }
    case 3: {
      const b = new Uint8Array(valid);
      const k = fuzzInt(4);
      b[k] = (b[k] ?? 0) ^ 0xff;
      return { kind: 'bin-bad-magic', data: b };
    }
    case 4:
      return { kind: 'bin-random', data: Uint8Array.from({ length: fuzzInt(256) }, () => fuzzInt(256)) };
    case 5: {
      const b = new Uint8Array(valid);
      new DataView(b.buffer).setUint32(16, 0xffffffff, true); // a payload far past the frame
      return { kind: 'bin-huge-length', data: b };
    }
    default: {
      const b = new Uint8Array(valid.length + 1 + fuzzInt(16));
      b.set(valid);
      return { kind: 'bin-trailing', data: b };
    }
  }
}

/**
 * The `i`-th frame: every 997th an over-1 MiB text frame, else a mutated text (3 in 4) or binary frame, always one
 * the protocol's own parsers reject (so each must be answered by exactly one error, or a clean close).
 */
export function makeFuzzFrame(i: number): FuzzFrame {
  if (i % 997 === 0) return oversizeText();
  for (;;) {
    const f = fuzzInt(4) === 0 ? mutatedBinary() : mutatedText();
    // Only frames the protocol's own parsers reject: each must get exactly one error.
    if (typeof f.data === 'string' && decodeClientText(f.data).ok) continue;
    if (typeof f.data !== 'string' && decodeBinaryFrame(f.data).ok) continue;
    return f;
  }
}
