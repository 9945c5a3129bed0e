// Independent validation of our ONNX writer (issue 17 item 3): every graph kind, for the nano model and the
// depth-cut full-size preset's configs, passes ONNX's own checker (`onnx.checker.check_model(full_check=True)`)
// and strict shape inference, and the shapes ONNX infers (with our value_info removed) equal ours for every value.
// Uses Debian's python3-onnx (`.ci/run` installs it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { depth1Configs, everyGraphKind, nanoConfigs } from '../../helpers/graph-kinds';

const PY = '/usr/bin/python3';
const hasOnnx = spawnSync(PY, ['-c', 'import onnx'], { stdio: 'ignore' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'odsora-onnx-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// For each file: full check, then strict inference on a copy without value_info; compare every node output.
const CHECK = `
import json, sys, onnx
from onnx import shape_inference
out = []
def shape_of(vi):
    t = vi.type.tensor_type
    return [t.elem_type, [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim] if t.HasField("shape") else None]
for path in sys.argv[1:]:
    res = {"file": path, "error": None, "mismatches": [], "values": 0}
    try:
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        ours = {vi.name: shape_of(vi) for vi in list(m.graph.value_info) + list(m.graph.output)}
        del m.graph.value_info[:]
        inferred = shape_inference.infer_shapes(m, check_type=True, strict_mode=True)
        theirs = {vi.name: shape_of(vi) for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
        for node in m.graph.node:
            for o in node.output:
                res["values"] += 1
                if ours.get(o) != theirs.get(o):
                    res["mismatches"].append([node.name, o, ours.get(o), theirs.get(o)])
    except Exception as e:
        res["error"] = f"{type(e).__name__}: {e}"
    out.append(res)
print(json.dumps(out))
`;

interface CheckResult {
  file: string;
  error: string | null;
  mismatches: unknown[];
  values: number;
}

describe.skipIf(!hasOnnx)('ONNX checker and shape inference on every graph kind', () => {
  for (const [tag, configs, shape] of [
    ['nano', nanoConfigs(), { frames: 4, height: 8, width: 8, captionLength: 16 }],
    ['depth1', depth1Configs(), { frames: 3, height: 4, width: 6, captionLength: 300 }],
  ] as const)
    it(`${tag}: check_model(full_check) and strict inference pass, inferred shapes equal ours`, () => {
      const files = everyGraphKind(configs, shape).map((g) => {
        const f = join(dir, `${tag}.${g.name}.onnx`);
        writeFileSync(f, g.bytes);
        return f;
      });
      const r = spawnSync(PY, ['-c', CHECK, ...files], {
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        timeout: 300_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const results = JSON.parse(r.stdout) as CheckResult[];
      expect(results).toHaveLength(files.length);
      for (const res of results) {
        expect(res.error, res.file).toBeNull();
        expect(res.mismatches, res.file).toEqual([]);
        expect(res.values, res.file).toBeGreaterThan(0);
      }
    });
});

describe.runIf(!hasOnnx)('ONNX checker (python3-onnx missing)', () => {
  it.skip('needs Debian python3-onnx under /usr/bin/python3 (apt-get install python3-onnx; .ci/run installs it)', () => {});
});
