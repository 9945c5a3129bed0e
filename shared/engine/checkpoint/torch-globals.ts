/**
 * The allow-list of the restricted unpickler: the only globals a `torch.save` state dict needs (OrderedDict, the
 * tensor/parameter rebuild functions, legacy storage classes, dtypes) and what "calling" each one means here. None
 * of them is ever executed: a REDUCE on an allowed callable builds a plain record, and anything else is refused.
 *
 * What the files hold: torch 1.13 and 2.x write `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 * requires_grad, backward_hooks[, metadata])` with storages `('storage', torch.FloatStorage, '0', 'cpu', numel)`.
 * torch 2.x uses `_rebuild_tensor_v3(…, dtype[, metadata])` on a `torch.storage.UntypedStorage` (numel in bytes)
 * only for dtypes without a legacy storage class (uint16/32/64, float8). Parameters wrap the tensor in
 * `_rebuild_parameter` (`_rebuild_parameter_with_state` in torch 2.x when they carry Python attributes). Files
 * saved from CUDA by torch < 1.12 name `torch.cuda.FloatStorage` and the like.
 */
import type { GlobalRole, PickleGlobal, PickleValue, TorchStorage, TorchTensor } from './pickle-types';
import { describe, isIndex } from './pickle-types';

/** A pickle asked for something the allow-list does not permit; the unpickler adds file, entry and offset. */
export class PickleRefused extends Error {
  override readonly name = 'PickleRefused';
}

/** Legacy storage class → element dtype (safetensors spelling). */
const STORAGE_CLASS_DTYPES: Readonly<Record<string, string>> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

/** `torch.<dtype>` globals (arguments of `_rebuild_tensor_v3`) → dtype. */
const TORCH_DTYPES: Readonly<Record<string, string>> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  uint16: 'U16',
  uint32: 'U32',
  uint64: 'U64',
  bool: 'BOOL',
  float8_e5m2: 'F8_E5M2',
  float8_e4m3fn: 'F8_E4M3',
};

const FUNCTIONS: Readonly<Record<string, GlobalRole>> = {
  'collections.OrderedDict': { kind: 'ordered-dict' },
  'torch._utils._rebuild_tensor_v2': { kind: 'rebuild-tensor-v2' },
  'torch._utils._rebuild_tensor_v3': { kind: 'rebuild-tensor-v3' },
  'torch._utils._rebuild_parameter': { kind: 'rebuild-parameter', withState: false },
  'torch._utils._rebuild_parameter_with_state': { kind: 'rebuild-parameter', withState: true },
};

/** The role of `module.name`, or a refusal naming it. */
export function resolveGlobal(module: string, name: string): PickleGlobal {
  const qualified = `${module}.${name}`;
  const fn = Object.hasOwn(FUNCTIONS, qualified) ? FUNCTIONS[qualified] : undefined;
  if (fn) return { kind: 'global', qualified, role: fn };
  if ((module === 'torch' || module === 'torch.cuda') && Object.hasOwn(STORAGE_CLASS_DTYPES, name))
    return { kind: 'global', qualified, role: { kind: 'storage-class', dtype: STORAGE_CLASS_DTYPES[name]! } };
  // An untyped storage holds bytes; the tensor's own dtype comes from _rebuild_tensor_v3.
  if ((module === 'torch' || module === 'torch.storage') && name === 'UntypedStorage')
    return { kind: 'global', qualified, role: { kind: 'storage-class', dtype: 'U8' } };
  if (module === 'torch' && Object.hasOwn(TORCH_DTYPES, name))
    return { kind: 'global', qualified, role: { kind: 'dtype', dtype: TORCH_DTYPES[name]! } };
  throw new PickleRefused(`global '${qualified}' is not allowed (only tensors and plain containers)`);
}

function index(v: PickleValue | undefined, what: string): number {
  if (v === undefined || !isIndex(v))
    throw new PickleRefused(
      `${what} is ${v === undefined ? 'missing' : describe(v)}, not a non-negative integer`,
    );
  return v;
}

function indexTuple(v: PickleValue | undefined, what: string): number[] {
  if (v === undefined || v === null || typeof v !== 'object' || v instanceof Uint8Array || v.kind !== 'tuple')
    throw new PickleRefused(
      `${what} is ${v === undefined ? 'missing' : describe(v)}, not a tuple of integers`,
    );
  return v.items.map((d, i) => index(d, `${what}[${i}]`));
}

