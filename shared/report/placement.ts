/**
 * How a block's placement (where its computes ran: execution-provider.ts BlockPlacement) is named and coloured
 * wherever it is shown: the studio's residency lanes, the HTML report's residency chart and blocks table.
 */
import { BLOCK_PLACEMENTS, type BlockPlacement } from '../engine/execution-provider';

/** The words shown for each placement. */
export const PLACEMENT_LABELS: Readonly<Record<BlockPlacement, string>> = {
  cpu: 'CPU',
  coreml: 'Core ML',
  cuda: 'CUDA',
  mixed: 'mixed',
};

/** The marker colour of each placement (readable on the studio's dark and the report's light background). */
export const PLACEMENT_COLOURS: Readonly<Record<BlockPlacement, string>> = {
  cpu: '#94a3b8',
  coreml: '#a855f7',
  cuda: '#76b900',
  mixed: '#ec4899',
};

/** How many blocks ran on each placement, in BLOCK_PLACEMENTS order, leaving out those none ran on. */
export function placementCounts(
  blocks: readonly { readonly placement: BlockPlacement | null }[],
): { placement: BlockPlacement; blocks: number }[] {
  const counts = new Map<BlockPlacement, number>();
  for (const b of blocks)
    if (b.placement !== null) counts.set(b.placement, (counts.get(b.placement) ?? 0) + 1);
  return BLOCK_PLACEMENTS.flatMap((placement) => {
    const n = counts.get(placement);
    return n === undefined ? [] : [{ placement, blocks: n }];
  });
}

/** e.g. `Core ML 26 blocks · CPU 2 blocks`; empty when no block says where it ran. */
export function placementSummary(blocks: readonly { readonly placement: BlockPlacement | null }[]): string {
  return placementCounts(blocks)
    .map((c) => `${PLACEMENT_LABELS[c.placement]} ${c.blocks} block${c.blocks === 1 ? '' : 's'}`)
    .join(' · ');
}
