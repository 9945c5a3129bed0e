// docs/sweeps.md is what researchers write specs from: its example parses and plans the counts the text states.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SWEEP_AXIS_NAMES } from '../../../shared/sweep/axes';
import { countSweepRuns, expandSweep } from '../../../shared/sweep/expand';
import { SWEEP_METRIC_NAMES, SWEEP_METRICS } from '../../../shared/sweep/metrics';
import { parseSweepSpec } from '../../../shared/sweep/spec';
import { sweepThermalGateSchema } from '../../../shared/sweep/thermal-gate';

const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'sweeps.md'), 'utf8');

describe('docs/sweeps.md', () => {
  it('its example parses and expands to the counts the text states', () => {
    const example = /## Example[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const spec = parseSweepSpec(JSON.parse(example!));
    const stated =
      /plans \*\*(\d+) runs\*\*: (\d+) measured[^,]*, (\d+)\s+baselines[^)]*\) and (\d+) warm-ups/.exec(
        doc.replace(/\n/g, ' '),
      );
    expect(stated).not.toBeNull();
    const [, total, measured, baseline, warmup] = stated!.map(Number);
    expect(countSweepRuns(spec)).toEqual({ total, measured, baseline, warmup });
    expect(expandSweep(spec)).toHaveLength(total!);
  });

  it('its thermal gate example parses, and every gate field is described', () => {
    const fragment = /### Thermal gating[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(fragment).toBeDefined();
    const gate = (JSON.parse(`{${fragment!}}`) as { thermal: unknown }).thermal;
    expect(sweepThermalGateSchema.parse(gate)).toEqual(gate);
    for (const field of Object.keys(sweepThermalGateSchema.shape)) expect(doc).toContain(`| \`${field}\``);
  });

  it('its metrics table lists every metric of SWEEP_METRICS with its unit and direction', () => {
    const table = /### Metrics[\s\S]*?\n(\|[\s\S]*?)\n\n/.exec(doc)?.[1];
    expect(table).toBeDefined();
    const rows = table!
      .split('\n')
      .slice(2)
      .map((line) => line.split('|').map((c) => c.trim()));
    for (const name of SWEEP_METRIC_NAMES) {
      const row = rows.find((cells) => cells[1]!.split(/,\s*/).includes(`\`${name}\``));
      expect(row, `docs/sweeps.md's metrics table has no row for ${name}`).toBeDefined();
      expect(row!.slice(2, 4)).toEqual([`\`${SWEEP_METRICS[name].unit}\``, SWEEP_METRICS[name].better]);
    }
  });

  it('lists every axis', () => {
    for (const axis of SWEEP_AXIS_NAMES) expect(doc).toContain(`\`${axis}\``);
  });
});
