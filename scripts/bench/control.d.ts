/**
 * The compile-time control: boundscope's public API surface (every name
 * `src/index.ts` exports, with the same members), minus what the guarantees
 * cost. No brands, no invariant scope, no `in out`, no generic `probe`.
 *
 * Where driver code writes a scope argument (`CoherentAllocation<Scope>`),
 * the type still takes one, so the same driver source compiles against both,
 * but the parameter is phantom: unused, so every scope relates to every other.
 * The bench maps `"boundscope"` here in the control project.
 */

export type ErrorCode = "ENXIO" | "EINVAL" | "ENOMEM" | "EPERM" | "EBUSY";
export declare class BoundscopeError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
}

export type DeviceState = "no-driver" | "probing" | "bound" | "unbinding" | "zombie";
export interface Device {
  readonly name: string;
  readonly vendor: number;
  readonly device: number;
  readonly state: DeviceState;
}
export interface BoundDevice<_Scope = unknown> extends Device {}
export interface ProbeDevice<_Scope = unknown> extends BoundDevice {}
export interface IrqDevice<_Scope = unknown> extends BoundDevice {}
export interface TaskDevice<_Scope = unknown> extends BoundDevice {}
export interface SleepableDevice<_Scope = unknown> extends BoundDevice {}
export interface AtomicDevice<_Scope = unknown> extends BoundDevice {}
export type NotAtomicDevice<_Scope = unknown> = BoundDevice;
export type Gfp = "kernel" | "atomic";
export declare function setDmaMask(dev: ProbeDevice, bits: number): void;
export declare function enableBusMaster(dev: ProbeDevice): void;
export declare function iomap(dev: ProbeDevice, bar: number): IoMapping;
export declare function requestIrq(dev: ProbeDevice, handler: IrqHandler): IrqHandle;
export declare function spawn(dev: ProbeDevice, work: TaskWork): Task;

export interface DriverInstance<_Scope = unknown> {
  remove?: (dev: ProbeDevice) => void;
}
export interface DeviceId {
  readonly vendor: number;
  readonly device: number;
}
export interface DriverSpec {
  readonly name: string;
  readonly ids: readonly DeviceId[];
  readonly probe: (dev: ProbeDevice) => DriverInstance | Promise<DriverInstance>;
}
export interface Driver {
  readonly name: string;
  readonly ids: readonly DeviceId[];
}
export declare function defineDriver(spec: DriverSpec): Driver;

export type DataDirection = "to-device" | "from-device" | "bidirectional";
export type DmaMappingKind = "coherent" | "single" | "sg" | "pool";
export type DmaAddress<_Scope = unknown, _Kind extends DmaMappingKind = DmaMappingKind> = bigint;
export type RegisterValue<_Scope = unknown> = bigint;
export type ScopedView<_Scope = unknown> = DataView;
export interface CoherentAllocation<_Scope = unknown> {
  readonly size: number;
  readonly dmaHandle: DmaAddress;
  readonly freed: boolean;
  bytes(dev: BoundDevice): Uint8Array;
  view(dev: BoundDevice): DataView;
  free(): void;
  [Symbol.dispose](): void;
}
export declare function allocCoherent(dev: BoundDevice, size: number, gfp?: Gfp): CoherentAllocation;
export declare function freeCoherent(dev: BoundDevice, handle: DmaAddress, size?: number, cpu?: Uint8Array): void;

export interface KernelBuffer<Allocator extends "kmalloc" | "vmalloc" = "kmalloc" | "vmalloc"> {
  readonly size: number;
  readonly allocator: Allocator;
  readonly freed: boolean;
  bytes(): Uint8Array;
  view(): DataView;
  free(): void;
  [Symbol.dispose](): void;
}
export declare function kmalloc(dev: BoundDevice, size: number, gfp?: Gfp): KernelBuffer<"kmalloc">;
export declare function vmalloc(dev: BoundDevice, size: number): KernelBuffer<"vmalloc">;

