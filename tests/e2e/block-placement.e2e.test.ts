// Where each block ran, in Chromium: `odsora studio --web` (a real child process, temporary HOME) opens a stored
// run of the bundled nano model (tests/fixtures/studio/paper-defaults.run.json) whose block.compute.end events say
// where each block ran, as a phone's do: the T5 and STDiT3 blocks on Core ML, the VAE blocks on the CPU, one pair
// on Core ML for its plain steps and on the CPU for its TDTM-merged ones (mixed), the T5 embedding lookup saying
// nothing. The live view's residency lanes mark each lane and count them in the legend. Screenshot:
// artifacts/e2e/block-placement.png.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlockPlacement } from '../../shared/engine/execution-provider';
import type { SeqRunEvent } from '../../shared/report/measures';
import {
  openStudioPage,
  OPEN_STUDIO_PAGE_TIMEOUT_MS,
  saveViewScreenshot,
  type StudioPage,
} from '../helpers/studio-browser';
import { testIdAttr } from '../helpers/studio-page';
import { recordedRun } from '../unit/src-renderer/helpers/recorded-runs';
import { writeRunFolder } from '../unit/src-main/studio/services/run-folders';

let ui: StudioPage | undefined;
let page: Page;

/** Where a phone would have run each block of the recording (undefined: the block says nothing). */
function placementOf(block: string, variant: 'plain' | 'tdtm'): BlockPlacement | undefined {
  if (block === 'text/embed') return undefined;
  if (block.startsWith('decode/')) return 'cpu';
  if (block === 'denoiser/pair.3' && variant === 'tdtm') return 'cpu';
  return 'coreml';
}

function placedLog(): SeqRunEvent[] {
  return recordedRun('paper-defaults').events.map(({ seq, event }) => {
    if (event.type !== 'block.compute.end') return { seq, event };
    const placement = placementOf(event.block, event.variant);
    return { seq, event: placement === undefined ? event : { ...event, placement } };
  });
}

beforeAll(async () => {
  const run = recordedRun('paper-defaults');
  ui = await openStudioPage({
    prepare: async (dataDir) => {
      await writeRunFolder(dataDir, 'r-placed', [], [run.width, run.height], placedLog(), {
        params: run.params,
        label: 'Core ML and CPU blocks',
      });
    },
    viewport: { width: 1280, height: 900 },
  });
  page = ui.page;
}, OPEN_STUDIO_PAGE_TIMEOUT_MS);

afterAll(() => ui?.close());

describe('block placement in the residency lanes', () => {
  it('marks each lane Core ML, CPU or mixed and counts the blocks per placement in the legend', async () => {
    await page.evaluate(() => (window.location.hash = '#/live/r-placed'));
    await expect
      .poll(async () => testIdAttr(page, 'residency-lanes', 'data-lanes'), { timeout: 60_000, interval: 100 })
      .toBe('15');
    // 15 lanes: text/embed says nothing; 3 T5 + part1 + pairs 0-2 + part2 on Core ML; pair.3 mixed; 5 VAE on CPU.
    await expect
      .poll(async () => testIdAttr(page, 'residency-lanes', 'data-placements'), { timeout: 30_000 })
      .toBe('cpu:5 coreml:8 mixed:1');
    const legend = page.locator('.legend-placement');
    expect(await legend.allTextContents()).toEqual([
      'CPU · 5 blocks',
      'Core ML · 8 blocks',
      'mixed · 1 block',
    ]);
    const canvas = page.getByTestId('residency-lanes');
    await canvas.scrollIntoViewIfNeeded();
    await saveViewScreenshot(page, 'block-placement');
  });
});