function isKind<K extends string>(
  v: PickleValue | undefined,
  kind: K,
): v is Extract<PickleValue, { kind: K }> {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && v.kind === kind;
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])` and v3 (`…, dtype[, metadata]`). */
function rebuildTensor(args: readonly PickleValue[], v3: boolean): TorchTensor {
  const fn = v3 ? '_rebuild_tensor_v3' : '_rebuild_tensor_v2';
  const base = v3 ? 7 : 6;
  if (args.length !== base && args.length !== base + 1)
    throw new PickleRefused(`${fn} takes ${base} or ${base + 1} arguments, got ${args.length}`);
  const [storage, offset, size, stride, requiresGrad, hooks, dtypeArg] = args;
  if (!isKind(storage, 'storage'))
    throw new PickleRefused(`${fn} needs a storage first, got ${describe(storage ?? null)}`);
  const shape = indexTuple(size, `${fn} size`);
  const strides = indexTuple(stride, `${fn} stride`);
  if (strides.length !== shape.length)
    throw new PickleRefused(`${fn} has ${shape.length} sizes but ${strides.length} strides`);
  if (typeof requiresGrad !== 'boolean')
    throw new PickleRefused(`${fn} requires_grad is ${describe(requiresGrad ?? null)}, not a bool`);
  if (!isKind(hooks, 'dict'))
    throw new PickleRefused(`${fn} backward_hooks is ${describe(hooks ?? null)}, not a dict`);
  let dtype = storage.dtype;
  if (v3) {
    if (!isKind(dtypeArg, 'global') || dtypeArg.role.kind !== 'dtype')
      throw new PickleRefused(`${fn} dtype is ${describe(dtypeArg ?? null)}, not a torch dtype`);
    dtype = dtypeArg.role.dtype;
  }
  return {
    kind: 'tensor',
    storage,
    dtype,
    storageOffset: index(offset, `${fn} storage offset`),
    shape,
    stride: strides,
  };
}

/** What REDUCE of an allowed callable on `args` yields; refuses every other callable. */
export function reduceGlobal(callable: PickleValue, args: readonly PickleValue[]): PickleValue {
  if (!isKind(callable, 'global'))
    throw new PickleRefused(
      `REDUCE on ${describe(callable)} is not allowed (only allow-listed torch functions)`,
    );
  const role = callable.role;
  switch (role.kind) {
    case 'ordered-dict': {
      const dict: PickleValue = { kind: 'dict', map: new Map(), ordered: true };
      if (args.length === 0) return dict;
      throw new PickleRefused(`collections.OrderedDict takes no arguments here, got ${args.length}`);
    }
    case 'rebuild-tensor-v2':
    case 'rebuild-tensor-v3':
      return rebuildTensor(args, role.kind === 'rebuild-tensor-v3');
    case 'rebuild-parameter': {
      const want = role.withState ? 4 : 3;
      if (args.length !== want || !isKind(args[0], 'tensor'))
        throw new PickleRefused(`${callable.qualified} takes a tensor and ${want - 1} more arguments`);
      return args[0];
    }
    default:
      throw new PickleRefused(
        `REDUCE on '${callable.qualified}' is not allowed (it is not a rebuild function)`,
      );
  }
}

/** BINPERSID: only `('storage', <storage class>, key, location, numel)`; one record per key. */
export function persistentLoad(pid: PickleValue, storages: Map<string, TorchStorage>): TorchStorage {
  if (!isKind(pid, 'tuple') || pid.items.length !== 5 || pid.items[0] !== 'storage')
    throw new PickleRefused(
      `persistent id ${describe(pid)} is not allowed (only ('storage', class, key, location, numel))`,
    );
  const [, cls, key, location, numel] = pid.items;
  if (!isKind(cls, 'global') || cls.role.kind !== 'storage-class')
    throw new PickleRefused(`persistent id names ${describe(cls ?? null)}, not a storage class`);
  if (typeof key !== 'string' || typeof location !== 'string')
    throw new PickleRefused('persistent id key and location must be strings');
  const storage: TorchStorage = {
    kind: 'storage',
    key,
    dtype: cls.role.dtype,
    location,
    numel: index(numel, `storage '${key}' numel`),
  };
  const seen = storages.get(key);
  if (!seen) {
    storages.set(key, storage);
    return storage;
  }
  if (seen.dtype !== storage.dtype || seen.numel !== storage.numel)
    throw new PickleRefused(
      `storage '${key}' is declared as ${seen.numel} × ${seen.dtype} and as ${storage.numel} × ${storage.dtype}`,
    );
  return seen;
}
