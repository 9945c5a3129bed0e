// What a version-2 studio validates events with: this build's schemas without the fields protocol 3 added.
import { engineEventSchemas } from '../../shared/protocol/engine-events';

const computeEnd = engineEventSchemas[8];
if (computeEnd.shape.type.value !== 'block.compute.end')
  throw new Error('engineEventSchemas[8] is no longer block.compute.end');

/** A version-2 studio's `block.compute.end`: strict, without `placement`. */
export const v2BlockComputeEndSchema = computeEnd.omit({ placement: true });
