/**
 * The CI-DL byte budget: how it is specified (CLI flag, studio setting), and how a spec becomes bytes.
 */
import type { MemoryProbe } from '../ports';

/** How much block memory a stage may hold, as a request names it: everything, a byte count, a share of the blocks, or what the device has. */
export type RequestBudgetSpec =
  | { readonly kind: 'unlimited' }
  | { readonly kind: 'bytes'; readonly bytes: number }
  | { readonly kind: 'fraction'; readonly of: number }
  | { readonly kind: 'auto'; readonly reserveBytes?: number };

/**
 * A request's budget, or what a whole-process memory limit leaves a stage (`process`, applied by a host: a device
 * profile, `--memory-limit`): the limit minus what the process holds when the stage starts and the stage's working
 * memory besides its blocks (cidl/memory-limit.ts), and no more than `cap` (a request's own budget) allows.
 */
export type BudgetSpec =
  | RequestBudgetSpec
  | { readonly kind: 'process'; readonly limitBytes: number; readonly cap?: RequestBudgetSpec };

/**
 * Default headroom kept free by `auto`: room for one block's activations and the runtime's scratch. Callers that
 * know their activation size (resolution, frames) should pass `reserveBytes` instead; 256 MiB is a floor that keeps
 * a small 192x192 job off the edge, not an estimate for large ones.
 */
export const DEFAULT_AUTO_RESERVE_BYTES = 256 * 1024 * 1024;

/**
 * A stage whose blocks cannot be scheduled within its byte budget (one block alone is larger than the budget).
 * `stage` names which ('denoise', 'text', 'decode'); the message says how much budget would fit.
 */
export class BudgetError extends Error {
  override readonly name = 'BudgetError';
  constructor(
    readonly stage: 'text' | 'denoise' | 'decode',
    readonly reason: string,
  ) {
    const what = stage === 'denoise' ? 'this job' : `the ${stage} stage`;
    super(`CI-DL: ${what} does not fit its memory budget: ${reason}`);
  }
}

/**
 * Turns a budget spec into bytes (null = unlimited). `fraction` is of the stage's total block bytes, rounded down;
 * `auto` is the probe's available bytes minus the reserve, never below 0 (the plan then says what does not fit).
 */
export async function resolveBudget(
  spec: BudgetSpec,
  context: {
    totalBlockBytes: number;
    probe?: MemoryProbe;
    /** `process` only: the stage's memory besides its blocks (activations, widened weights, hash copies). */
    workBytes?: number;
    /** `process` only: what the process holds now, when known (else the probe's footprint). */
    baseBytes?: number;
  },
): Promise<number | null> {
  switch (spec.kind) {
    case 'unlimited':
      return null;
    case 'bytes':
      if (!Number.isFinite(spec.bytes) || spec.bytes < 0)
        throw new Error(`invalid budget: ${spec.bytes} bytes`);
      return Math.floor(spec.bytes);
    case 'fraction':
      if (!Number.isFinite(spec.of) || spec.of <= 0 || spec.of > 1) {
        throw new Error(`invalid budget fraction ${spec.of}: expected a share in (0, 1] of the block bytes`);
      }
      return Math.floor(spec.of * context.totalBlockBytes);
    case 'auto': {
      if (context.probe === undefined)
        throw new Error(`budget 'auto' needs a memory probe, and this host has none`);
      const reserve = spec.reserveBytes ?? DEFAULT_AUTO_RESERVE_BYTES;
      if (!Number.isFinite(reserve) || reserve < 0)
        throw new Error(`invalid auto budget reserve: ${reserve} bytes`);
      const available = await context.probe.availableBytes();
      return Math.max(0, Math.floor(available - reserve));
    }
    case 'process': {
      if (!Number.isFinite(spec.limitBytes) || spec.limitBytes <= 0)
        throw new Error(`invalid memory limit: ${spec.limitBytes} bytes`);
      const base = context.baseBytes ?? (await context.probe?.footprintBytes());
      if (base === undefined)
        throw new Error(`a process memory limit needs a memory probe, and this host has none`);
      const left = Math.max(0, Math.floor(spec.limitBytes - base - (context.workBytes ?? 0)));
      const cap = spec.cap === undefined ? null : await resolveBudget(spec.cap, context);
      return cap === null ? left : Math.min(left, cap);
    }
  }
}

const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const EXPECTED =
  "expected 'all' (or 'unlimited'), 'auto' (or 'auto:<reserve size>'), a percentage like '50%', " +
  "or a size like '512MiB', '1.5GB' or '123456' (bytes)";

/** Parses a size: `3.3GB`, `512MiB`, `123456` (bytes); errors name `flag` and the text. */
export function parseByteSize(text: string, flag: string): number {
  const bytes = parseSize(
    text.trim(),
    text,
    `invalid ${flag} '${text}': expected a size like '3.3GB', '512MiB' or '123456' (bytes)`,
  );
  if (bytes <= 0) throw new Error(`invalid ${flag} '${text}': must be at least 1 byte`);
  return bytes;
}

function parseSize(
  text: string,
  original: string,
  expected = `invalid budget '${original}': ${EXPECTED}`,
): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(text);
  if (match === null) throw new Error(expected);
  const value = Number(match[1]);
  const unitText = (match[2] ?? '').toLowerCase();
  if (unitText === '') {
    if (!Number.isInteger(value))
      throw new Error(`invalid budget '${original}': a size without a unit is whole bytes`);
    return value;
  }
  const unit = UNIT_BYTES[unitText];
  if (unit === undefined) {
    throw new Error(
      `invalid budget '${original}': unknown unit '${match[2]}' (use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)`,
    );
  }
  return Math.floor(value * unit);
}

/** Parses a CLI/settings budget: `all`, `unlimited`, `auto`, `auto:512MiB`, `50%`, `512MiB`, `1.5GB`, `123456`. */
export function parseBudget(text: string): RequestBudgetSpec {
  const t = text.trim();
  const lower = t.toLowerCase();
  if (lower === 'all' || lower === 'unlimited') return { kind: 'unlimited' };
  if (lower === 'auto') return { kind: 'auto' };
  if (lower.startsWith('auto:')) {
    return { kind: 'auto', reserveBytes: parseSize(t.slice('auto:'.length).trim(), text) };
  }
  if (t.endsWith('%')) {
    const number = t.slice(0, -1).trim();
    const percent = /^(\d+(?:\.\d+)?|\.\d+)$/.test(number) ? Number(number) : Number.NaN;
    if (!(percent > 0 && percent <= 100)) {
      throw new Error(`invalid budget '${text}': a percentage must be in (0%, 100%] of the block bytes`);
    }
    return { kind: 'fraction', of: percent / 100 };
  }
  if (t === '') throw new Error(`invalid budget '${text}': ${EXPECTED}`);
  const bytes = parseSize(t, text);
  if (bytes <= 0) throw new Error(`invalid budget '${text}': a budget must be at least 1 byte`);
  return { kind: 'bytes', bytes };
}
