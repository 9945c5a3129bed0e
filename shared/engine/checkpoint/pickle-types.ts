/**
 * The values the restricted unpickler can produce: plain containers and scalars, allow-listed globals, and the
 * two torch records it understands (storages from BINPERSID, tensors from `_rebuild_tensor_v2/v3`). Nothing here
 * can run code; a pickle that needs anything else is refused while it is read.
 */

/** A Python float (kept apart from ints so a size or offset can never be a float). */
export interface PickleFloat {
  readonly kind: 'float';
  readonly value: number;
}

/** A tuple (immutable). */
export interface PickleTuple {
  readonly kind: 'tuple';
  readonly items: readonly PickleValue[];
}

/** A list (APPEND/APPENDS fill it). */
export interface PickleList {
  readonly kind: 'list';
  readonly items: PickleValue[];
}

/** Dict keys the unpickler accepts: hashable scalars (state dicts use strings). */
export type PickleKey = string | number | bigint | boolean | null;

/** A dict or `collections.OrderedDict`, in insertion order. */
export interface PickleDict {
  readonly kind: 'dict';
  readonly map: Map<PickleKey, PickleValue>;
  /** Whether it was built by `collections.OrderedDict`. */
  readonly ordered: boolean;
  /** What BUILD set on it (`state_dict()` attaches `_metadata` this way); kept, never interpreted. */
  state?: PickleValue;
}

/** What an allow-listed global stands for. */
export type GlobalRole =
  | { readonly kind: 'ordered-dict' }
  | { readonly kind: 'rebuild-tensor-v2' }
  | { readonly kind: 'rebuild-tensor-v3' }
  | { readonly kind: 'rebuild-parameter'; readonly withState: boolean }
  | { readonly kind: 'storage-class'; readonly dtype: string }
  | { readonly kind: 'dtype'; readonly dtype: string };

/** An allow-listed global (GLOBAL / STACK_GLOBAL), resolved to a role instead of an object. */
export interface PickleGlobal {
  readonly kind: 'global';
  /** `module.name`, as written in the pickle. */
  readonly qualified: string;
  readonly role: GlobalRole;
}

/** A storage named by BINPERSID: `('storage', <class>, key, location, numel)`; its bytes are `<prefix>/data/<key>`. */
export interface TorchStorage {
  readonly kind: 'storage';
  readonly key: string;
  /** Element dtype in safetensors spelling (`U8` for an untyped storage). */
  readonly dtype: string;
  /** Device it was saved from (`cpu`, `cuda:0`); informational. */
  readonly location: string;
  /** Element count. */
  readonly numel: number;
}

/** A dense tensor view of a storage, from `_rebuild_tensor_v2` (dtype of the storage) or `_v3` (explicit dtype). */
export interface TorchTensor {
  readonly kind: 'tensor';
  readonly storage: TorchStorage;
  readonly dtype: string;
  /** Offset into the storage in elements of `dtype`. */
  readonly storageOffset: number;
  readonly shape: readonly number[];
  /** Strides in elements. */
  readonly stride: readonly number[];
}

/** Every value the restricted unpickler produces. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleFloat
  | PickleTuple
  | PickleList
  | PickleDict
  | PickleGlobal
  | TorchStorage
  | TorchTensor;

/** A short, non-recursive description of a value for error messages (values may nest deeply or even cycle). */
export function describe(v: PickleValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' || typeof v === 'bigint') return `the integer ${v}`;
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  switch (v.kind) {
    case 'float':
      return `the float ${v.value}`;
    case 'tuple':
    case 'list':
      return `a ${v.kind} of ${v.items.length} items`;
    case 'dict':
      return `a dict of ${v.map.size} items`;
    case 'global':
      return `'${v.qualified}'`;
    case 'storage':
      return `storage '${v.key}'`;
    case 'tensor':
      return `a tensor`;
  }
}

/** Whether `v` is a non-negative integer small enough to be a size or offset. */
export function isIndex(v: PickleValue): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
