import { describe, expect, it } from 'vitest';
import {
  COREML_FLAGS,
  COREML_SESSION_FLAGS,
  BLOCK_PLACEMENTS,
  blockPlacementOf,
  EXECUTION_PROVIDERS,
  parseExecutionProvider,
} from '../../../../shared/engine/execution-provider';

describe('execution providers', () => {
  it('parses the known names and refuses others, naming the allowed ones', () => {
    for (const p of EXECUTION_PROVIDERS) expect(parseExecutionProvider(p)).toBe(p);
    expect(() => parseExecutionProvider('gpu')).toThrow("--ep must be one of cpu, coreml, cuda, got 'gpu'");
  });

  it('creates Core ML sessions as ML Programs with static input shapes, nothing else', () => {
    expect(COREML_SESSION_FLAGS).toBe(0x018);
    expect(COREML_SESSION_FLAGS & COREML_FLAGS.USE_CPU_ONLY).toBe(0);
  });

  it("names a block's placement from its sessions': one when they agree, mixed when not, none when unknown", () => {
    expect(BLOCK_PLACEMENTS).toEqual(['cpu', 'coreml', 'cuda', 'mixed']);
    expect(blockPlacementOf(['coreml', 'coreml'])).toBe('coreml');
    expect(blockPlacementOf(['cpu'])).toBe('cpu');
    expect(blockPlacementOf(['coreml', 'cpu'])).toBe('mixed');
    // A session that does not say is left out; no session that says: no placement.
    expect(blockPlacementOf([undefined, 'cuda'])).toBe('cuda');
    expect(blockPlacementOf([undefined])).toBeUndefined();
    expect(blockPlacementOf([])).toBeUndefined();
  });
});
