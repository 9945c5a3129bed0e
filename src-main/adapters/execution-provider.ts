/**
 * Which ONNX Runtime execution provider a Node host runs on, and the check that it is really there. A provider that
 * is asked for and missing is an error at start-up with the way to get it: a run is never silently placed on the CPU
 * and labelled with the provider it asked for.
 *
 * - `cpu`: onnxruntime-node's bundled CPU provider, everywhere.
 * - `coreml`: macOS only (onnxruntime-node ships it in its darwin binaries). Sessions get the phone's flags
 *   ({@link COREML_SESSION_FLAGS}: ML Program, static shapes), so a Mac runs the graphs the way the iPhone does.
 * - `cuda`: Linux x64 (Windows builds of onnxruntime-node have none). Its libraries are not in the npm tarball: the
 *   package's install script downloads them, and this project installs with `ignore-scripts` (see .npmrc), so it
 *   must be asked for ({@link CUDA_INSTALL_HINT}). It needs CUDA 12 and cuDNN 9 on the machine.
 */
import type { OrtProviderOption } from '../../shared/companion/host-kit/ort-adapter';
import { COREML_SESSION_FLAGS, type ExecutionProviderName } from '../../shared/engine/execution-provider';

/** How to install onnxruntime-node's CUDA provider in this project. */
export const CUDA_INSTALL_HINT =
  'install the CUDA provider of onnxruntime-node: `ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false` ' +
  '(downloads its CUDA 12 libraries; needs the NVIDIA driver, CUDA 12 and cuDNN 9 on this machine; Linux x64 only)';

/** A provider that was asked for and cannot be used here. */
export class ExecutionProviderUnavailableError extends Error {
  constructor(
    readonly provider: ExecutionProviderName,
    message: string,
  ) {
    super(message);
    this.name = 'ExecutionProviderUnavailableError';
  }
}

/** The `executionProviders` session option for a provider (CPU after it takes the nodes it cannot). */
export function ortExecutionProviders(ep: ExecutionProviderName): OrtProviderOption[] {
  switch (ep) {
    case 'cpu':
      return ['cpu'];
    case 'coreml':
      return [{ name: 'coreml', coreMlFlags: COREML_SESSION_FLAGS }, 'cpu'];
    case 'cuda':
      return [{ name: 'cuda' }, 'cpu'];
  }
}

/** Why a provider cannot be used on this platform at all (null: it may be, if installed). */
export function platformRefusal(
  ep: ExecutionProviderName,
  platform: string = process.platform,
  arch: string = process.arch,
): string | null {
  if (ep === 'coreml' && platform !== 'darwin')
    return `--ep coreml: Core ML is only available on macOS (this machine is ${platform}-${arch}); run the companion on a Mac, or use --ep cpu`;
  if (ep === 'cuda' && !(platform === 'linux' && arch === 'x64'))
    return `--ep cuda: onnxruntime-node has a CUDA provider only for Linux x64 (this machine is ${platform}-${arch}); use --ep cpu${platform === 'darwin' ? ' or --ep coreml' : ''}`;
  return null;
}

/** The error for a provider ONNX Runtime could not load (`why`: its message). */
export function providerLoadFailure(
  ep: ExecutionProviderName,
  why: string,
): ExecutionProviderUnavailableError {
  return new ExecutionProviderUnavailableError(
    ep,
    ep === 'cuda'
      ? `--ep cuda: ONNX Runtime cannot load its CUDA provider (${why}); ${CUDA_INSTALL_HINT}; or use --ep cpu`
      : `--ep ${ep}: ONNX Runtime cannot create a session with it (${why}); use --ep cpu`,
  );
}
