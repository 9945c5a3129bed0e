import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../../../../shared/engine/checkpoint/errors';
import { ZipReader } from '../../../../../shared/engine/checkpoint/zip-reader';
import { memoryReader, sparseReader } from '../../../../helpers/memory-fs';
import { craftZip, craftZipParts } from './craft';

const FILE = 'pytorch_model.bin';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

async function errorOf(p: Promise<unknown>): Promise<CheckpointError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(CheckpointError);
  expect((e as CheckpointError).file).toBe(FILE);
  return e as CheckpointError;
}

const open = (bytes: Uint8Array): Promise<ZipReader> => ZipReader.open(memoryReader(bytes, FILE));

describe('reading a zip archive', () => {
  it('lists stored entries and reads their data in place, whatever the local extra field', async () => {
    const bytes = craftZip(
      [
        { name: 'archive/data.pkl', data: enc('pickle bytes') },
        { name: 'archive/data/0', data: enc('0123456789'), localExtra: new Uint8Array(37).fill(0x5a) },
      ],
      { comment: 'a trailing comment' },
    );
    const zip = await open(bytes);
    expect(zip.entries().map((e) => [e.name, e.method, e.uncompressedSize])).toEqual([
      ['archive/data.pkl', 0, 12],
      ['archive/data/0', 0, 10],
    ]);
    const rec = zip.entry('archive/data/0')!;
    expect(dec(await zip.read(rec, 3, 4))).toBe('3456');
    expect(dec(await zip.readAll(zip.entry('archive/data.pkl')!, 100))).toBe('pickle bytes');
    const start = await zip.dataOffset(rec);
    expect(dec(bytes.subarray(start, start + 10))).toBe('0123456789');
  });

  it('finds the end records behind a long archive comment', async () => {
    const zip = await open(
      craftZip([{ name: 'a/data/0', data: enc('abc') }], { zip64: true, comment: 'c'.repeat(5000) }),
    );
    expect(dec(await zip.readAll(zip.entry('a/data/0')!, 10))).toBe('abc');
  });

  it('reads ZIP64 end records and extra fields', async () => {
    const zip = await open(craftZip([{ name: 'a/data/0', data: enc('abc') }], { zip64: true }));
    const e = zip.entry('a/data/0')!;
    expect([e.compressedSize, e.uncompressedSize, e.localHeaderOffset]).toEqual([3, 3, 0]);
    expect(dec(await zip.readAll(e, 10))).toBe('abc');
  });

  it('reads an entry whose local header lies past 4 GiB (ZIP64 offsets)', async () => {
    const gap = 5 * 2 ** 30;
    const { size, segments } = craftZipParts(
      [
        { name: 'big/data.pkl', data: enc('x') },
        { name: 'big/data/0', data: enc('tail'), gap },
      ],
      { zip64: true },
    );
    const zip = await ZipReader.open(sparseReader(FILE, size, segments));
    const e = zip.entry('big/data/0')!;
    expect(e.localHeaderOffset).toBeGreaterThan(2 ** 32);
    expect(dec(await zip.readAll(e, 10))).toBe('tail');
  });

  it('refuses a truncated file, naming it', async () => {
    const bytes = craftZip([{ name: 'archive/data.pkl', data: enc('pickle') }]);
    const e = await errorOf(open(bytes.subarray(0, bytes.length - 5)));
    expect(e.message).toMatch(
      /^pytorch_model\.bin: is truncated or not a zip archive: no end-of-central-directory/,
    );
    expect((await errorOf(open(new Uint8Array(3)))).message).toContain('not a zip archive');
  });

  it('refuses a central directory that runs past the end records', async () => {
    const bytes = craftZip([{ name: 'archive/data.pkl', data: enc('pickle') }]);
    const eocd = bytes.length - 22;
    new DataView(bytes.buffer).setUint32(eocd + 12, 500, true); // central directory size past the end
    expect((await errorOf(open(bytes))).message).toContain(
      'central directory (byte 52, 500 bytes) runs past its end records at byte 114: the file is truncated or corrupt (136 bytes)',
    );
  });

  it('refuses a ZIP64 locator that points nowhere', async () => {
    const bytes = craftZip([{ name: 'a', data: enc('abc') }], { zip64: true });
    new DataView(bytes.buffer).setBigUint64(bytes.length - 22 - 20 + 8, 1n << 40n, true);
    expect((await errorOf(open(bytes))).message).toContain('ZIP64 locator points at byte 1099511627776');
  });

  it('refuses bad central directory signatures and counts', async () => {
    const bytes = craftZip([{ name: 'a', data: enc('abc') }]);
    const cd = 30 + 1 + 3;
    bytes[cd] = 0x58;
    expect((await errorOf(open(bytes))).message).toContain(`central directory entry 0 has a bad signature`);
    const counted = craftZip([{ name: 'a', data: enc('abc') }]);
    new DataView(counted.buffer).setUint16(counted.length - 22 + 10, 9, true);
    expect((await errorOf(open(counted))).message).toContain('declares 9 entries');
  });

  it('refuses a saturated size without a ZIP64 extra field', async () => {
    const bytes = craftZip([{ name: 'a/data/0', data: enc('abc') }], { zip64: true, omitZip64Extra: true });
    expect((await errorOf(open(bytes))).message).toContain('entry "a/data/0" needs a ZIP64 extra field');
  });

  it('lists a compressed entry but refuses to read it', async () => {
    const zip = await open(craftZip([{ name: 'archive/data/0', data: enc('deflated?'), method: 8 }]));
    const e = zip.entry('archive/data/0')!;
    expect(e.method).toBe(8);
    const err = await errorOf(zip.read(e, 0, 4));
    expect(err.message).toBe(
      'pytorch_model.bin: entry "archive/data/0" is compressed (method 8, deflate); only stored entries can be read in place (torch.save stores every record)',
    );
  });

  it('refuses a bad local header signature and a local name that differs', async () => {
    const bad = await open(
      craftZip([
        { name: 'x', data: enc('abc') },
        { name: 'archive/data/1', data: enc('abc'), localSignature: 0x08074b50 },
      ]),
    );
    const e1 = await errorOf(bad.read(bad.entry('archive/data/1')!, 0, 3));
    expect(e1.message).toContain(
      'entry "archive/data/1" has a bad local header signature 0x08074b50 at byte 34',
    );
    const renamed = await open(
      craftZip([{ name: 'archive/data/0', data: enc('abc'), localName: 'archive/data/9' }]),
    );
    const e2 = await errorOf(renamed.readAll(renamed.entry('archive/data/0')!, 10));
    expect(e2.message).toContain(
      'local header at byte 0 names "archive/data/9", the central directory "archive/data/0"',
    );
  });

  it('refuses data that runs into the central directory and reads outside an entry', async () => {
    const bytes = craftZip([{ name: 'a', data: enc('abc') }]);
    new DataView(bytes.buffer).setUint16(28, 200, true); // local extra length now swallows the directory
    const zip = await open(bytes);
    expect((await errorOf(zip.readAll(zip.entry('a')!, 10))).message).toContain(
      'entry "a" data (byte 231, 3 bytes) runs past',
    );
    const ok = await open(craftZip([{ name: 'a', data: enc('abc') }]));
    expect((await errorOf(ok.read(ok.entry('a')!, 2, 2))).message).toContain(
      'read of 2 bytes at 2 is outside entry "a" (3 bytes)',
    );
    expect((await errorOf(ok.readAll(ok.entry('a')!, 2))).message).toContain('over the 2-byte limit');
  });

  it('refuses a local header offset past the central directory and duplicate names', async () => {
    const bytes = craftZip([{ name: 'a', data: enc('abc') }]);
    new DataView(bytes.buffer).setUint32(34 + 42, 1000, true);
    expect((await errorOf(open(bytes))).message).toContain(
      'entry "a" has its local header at byte 1000, past the central directory',
    );
    const twice = craftZip([
      { name: 'a', data: enc('1') },
      { name: 'a', data: enc('2') },
    ]);
    expect((await errorOf(open(twice))).message).toContain('lists entry "a" twice');
  });

  it('names the file when the reader itself fails', async () => {
    const bytes = craftZip([{ name: 'a', data: enc('abc') }]);
    const base = memoryReader(bytes, FILE);
    const zip = await ZipReader.open({
      ...base,
      read: (o, n) => (n === 31 ? Promise.reject(new Error('EIO')) : base.read(o, n)),
    });
    expect((await errorOf(zip.readAll(zip.entry('a')!, 10))).message).toBe(
      'pytorch_model.bin: could not read local header of entry "a" (EIO)',
    );
  });
});