export type StreamingAddress<_Scope = unknown, _Dir extends DataDirection = DataDirection> = bigint;
export type ReadonlyBytes = Omit<Readonly<Uint8Array>, "set" | "fill" | "copyWithin" | "reverse" | "sort" | "subarray" | "buffer"> & {
  subarray(begin?: number, end?: number): ReadonlyBytes;
};
/** One handle type for every state and direction: no typestate. */
export interface StreamingMapping<_Scope = unknown, Dir extends DataDirection = DataDirection> {
  readonly dmaAddress: StreamingAddress;
  readonly size: number;
  readonly direction: Dir;
  readonly bounced: boolean;
  readonly state: "device" | "cpu" | "unmapped";
  readonly owner: "device" | "cpu";
  readonly buffer: KernelBuffer;
  unmap(dev: BoundDevice): void;
  syncForCpu(dev: BoundDevice, offset?: number, length?: number): StreamingMapping<unknown, Dir>;
  syncForDevice(dev: BoundDevice, offset?: number, length?: number): StreamingMapping<unknown, Dir>;
  bytes(dev: BoundDevice): Uint8Array;
}
export type DeviceOwnedToDevice<_Scope = unknown> = StreamingMapping<unknown, "to-device">;
export type DeviceOwnedFromDevice<_Scope = unknown> = StreamingMapping<unknown, "from-device">;
export type DeviceOwnedBidirectional<_Scope = unknown> = StreamingMapping<unknown, "bidirectional">;
export type CpuOwnedFromDevice<_Scope = unknown> = StreamingMapping<unknown, "from-device">;
export type CpuOwnedBidirectional<_Scope = unknown> = StreamingMapping<unknown, "bidirectional">;
export type DeviceOwned<_Scope = unknown, Dir extends DataDirection = DataDirection> = StreamingMapping<unknown, Dir>;
export type CpuOwned<_Scope = unknown, Dir extends "from-device" | "bidirectional" = "from-device" | "bidirectional"> = StreamingMapping<unknown, Dir>;
export declare function mapSingle<Dir extends DataDirection>(dev: BoundDevice, buffer: KernelBuffer, direction: Dir, offset?: number, length?: number): StreamingMapping<unknown, Dir>;
export declare function unmapSingle(dev: BoundDevice, address: StreamingAddress, size: number, direction: DataDirection): void;
export declare function syncSingleForCpu(dev: BoundDevice, address: StreamingAddress, size: number, direction: DataDirection, offset?: number): void;
export declare function syncSingleForDevice(dev: BoundDevice, address: StreamingAddress, size: number, direction: DataDirection, offset?: number): void;

export interface SgSegment<_Scope = unknown> {
  readonly dmaAddress: DmaAddress;
  readonly length: number;
}
export interface SgPiece {
  readonly buffer: KernelBuffer;
  readonly offset: number;
  readonly length: number;
}
export interface SgMapping<_Scope = unknown, Dir extends DataDirection = DataDirection> {
  readonly segments: readonly SgSegment[];
  readonly entries: number;
  readonly size: number;
  readonly direction: Dir;
  readonly bounced: boolean;
  readonly state: "device" | "cpu" | "unmapped";
  readonly owner: "device" | "cpu";
  readonly buffers: readonly KernelBuffer[];
  unmap(dev: BoundDevice): void;
  syncForCpu(dev: BoundDevice): SgMapping<unknown, Dir>;
  syncForDevice(dev: BoundDevice): SgMapping<unknown, Dir>;
}
export type SgTable<_Scope = unknown, Dir extends DataDirection = DataDirection> = SgMapping<unknown, Dir>;
export type CpuOwnedSgTable<_Scope = unknown, Dir extends DataDirection = DataDirection> = SgMapping<unknown, Dir>;
export declare function mapSg<Dir extends DataDirection>(dev: BoundDevice, source: KernelBuffer | readonly (KernelBuffer | SgPiece)[], direction: Dir): SgMapping<unknown, Dir>;
export declare function unmapSg(dev: BoundDevice, table: SgMapping, entries: number, direction: DataDirection): void;
export declare function syncSgForCpu(dev: BoundDevice, table: SgMapping, entries: number, direction: DataDirection): void;
export declare function syncSgForDevice(dev: BoundDevice, table: SgMapping, entries: number, direction: DataDirection): void;
export declare function setMaxSegmentSize(dev: ProbeDevice, bytes: number): void;
export declare function setSegmentBoundary(dev: ProbeDevice, mask: bigint): void;

