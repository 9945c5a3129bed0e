// The provider check against the real onnxruntime-node: a provider that is asked for and missing is an error that
// says how to get it, never a silent CPU run.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CUDA_INSTALL_HINT,
  ExecutionProviderUnavailableError,
  ortExecutionProviders,
  platformRefusal,
} from '../../../../src-main/adapters/execution-provider';
import {
  assertExecutionProvider,
  openOnnxRuntimeBackend,
} from '../../../../src-main/adapters/onnxruntime-backend';

/** Whether this install has onnxruntime-node's CUDA provider library (CI and dev machines here do not). */
function cudaProviderInstalled(): boolean {
  const main = require.resolve('onnxruntime-node');
  const bin = join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
}

describe('execution provider check', () => {
  it('refuses Core ML off macOS and CUDA off Linux x64, saying what to use instead', () => {
    expect(platformRefusal('coreml', 'linux', 'x64')).toMatch(
      /only available on macOS \(this machine is linux-x64\).*--ep cpu/,
    );
    expect(platformRefusal('coreml', 'darwin', 'arm64')).toBeNull();
    expect(platformRefusal('cuda', 'darwin', 'arm64')).toMatch(/only for Linux x64.*--ep cpu or --ep coreml/);
    expect(platformRefusal('cuda', 'win32', 'x64')).toMatch(/only for Linux x64/);
    expect(platformRefusal('cuda', 'linux', 'x64')).toBeNull();
    expect(platformRefusal('cpu', 'linux', 'arm64')).toBeNull();
  });

  it('asks ONNX Runtime for the provider first and the CPU after it, with the phone Core ML flags', () => {
    expect(ortExecutionProviders('cpu')).toEqual(['cpu']);
    expect(ortExecutionProviders('cuda')).toEqual([{ name: 'cuda' }, 'cpu']);
    expect(ortExecutionProviders('coreml')).toEqual([{ name: 'coreml', coreMlFlags: 0x018 }, 'cpu']);
  });

  it.skipIf(process.platform !== 'linux' || process.arch !== 'x64' || cudaProviderInstalled())(
    'a missing CUDA provider is an error with the install command (real onnxruntime-node)',
    async () => {
      const error = await assertExecutionProvider('cuda').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ExecutionProviderUnavailableError);
      expect((error as Error).message).toContain(CUDA_INSTALL_HINT);
      expect((error as Error).message).toContain(
        'ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node',
      );
      await expect(openOnnxRuntimeBackend({ ep: 'cuda' })).rejects.toThrow(/cannot load its CUDA provider/);
    },
  );

  it('the CPU backend opens and says it runs on the CPU', async () => {
    await assertExecutionProvider('cpu');
    const backend = await openOnnxRuntimeBackend({ ep: 'cpu', intraOpThreads: 1 });
    expect(backend.name).toMatch(/^onnxruntime-node \S+ \(cpu, 1 threads\)$/);
  });
});
