/**
 * The graph builder's static shapes (item A of issue 17): every graph kind still serializes its nodes, inputs,
 * outputs and initializers byte for byte as before value_info was added (hashes recorded from the builders before
 * the change, in graph-bytes.golden.json), and every node output now has its shape in value_info.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../../../../shared/engine/onnx/graph-builder';
import { readModel } from '../../../../../shared/engine/onnx/proto-reader';
import { depth1Configs, everyGraphKind, nanoConfigs } from '../../../../helpers/graph-kinds';

/** The model with GraphProto field 13 (value_info) removed, re-encoded exactly as the writer lays it out. */
function withoutValueInfo(model: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  const varint = (v: number): Uint8Array => {
    const out: number[] = [];
    while (v >= 0x80) {
      out.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(v);
    return Uint8Array.from(out);
  };
  // Walks one message; `keep(field)` decides per field; `map` rewrites a length-delimited field's payload.
  const walk = (
    buf: Uint8Array,
    keep: (f: number) => boolean,
    map?: (f: number, b: Uint8Array) => Uint8Array,
  ) => {
    const out: Uint8Array[] = [];
    let i = 0;
    const rv = (): number => {
      let v = 0;
      let mul = 1;
      for (;;) {
        const b = buf[i++] as number;
        v += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) return v;
      }
    };
    while (i < buf.length) {
      const start = i;
      const tag = rv();
      const f = Math.floor(tag / 8);
      const w = tag & 7;
      let payload: Uint8Array | null = null;
      if (w === 0) rv();
      else if (w === 5) i += 4;
      else if (w === 1) i += 8;
      else {
        const n = rv();
        payload = buf.subarray(i, i + n);
        i += n;
      }
      if (!keep(f)) continue;
      if (payload && map) {
        const p = map(f, payload);
        out.push(varint(tag), varint(p.length), p);
      } else out.push(buf.subarray(start, i));
    }
    const total = out.reduce((s, b) => s + b.length, 0);
    const res = new Uint8Array(total);
    let o = 0;
    for (const b of out) {
      res.set(b, o);
      o += b.length;
    }
    return res;
  };
  parts.push(
    walk(
      model,
      () => true,
      (f, b) => (f === 7 ? walk(b, (g) => g !== 13) : b),
    ),
  );
  return parts[0] as Uint8Array;
}

const golden = JSON.parse(readFileSync(join(__dirname, 'graph-bytes.golden.json'), 'utf8')) as Record<
  string,
  string
>;
const sets = [
  ['nano', nanoConfigs(), { frames: 4, height: 8, width: 8, captionLength: 16 }],
  ['depth1', depth1Configs(), { frames: 3, height: 4, width: 6, captionLength: 300 }],
] as const;

describe('graph builder: static shapes without changing the graphs', () => {
  for (const [tag, configs, shape] of sets)
    it(`${tag}: every graph kind is byte-identical to before apart from value_info, which covers every node output`, () => {
      const graphs = everyGraphKind(configs, shape);
      expect(graphs.length).toBeGreaterThan(20);
      for (const g of graphs) {
        const hash = createHash('sha256').update(withoutValueInfo(g.bytes)).digest('hex').slice(0, 16);
        expect(`${tag}/${g.name} ${hash}`).toBe(`${tag}/${g.name} ${golden[`${tag}/${g.name}`]}`);
        const m = readModel(g.bytes).graph;
        const typed = new Map([...m.inputs, ...m.outputs, ...m.valueInfo].map((v) => [v.name, v]));
        for (const n of m.nodes)
          for (const o of n.outputs) {
            const v = typed.get(o);
            expect(v?.dims, `${g.name}: ${n.name} output ${o}`).not.toBeNull();
            expect(v?.dims?.every((d) => typeof d === 'number' && d >= 0)).toBe(true);
          }
      }
    });
});

describe('graph builder: shape errors at build time', () => {
  it('names the graph, the node and the shapes when a MatMul does not fit', () => {
    const g = new GraphBuilder('bad_matmul');
    const a = g.input('a', [2, 3]);
    const b = g.input('b', [4, 5]);
    expect(() => g.matmul(a, b)).toThrow(
      /graph bad_matmul: node MatMul_0 \(MatMul\) on a: float32 \[2, 3\], b: float32 \[4, 5\]: inner dims differ/,
    );
  });

  it('rejects a reshape to a different element count and an output declared with the wrong dims', () => {
    const g = new GraphBuilder('bad_reshape');
    const x = g.input('x', [2, 3]);
    expect(() => g.reshape(x, [4, 2])).toThrow(
      /node Reshape_0 \(Reshape\).*cannot reshape \[2, 3\] \(6 elements\) to \[4, 2\]/,
    );
    const y = g.reshape(x, [3, 2]);
    expect(() => g.output(y, 'y', [2, 3])).toThrow(
      /output 'y' is declared float32 \[2, 3\] but '.*' is float32 \[3, 2\]/,
    );
  });

  it('needs output shapes for an op without a rule, and broadcasts like numpy', () => {
    const g = new GraphBuilder('custom');
    const x = g.input('x', [2, 1, 4]);
    expect(() => g.node('Hardmax', [x])).toThrow(/no shape rule for op Hardmax: pass its output shapes/);
    const e = g.node('Hardmax', [x], undefined, { type: 'float32', dims: [2, 1, 4] });
    expect(g.shape(g.add(e, g.input('y', [3, 1]))).dims).toEqual([2, 3, 4]);
    expect(() => g.add(x, g.input('z', [3, 5]))).toThrow(/shapes \[2, 1, 4\] and \[3, 5\] do not broadcast/);
  });
});
