// docs/protocol.md states the numbers and lists the code has: its auth test vector recomputes with the device's
// code, its limits table, error table and message index are the ones shared/ enforces, and the messages it says may
// carry `id` are exactly those whose schema has one.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DEFAULT_PAIRING_LIMITS } from '../../../../shared/companion/pairing';
import { DEFAULT_RUN_LIMITS } from '../../../../shared/companion/server-ports';
import { computeAuthProof, type HmacSha256 } from '../../../../shared/protocol/auth';
import { ERROR_CODES, ERROR_RETRYABLE } from '../../../../shared/protocol/errors';
import {
  MAX_BINARY_FRAME_BYTES,
  MAX_BLOCKSET_CHUNK_BYTES,
  MAX_JSON_MESSAGE_BYTES,
  MAX_PROMPT_CHARS,
  PAIRING_CODE_DIGITS,
} from '../../../../shared/protocol/limits';
import { clientMessageSchemas } from '../../../../shared/protocol/messages';
import { CLIENT_MESSAGE_TYPES, DEVICE_MESSAGE_TYPES } from '../../../../shared/protocol/parse';
import { readProtocolDoc } from '../../../helpers/doc-client';

const doc = readProtocolDoc();
const hmac: HmacSha256 = async (key, message) => createHmac('sha256', key).update(message).digest();

/** The text of section `n` (from its `## n.` heading to the next `## `). */
function section(n: number): string {
  const start = doc.indexOf(`\n## ${n}. `);
  expect(start, `section ${n}`).toBeGreaterThan(0);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

/** The rows of the first markdown table in `text`, as arrays of trimmed cells (header and rule left out). */
function tableRows(text: string): string[][] {
  const lines = text.split('\n').filter((l) => l.startsWith('|'));
  return lines.slice(2).map((l) =>
    l
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((c) => c.trim()),
  );
}

/** The backticked names in `text`. */
const ticked = (text: string): string[] => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);

describe('docs/protocol.md agrees with shared/protocol', () => {
  it("the auth test vector's proofs are what the device computes", async () => {
    const example = /```\n(odsora-auth-v1 client\n[^`]*?)\n```/.exec(doc);
    expect(example, 'the M_client example').not.toBeNull();
    const [, deviceId, keyId, deviceNonce, clientNonce] = example![1]!.split('\n');
    const value = (name: string): string => {
      const m = new RegExp(`^${name}\\s+= ([0-9a-f]{64})$`, 'm').exec(doc);
      expect(m, `the test vector's ${name}`).not.toBeNull();
      return m![1]!;
    };
    const t = { deviceId: deviceId!, keyId: keyId!, deviceNonce: deviceNonce!, clientNonce: clientNonce! };
    expect(await computeAuthProof(hmac, value('key'), 'client', t)).toBe(value('mac'));
    expect(await computeAuthProof(hmac, value('key'), 'device', t)).toBe(value('deviceMac'));
  });

  it('the limits table has the limits the code enforces', () => {
    const rows = new Map(tableRows(section(10)).map(([name, value]) => [name!, value!]));
    const bytes = (name: string): number =>
      Number(/^([\d,]+)/.exec(rows.get(name) ?? '')![1]!.replace(/,/g, ''));
    expect(bytes('JSON text frame')).toBe(MAX_JSON_MESSAGE_BYTES);
    expect(bytes('binary frame')).toBe(MAX_BINARY_FRAME_BYTES);
    expect(bytes('block-set chunk payload')).toBe(MAX_BLOCKSET_CHUNK_BYTES);
    expect(bytes('prompt')).toBe(MAX_PROMPT_CHARS);
    expect(bytes('runs waiting behind the running one')).toBe(DEFAULT_RUN_LIMITS.maxQueuedRuns);
    const l = DEFAULT_PAIRING_LIMITS;
    expect(rows.get('pairing code')).toBe(
      `${PAIRING_CODE_DIGITS} digits, ${l.codeTtlMs / 1000} s, ${l.maxAttempts} tries then lockout ` +
        `${l.baseLockoutMs / 1000} s doubling to ${l.maxLockoutMs / 3_600_000} h`,
    );
  });

  it('the error table lists every code with its retryable flag', () => {
    const rows = tableRows(section(9)).map(([code, retryable]) => [ticked(code!)[0], retryable === 'yes']);
    expect(Object.fromEntries(rows)).toEqual(ERROR_RETRYABLE);
    expect(rows.map(([code]) => code)).toEqual([...ERROR_CODES]);
  });

  it('the message index lists every message type of each direction', () => {
    const index = section(11);
    const client = /Client → device: ([^]*?)\n\n/.exec(index)![1]!;
    const device = /Device → client: ([^]*?)(\n\n|$)/.exec(index)![1]!;
    expect(ticked(client).sort()).toEqual([...CLIENT_MESSAGE_TYPES].sort());
    expect(ticked(device).sort()).toEqual([...DEVICE_MESSAGE_TYPES].sort());
  });

  it('the client messages the doc says take no id are exactly those whose schema has none', () => {
    const rule = /Every client message except ([^]*?) may carry `id`/.exec(section(1));
    expect(rule, 'section 1 says which messages may carry id').not.toBeNull();
    const withoutId = clientMessageSchemas.filter((s) => !('id' in s.shape)).map((s) => s.shape.type.value);
    expect(ticked(rule![1]!).sort()).toEqual(withoutId.sort());
  });
});