export interface PoolBlock<_Scope = unknown> {
  readonly dmaHandle: DmaAddress;
  readonly size: number;
  readonly freed: boolean;
  bytes(dev: BoundDevice): Uint8Array;
  view(dev: BoundDevice): DataView;
  free(): void;
  [Symbol.dispose](): void;
}
export interface DmaPool<_Scope = unknown> {
  readonly name: string;
  readonly size: number;
  readonly align: number;
  readonly boundary: number;
  readonly inUse: number;
  alloc(dev: BoundDevice, gfp?: Gfp): PoolBlock;
  free(dev: BoundDevice, cpu: Uint8Array | undefined, handle: DmaAddress): void;
  destroy(): void;
}
export declare function createDmaPool(dev: ProbeDevice, name: string, size: number, align?: number, boundary?: number): DmaPool;

export declare class Devres<_Scope, Value> {
  private constructor();
  static new<Value>(dev: BoundDevice, value: Value, release?: (value: Value) => void | Promise<void>): Devres<unknown, Value>;
  access(dev: BoundDevice): Value;
  tryAccess(): Value | undefined;
  tryAccessWith<Result>(use: (value: Value) => Result): Result | undefined;
  tryAccessAsync<Result>(use: (value: Value) => Result | PromiseLike<Result>): Promise<Result | undefined>;
  get revoked(): boolean;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export declare class Revocable<Value> {
  constructor(value: Value, release?: (value: Value) => void | Promise<void>);
  get revoked(): boolean;
  tryAccess(): Value | undefined;
  tryAccessWith<Result>(use: (value: Value) => Result): Result | undefined;
  tryAccessAsync<Result>(use: (value: Value) => Result | PromiseLike<Result>): Promise<Result | undefined>;
  revoke(): Promise<boolean>;
}

export type IommuMode = "strict" | "passthrough";
export type DmaDirection = "read" | "write";
export interface IommuFault {
  readonly device: string;
  readonly address: bigint;
  readonly length: number;
  readonly direction: DmaDirection;
  readonly time: number;
}
export interface Iommu {
  readonly mode: IommuMode;
  readonly faults: readonly IommuFault[];
}

export interface Timer {
  readonly at: number;
  cancel(): void;
}
export declare class Clock {
  get now(): number;
  get pending(): number;
  after(ns: number, run: () => void): Timer;
  run(ns: number): Promise<void>;
  sleep(ns: number): Promise<void>;
  elapse(ns: number): Promise<void>;
  runUntilIdle(maxEvents?: number): Promise<void>;
}
export declare function sleep(dev: BoundDevice, ns: number): Promise<void>;

export type MmioWidth = 1 | 2 | 4 | 8;
export interface DeviceModelSpec {
  readonly vendor: number;
  readonly device: number;
  readonly name?: string;
  readonly bars?: readonly number[];
  readonly dmaCoherent?: boolean;
}
export interface Hold {
  readonly address: bigint;
  readonly length: number;
  readonly what: string;
}
export declare class DeviceModel {
  readonly vendor: number;
  readonly device: number;
  readonly name: string | undefined;
  readonly bars: readonly number[];
  readonly dmaCoherent: boolean | undefined;
  constructor(spec: DeviceModelSpec);
  mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint;
  mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void;
  busMasterChanged(enabled: boolean): void;
  removed(): void;
  protected get now(): number;
  protected get busMaster(): boolean;
  protected get present(): boolean;
  protected after(ns: number, work: () => void): Timer;
  protected dmaRead(address: bigint, length: number): Uint8Array;
  protected dmaReadInto(address: bigint, into: Uint8Array): Uint8Array;
  protected dmaWrite(address: bigint, data: Uint8Array): boolean;
  protected raiseIrq(): void;
  protected hold(address: bigint, length: number, what: string): void;
  protected unhold(address: bigint, length?: number): void;
}

export interface IoMapping<_Scope = unknown> {
  readonly bar: number;
  readonly size: number;
  read8(dev: BoundDevice, offset: number): number;
  read16(dev: BoundDevice, offset: number): number;
  read32(dev: BoundDevice, offset: number): number;
  read64(dev: BoundDevice, offset: number): bigint;
  write8(dev: BoundDevice, offset: number, value: number): void;
  write16(dev: BoundDevice, offset: number, value: number): void;
  write32(dev: BoundDevice, offset: number, value: number): void;
  write64(dev: BoundDevice, offset: number, value: bigint): void;
  unmap(): void;
  [Symbol.dispose](): void;
}

export type IrqHandler<_Scope = unknown> = (dev: BoundDevice) => void;
export interface IrqHandle<_Scope = unknown> {
  readonly count: number;
  readonly freed: boolean;
  free(): void;
  [Symbol.dispose](): void;
}

export interface TaskSignal {
  readonly aborted: boolean;
  readonly whenAborted: Promise<void>;
  throwIfAborted(): void;
}
export type TaskWork<_Scope = unknown> = (dev: BoundDevice, signal: TaskSignal) => Promise<void>;
export interface Task<_Scope = unknown> {
  readonly done: Promise<void>;
  cancel(): void;
  stop(dev: BoundDevice): Promise<void>;
}

export interface PlugSpec {
  readonly vendor: number;
  readonly device: number;
  readonly name?: string;
  readonly dmaCoherent?: boolean;
}
export declare class Bus {
  get devices(): readonly Device[];
  get drivers(): readonly Driver[];
  plug(spec: PlugSpec | DeviceModel): Device;
  unplug(dev: Device): Promise<void>;
  unbind(dev: Device): Promise<void>;
  register(driver: Driver): Promise<void>;
  unregister(driver: Driver): Promise<void>;
  settled(): Promise<void>;
}

export interface MemoryOptions {
  readonly bytes?: number;
  readonly pageSize?: number;
  readonly heapBytes?: number;
  readonly swiotlbBytes?: number;
}
export interface ZoneStats {
  readonly capacity: number;
  readonly bytesInUse: number;
  readonly allocations: number;
  readonly highWater: number;
}
export interface MemoryStats {
  readonly capacity: number;
  readonly bytesInUse: number;
  readonly allocations: number;
  readonly highWater: number;
}
export interface Memory {
  readonly capacity: number;
  readonly pageSize: number;
  readonly base: number;
  stats(): MemoryStats;
  fragmentation(): { readonly largestFree: number; readonly free: number };
  heap(): ZoneStats;
  swiotlb(): ZoneStats;
}

export type DmaDebugMode = "report" | "throw" | "off";
export type DmaViolationKind =
  | "dma-after-free"
  | "free-while-held"
  | "dma-after-remove"
  | "dma-outside-mapping"
  | "free-unknown"
  | "double-free"
  | "held-after-unbind"
  | "leak"
  | "wrong-size"
  | "wrong-function"
  | "wrong-cpu-address"
  | "wrong-sg-count"
  | "wrong-direction"
  | "sync-unmapped"
  | "sync-outside-mapping"
  | "sync-wrong-direction"
  | "sync-read-only-for-cpu"
  | "sync-write-only-for-device"
  | "overlapping-cacheline"
  | "sg-segment-too-long"
  | "sg-segment-boundary"
  | "pending-at-unbind"
  | "dma-after-unmap"
  | "dma-into-cpu-owned"
  | "dma-wrong-direction"
  | "cpu-access-device-owned";
export interface DmaViolation {
  readonly kind: DmaViolationKind;
  readonly device: string;
  readonly driver: string | undefined;
  readonly address: bigint | undefined;
  readonly size: number | undefined;
  readonly direction: DmaDirection | undefined;
  readonly time: number;
  readonly allocSite: string | undefined;
  readonly freeSite: string | undefined;
  readonly allocTime: number | undefined;
  readonly freeTime: number | undefined;
  readonly callSite: string | undefined;
  readonly message: string;
}
export declare class DmaDebug {
  readonly mode: DmaDebugMode;
  get violations(): readonly DmaViolation[];
  get repeats(): number;
  get enabled(): boolean;
}

export type MachineEventKind =
  | "plug"
  | "unplug"
  | "register"
  | "unregister"
  | "state"
  | "probe-start"
  | "probe-end"
  | "probe-failed"
  | "remove-start"
  | "remove-end"
  | "remove-failed"
  | "release"
  | "release-failed"
  | "irq-failed"
  | "irq-unhandled"
  | "task-failed"
  | "dma-blocked"
  | "iommu-fault"
  | "alloc"
  | "free"
  | "revoke"
  | "irq"
  | "dma"
  | "violation"
  | "model-failed";
export type EndReason = "probe failed" | "unbound" | "unplugged" | "driver unregistered";
export type ResourceKind = "coherent" | "devres" | "mmio" | "irq" | "bus-master" | "streaming" | "dma-pool";
export interface MachineEvent {
  readonly seq: number;
  readonly kind: MachineEventKind;
  readonly device: string | undefined;
  readonly driver: string | undefined;
  readonly detail: string | undefined;
  readonly error: unknown;
  readonly time: number;
  readonly wall: number;
  readonly address: bigint | undefined;
  readonly size: number | undefined;
  readonly direction: DmaDirection | undefined;
  readonly from: DeviceState | undefined;
  readonly to: DeviceState | undefined;
  readonly reason: EndReason | undefined;
  readonly resource: ResourceKind | undefined;
  readonly bar: number | undefined;
  readonly violation: DmaViolationKind | undefined;
}
export type EventListener = (event: MachineEvent) => void;

export interface MachineOptions {
  readonly memory?: MemoryOptions;
  readonly iommu?: IommuMode;
  readonly dmaDebug?: DmaDebugMode;
  readonly dmaCoherent?: boolean;
}
export declare class Machine {
  readonly memory: Memory;
  readonly pci: Bus;
  readonly dmaDebug: DmaDebug;
  readonly iommu: Iommu;
  readonly clock: Clock;
  constructor(options?: MachineOptions);
  get trace(): Trace;
  get events(): readonly MachineEvent[];
  subscribe(listener: EventListener): () => void;
  run(ns: number): Promise<void>;
  runUntilIdle(maxEvents?: number): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
  settled(): Promise<void>;
}

export interface ChromeTraceEvent {
  readonly name: string;
  readonly ph: "B" | "E" | "i" | "M";
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly s?: "t" | "p" | "g";
  readonly args?: Readonly<Record<string, string | number>>;
}
export interface ChromeTrace {
  readonly traceEvents: readonly ChromeTraceEvent[];
  readonly displayTimeUnit: "ns";
}
export interface Trace {
  readonly events: readonly MachineEvent[];
  toChromeTrace(): ChromeTrace;
  toSvg(): string;
}

export type FieldType = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";
export type FieldValue<Type extends FieldType> = Type extends "u64" | "i64" ? bigint : number;
export type StructFields = Readonly<Record<string, FieldType>>;
export type StructValue<Fields extends StructFields> = { -readonly [Name in keyof Fields]: FieldValue<Fields[Name]> };
export interface Struct<Fields extends StructFields> {
  readonly size: number;
  readonly align: number;
  readonly offsets: { readonly [Name in keyof Fields]: number };
  count(view: DataView): number;
  get<Name extends keyof Fields & string>(view: DataView, index: number, field: Name): FieldValue<Fields[Name]>;
  set<Name extends keyof Fields & string>(view: DataView, index: number, field: Name, value: FieldValue<Fields[Name]>): void;
  read(view: DataView, index: number): StructValue<Fields>;
  write(view: DataView, index: number, values: Partial<StructValue<Fields>>): void;
}
export declare function defineStruct<const Fields extends StructFields>(fields: Fields): Struct<Fields>;
