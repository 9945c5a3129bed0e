/**
 * The app's ONNX Runtime: onnxruntime-react-native (Core ML and CPU execution providers on iOS). The only file in
 * the app that imports the runtime.
 */
import * as ort from 'onnxruntime-react-native';
import type { OrtModuleLike } from '../../../shared/companion/host-kit/ort-adapter';
import { OrtBackend } from './ort-backend';

/** The runtime's version as the package reports it. */
export const ORT_RN_VERSION = '1.24.3';

/** A backend on onnxruntime-react-native; `coreml` false runs on CPU only. */
export function createReactNativeOrtBackend(coreml: boolean): OrtBackend {
  const runtime: OrtModuleLike = {
    InferenceSession: { create: (model, options) => ort.InferenceSession.create(model, options) },
    Tensor: ort.Tensor,
  };
  return new OrtBackend(runtime, { runtimeName: `onnxruntime-react-native ${ORT_RN_VERSION}`, coreml });
}
