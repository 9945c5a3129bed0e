/**
 * Ports the hosts inject into the engine (docs/architecture.md). The engine never touches files, clocks, memory
 * or the inference runtime directly: Node, the iPhone and tests each provide these.
 */
import type { ExecutionPlacement } from './execution-provider';
import type { GraphTarget } from './onnx/graph-target';
import type { Tensor } from './tensor';

/** One compiled graph, ready to run. Weights are ordinary inputs, so one session serves every block of a shape. */
export interface BackendSession {
  /** Runs the graph. `feeds` names every graph input; the result holds the requested outputs (all by default). */
  run(feeds: Readonly<Record<string, Tensor>>, outputs?: readonly string[]): Promise<Record<string, Tensor>>;
  /** Frees the session's native resources. */
  release(): Promise<void>;
  /**
   * Where the session ended up at creation (`coreml`: Core ML took it; `cpu`: CPU alone, also after a refused
   * Core ML; `cuda`). Absent: the backend does not say. Reported per block in `block.compute.end`.
   */
  readonly placement?: ExecutionPlacement;
}

/** Creates sessions from ONNX model bytes. Exactly one file per host imports the inference runtime. */
export interface InferenceBackend {
  /** Human-readable name and placement, e.g. `onnxruntime-node 1.30.0 (cpu)`; reported in telemetry. */
  readonly name: string;
  /**
   * The graphs this backend should be given (onnx/graph-target.ts): `coreml` where sessions run on ORT's Core ML
   * EP. Absent: `cpu`. The stages build every graph for `graphTarget ?? 'cpu'`.
   */
  readonly graphTarget?: GraphTarget;
  /** Compiles a serialized ONNX ModelProto. `label` names it in errors and traces. */
  createSession(model: Uint8Array, label: string): Promise<BackendSession>;
}

/** Random access to one file, so multi-gigabyte checkpoints are read tensor by tensor. */
export interface RandomAccessReader {
  /** The path or name shown in error messages. */
  readonly name: string;
  /** Total size in bytes. */
  size(): Promise<number>;
  /** Reads exactly `length` bytes at `offset`; rejects if the file is shorter. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Reads exactly `target.byteLength` bytes at `offset` into `target` (no allocation: converting many GB then
   * reuses one buffer instead of leaving a garbage buffer per tensor). Optional; `read` is used without it.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Sequential writer for one output file. */
export interface FileWriter {
  write(bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** The slice of a file system the engine needs (convert, block sets). Paths are '/'-separated. */
export interface FileSystemPort {
  open(path: string): Promise<RandomAccessReader>;
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Reads a whole file into `target`, whose length must be the file's size (else rejects naming both): lets block
   * loads reuse pooled buffers (blockset/buffer-pool.ts). Optional; `readFile` is used without it.
   */
  readFileInto?(path: string, target: Uint8Array): Promise<void>;
  readText(path: string): Promise<string>;
  writeFile(path: string, data: Uint8Array | string): Promise<void>;
  createWriter(path: string): Promise<FileWriter>;
  mkdirp(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Moves a finished file or directory into place (atomic where the host can). */
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  join(...parts: string[]): string;
}

/** SHA-256 of some bytes, as lowercase hex. Hosts use a native (and off-thread, where possible) implementation. */
export type Sha256 = (bytes: Uint8Array) => Promise<string>;

/** What the device says about its memory. */
export interface MemoryProbe {
  /** Bytes this process may still allocate before the OS objects (iOS: os_proc_available_memory). */
  availableBytes(): Promise<number>;
  /** Bytes this process uses now (iOS: phys_footprint; Node: RSS). */
  footprintBytes(): Promise<number>;
  /** Starts a new peak measurement (Linux: resets VmHWM through /proc/self/clear_refs). Optional. */
  resetPeak?(): void;
  /** The most bytes this process used since the last `resetPeak` (or its start), or null if unknown. Optional. */
  peakBytes?(): Promise<number | null>;
  /** Returns the memory of unreachable buffers to the OS now (Node: a forced GC). Optional. */
  reclaim?(): void;
  /**
   * Bytes the process will still grow by on its own before it is warm, which its footprint does not show yet (Node:
   * the ONNX Runtime environment its first session creates, the JS engine's young generation reaching its working
   * size). Process limits count it into every stage's base. Optional (0).
   */
  pendingGrowthBytes?(): number;
}

/** Monotonic time. */
export interface Clock {
  /** Milliseconds from an arbitrary origin, monotonic (performance.now()). */
  nowMs(): number;
}
