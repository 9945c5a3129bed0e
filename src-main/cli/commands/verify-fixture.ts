/** `odsora verify-fixture DIR`: runs a golden-fixture directory through the engine and reports errors per tensor. */
import { parseGraphTarget, type GraphTarget } from '../../../shared/engine/onnx/graph-target';
import { InvalidArgumentError, type Command } from 'commander';
import { resolve } from 'node:path';
import { parsePrecision, type Precision } from '../../../shared/engine/blockset/precision';
import type { Comparison } from '../../../shared/engine/verify/compare';
import { createNodeEngineHost } from '../../engine-host/node-engine';
import { readFixtureManifest } from '../../fixtures/fixture-files';
import { verifyStdit3Fixture, type FixtureReport } from '../../fixtures/stdit3-fixture';
import { verifyT5Fixture } from '../../fixtures/t5-fixture';
import { verifyVaeFixture } from '../../fixtures/vae-fixture';
import { examples } from '../help';

/** Registers `odsora verify-fixture`. */
export function registerVerifyFixture(program: Command): void {
  program
    .command('verify-fixture')
    .description(
      'Run a golden-fixture directory (manifest.json + safetensors, shared format) through the engine; print max abs/rel error per tensor; exit 1 if any exceeds the manifest tolerance',
    )
    .argument('<dir>', 'fixture directory, e.g. tests/fixtures/opensora-tiny')
    .option('--json', 'print one JSON object instead of a table')
    .option('--ort-worker', 'run ONNX Runtime in a worker thread instead of the engine thread')
    .option(
      '--target <t>',
      'graph target: cpu (default) or coreml (the Core ML graphs, run on the CPU EP)',
      parseTargetFlag,
    )
    .option(
      '--precision <p>',
      'convert the weights to f32 (default), f16 or int8 first, and hold the outputs to that precision’s documented tolerance (docs/precision.md)',
      parsePrecisionFlag,
    )
    .addHelpText(
      'after',
      examples([
        {
          what: 'the STDiT3 golden fixture through the engine (exit 1 past its tolerance)',
          args: 'verify-fixture tests/fixtures/opensora-tiny',
        },
        {
          what: 'the same on f16 weights, as JSON',
          args: 'verify-fixture tests/fixtures/opensora-tiny --precision f16 --json',
        },
      ]),
    )
    .action(
      async (
        dir: string,
        flags: { json?: boolean; ortWorker?: boolean; precision?: Precision; target?: GraphTarget },
      ) => {
        const root = resolve(dir);
        const host = await createNodeEngineHost({
          placement: flags.ortWorker ? 'worker' : 'inline',
          graphTarget: flags.target,
        });
        try {
          const { kind, manifest } = await readFixtureManifest(host.fs, root);
          let report: FixtureReport;
          const opts = { precision: flags.precision ?? 'f32' };
          if (kind === 'stdit3') report = await verifyStdit3Fixture(root, manifest, host, opts);
          else if (kind === 't5') report = await verifyT5Fixture(root, manifest, host, opts);
          else report = await verifyVaeFixture(root, manifest, host, opts);
          const failed = report.rows.filter((r) => !r.pass);
          if (flags.json) {
            console.log(
              JSON.stringify(
                {
                  fixture: root,
                  kind,
                  pass: failed.length === 0,
                  rows: report.rows,
                  skipped: report.skipped,
                },
                null,
                2,
              ),
            );
          } else {
            printTable(root, kind, report);
          }
          process.exitCode = failed.length === 0 ? 0 : 1;
        } finally {
          await host.close();
        }
      },
    );
}

function printTable(root: string, kind: string, report: FixtureReport): void {
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toExponential(2) : String(v));
  const width = Math.max(...report.rows.map((r) => r.name.length), 10);
  console.log(`${kind} fixture ${root}`);
  console.log(
    `${'tensor'.padEnd(width)}  ${'max abs'.padStart(9)}  ${'max rel'.padStart(9)}  ${'atol'.padStart(8)}  ${'rtol'.padStart(8)}  result`,
  );
  for (const r of report.rows) console.log(row(r, width, fmt));
  for (const s of report.skipped) console.log(`${s.name.padEnd(width)}  (not compared: ${s.why})`);
  const failed = report.rows.filter((r) => !r.pass).length;
  console.log(`${report.rows.length - failed} within tolerance, ${failed} over`);
}

function row(r: Comparison, width: number, fmt: (v: number) => string): string {
  const result = r.pass ? 'ok' : `FAIL${r.problem ? ` (${r.problem})` : ''}`;
  return `${r.name.padEnd(width)}  ${fmt(r.maxAbs).padStart(9)}  ${fmt(r.maxRel).padStart(9)}  ${fmt(r.tolerance.atol).padStart(8)}  ${fmt(r.tolerance.rtol).padStart(8)}  ${result}`;
}

function parsePrecisionFlag(text: string): Precision {
  try {
    return parsePrecision(text);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function parseTargetFlag(text: string): GraphTarget {
  try {
    return parseGraphTarget(text);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}
