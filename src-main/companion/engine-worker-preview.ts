/**
 * Preview images of the companion's engine worker (see engine-worker.ts). The code lives in
 * shared/engine/pipeline/preview-images.ts, so every host (this worker, the iPhone app) shrinks previews the same way.
 */
export * from '../../shared/engine/pipeline/preview-images';
