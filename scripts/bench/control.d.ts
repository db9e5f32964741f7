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

export type ErrorCode = "ENXIO" | "EINVAL" | "ENOMEM" | "EPERM" | "EBUSY" | "ETIMEDOUT";
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
export declare function requestIrq(dev: ProbeDevice, handler: IrqHandler | null, options?: IrqOptions): IrqHandle;
export declare function allocIrqVectors(dev: ProbeDevice, min: number, max: number, types?: IrqVectorTypes): IrqVectors;
export declare function spawn(dev: ProbeDevice, work: TaskWork): Task;

export interface DriverInstance<_Scope = unknown> {
  readonly remove?: (dev: ProbeDevice) => void;
  readonly drop?: (dev: SleepableDevice) => void;
}
export interface IdMatch {
  readonly vendor: number;
  readonly device: number;
  readonly subvendor?: number;
  readonly subdevice?: number;
  readonly class?: number;
  readonly classMask?: number;
}
export type DeviceId<Data = undefined> = IdMatch & (undefined extends Data ? { readonly data?: Data } : { readonly data: Data });
export type MatchedId<Data = undefined> = IdMatch & { readonly data: Data };
export interface DriverSpec {
  readonly name: string;
  readonly ids: readonly DeviceId[];
  readonly probe: (dev: ProbeDevice, id: MatchedId) => DriverInstance | Promise<DriverInstance>;
}
export interface TableDriverSpec<Data> {
  readonly name: string;
  readonly probe: (dev: ProbeDevice, id: MatchedId<Data>) => DriverInstance | Promise<DriverInstance>;
}
export interface Driver {
  readonly name: string;
  readonly ids: readonly DeviceId<unknown>[];
}
export declare function defineDriver(spec: DriverSpec): Driver;
export interface DeviceTable<Data> {
  readonly ids: readonly MatchedId<Data>[];
  defineDriver(spec: TableDriverSpec<Data>): Driver;
}
export declare function deviceTable<const Data = undefined>(ids: readonly DeviceId<Data>[]): DeviceTable<Data>;

/** The data and ops a parent and its auxiliary drivers share: named, not branded. */
export type AuxiliaryOps = { readonly [op: string]: (...args: never[]) => unknown };
export interface AuxiliaryType<_Data, _Ops extends AuxiliaryOps = {}> {
  readonly name: string;
}
export declare function auxiliaryType<Data, Ops extends AuxiliaryOps = {}>(name: string): AuxiliaryType<Data, Ops>;
export type ParentOps<_Scope, Ops extends AuxiliaryOps> = {
  readonly [Op in keyof Ops]: (dev: SleepableDevice, ...args: Parameters<Ops[Op]>) => ReturnType<Ops[Op]> | Promise<Awaited<ReturnType<Ops[Op]>>>;
};
export type AuxiliaryInit<_Scope, Data, Ops extends AuxiliaryOps = {}> = { readonly id: number; readonly data: Data } & ([keyof Ops] extends [never]
  ? { readonly ops?: ParentOps<unknown, Ops> }
  : { readonly ops: ParentOps<unknown, Ops> });
export interface AuxiliaryDevice<_Scope = unknown> {
  readonly name: string;
  readonly device: Device;
  readonly removed: boolean;
  remove(dev: ProbeDevice): Promise<void>;
}
export declare function addAuxiliaryDevice<Data, Ops extends AuxiliaryOps = {}>(dev: ProbeDevice, type: AuxiliaryType<Data, Ops>, init: AuxiliaryInit<unknown, Data, Ops>): AuxiliaryDevice;
export interface ParentData<_Scope, Data, Ops extends AuxiliaryOps = {}> {
  readonly parentDevice: Device;
  access(dev: BoundDevice): Data;
  call<Op extends keyof Ops & string>(dev: SleepableDevice, op: Op, ...args: Parameters<Ops[Op]>): Promise<Awaited<ReturnType<Ops[Op]>>>;
}
export interface AuxiliaryDriverSpec<Data, Ops extends AuxiliaryOps = {}> {
  readonly name: string;
  readonly probe: (dev: ProbeDevice, parent: ParentData<unknown, Data, Ops>) => DriverInstance | Promise<DriverInstance>;
}
export interface AuxiliaryDriver {
  readonly name: string;
  readonly ids: readonly { readonly name: string }[];
}
export declare function defineAuxiliaryDriver<Data, Ops extends AuxiliaryOps = {}>(...ids: readonly AuxiliaryType<Data, Ops>[]): (spec: AuxiliaryDriverSpec<Data, Ops>) => AuxiliaryDriver;

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
export declare function vmalloc(dev: NotAtomicDevice, size: number): KernelBuffer<"vmalloc">;

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
  static new<Value>(dev: BoundDevice, value: Value, release?: (value: Value) => void): Devres<unknown, Value>;
  access(dev: BoundDevice): Value;
  tryAccess(): Value | undefined;
  tryAccessWith<Result>(use: (value: Value) => Result): Result | undefined;
  tryAccessAsync<Result>(use: (value: Value) => Result | PromiseLike<Result>): Promise<Result | undefined>;
  get revoked(): boolean;
  release(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
export type DevresGroupState = "open" | "closed" | "released" | "removed";
export interface DevresGroup<_Scope = unknown> {
  readonly state: DevresGroupState;
  readonly size: number;
  close(dev: ProbeDevice): void;
  release(dev: ProbeDevice): Promise<void>;
  remove(dev: ProbeDevice): void;
  keep(dev: ProbeDevice): void;
  [Symbol.asyncDispose](): Promise<void>;
}
export declare function openDevresGroup(dev: ProbeDevice): DevresGroup;

/** No check that the accessor is synchronous: the value, as it is. */
export type NotAPromise<Result> = Result;
export declare class Revocable<Value> {
  constructor(value: Value, release?: (value: Value) => void);
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
export interface Clock {
  readonly now: number;
  readonly pending: number;
  after(ns: number, run: () => void): Timer;
}
export declare function sleep(dev: SleepableDevice, ns: number): Promise<void>;

export interface PollOptions {
  readonly sleepNs: number;
  readonly timeoutNs: number;
}
export interface AtomicPollOptions {
  readonly delayNs: number;
  readonly timeoutNs: number;
}
export declare function readPollTimeout<Value>(dev: SleepableDevice, read: () => Value, cond: (value: Value) => boolean, options: PollOptions): Promise<Value>;
export declare function readPollTimeoutAtomic<Value>(dev: BoundDevice, read: () => Value, cond: (value: Value) => boolean, options: AtomicPollOptions): Value;

export type MmioWidth = 1 | 2 | 4 | 8;
export type ConfigWidth = 1 | 2 | 4;
export interface PciCapabilitySpec {
  readonly id: number;
  readonly bytes: Uint8Array;
}
export interface DeviceModelSpec {
  readonly vendor: number;
  readonly device: number;
  readonly name?: string;
  readonly bars?: readonly number[];
  readonly dmaCoherent?: boolean;
  readonly msix?: number;
  readonly msi?: number;
  readonly intx?: number;
  readonly revision?: number;
  readonly classCode?: number;
  readonly capabilities?: readonly PciCapabilitySpec[];
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
  readonly msix: number;
  readonly msi: number;
  readonly intx: number | undefined;
  readonly revision: number;
  readonly classCode: number;
  readonly capabilities: readonly PciCapabilitySpec[];
  constructor(spec: DeviceModelSpec);
  mmioRead(bar: number, offset: number, width: MmioWidth): number | bigint;
  mmioWrite(bar: number, offset: number, width: MmioWidth, value: number | bigint): void;
  busMasterChanged(enabled: boolean): void;
  removed(): void;
  reset(): void;
  configRead(offset: number, width: ConfigWidth, stored: number): number;
  configWrite(offset: number, width: ConfigWidth, value: number): void;
  protected get now(): number;
  protected get busMaster(): boolean;
  protected get present(): boolean;
  protected after(ns: number, work: () => void): Timer;
  protected dmaRead(address: bigint, length: number): Uint8Array;
  protected dmaReadInto(address: bigint, into: Uint8Array): Uint8Array;
  protected dmaWrite(address: bigint, data: Uint8Array): boolean;
  protected raiseIrq(): void;
  protected raiseMsi(vector: number): void;
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

export type IrqReturn = "handled" | "none" | "wake-thread";
export type IrqKind = "msix" | "msi" | "legacy";
export type IrqHandler<_Scope = unknown> = (dev: IrqDevice) => void;
export type IrqThread<_Scope = unknown> = (dev: TaskDevice) => void | Promise<void>;
export interface IrqOptions<_Scope = unknown> {
  readonly shared?: boolean;
  readonly thread?: IrqThread;
  readonly oneshot?: boolean;
  readonly name?: string;
}
export interface IrqHandle<_Scope = unknown> {
  readonly irq: number;
  readonly count: number;
  readonly freed: boolean;
  disable(): void;
  enable(): void;
  synchronize(): Promise<void>;
  free(): Promise<void>;
  [Symbol.dispose](): void;
  [Symbol.asyncDispose](): Promise<void>;
}
export interface IrqVectorTypes {
  readonly msix?: boolean;
  readonly msi?: boolean;
  readonly legacy?: boolean;
}
export interface IrqVectors<_Scope = unknown> {
  readonly count: number;
  readonly kind: IrqKind;
  irq(index: number): number;
  request(index: number, handler: IrqHandler | null, options?: IrqOptions): IrqHandle;
}

export interface TaskSignal {
  readonly aborted: boolean;
  readonly whenAborted: Promise<void>;
  throwIfAborted(): void;
}
export type TaskWork<_Scope = unknown> = (dev: TaskDevice, signal: TaskSignal) => Promise<void>;
export interface Task<_Scope = unknown> {
  readonly done: Promise<void>;
  cancel(): void;
  stop(dev: SleepableDevice): Promise<void>;
}

/** The config-space offsets and bits: private, so the name declares no type the package lacks. */
type pciRegs = Readonly<{
  readonly VENDOR_ID: 0;
  readonly DEVICE_ID: 2;
  readonly COMMAND: 4;
  readonly COMMAND_IO: 1;
  readonly COMMAND_MEMORY: 2;
  readonly COMMAND_MASTER: 4;
  readonly COMMAND_PARITY: 64;
  readonly COMMAND_SERR: 256;
  readonly COMMAND_INTX_DISABLE: 1024;
  readonly STATUS: 6;
  readonly STATUS_INTERRUPT: 8;
  readonly STATUS_CAP_LIST: 16;
  readonly STATUS_PARITY: 256;
  readonly STATUS_SIG_TARGET_ABORT: 2048;
  readonly STATUS_REC_TARGET_ABORT: 4096;
  readonly STATUS_REC_MASTER_ABORT: 8192;
  readonly STATUS_SIG_SYSTEM_ERROR: 16384;
  readonly STATUS_DETECTED_PARITY: 32768;
  readonly REVISION_ID: 8;
  readonly CLASS_PROG: 9;
  readonly CLASS_DEVICE: 10;
  readonly CACHE_LINE_SIZE: 12;
  readonly LATENCY_TIMER: 13;
  readonly HEADER_TYPE: 14;
  readonly BIST: 15;
  readonly BASE_ADDRESS_0: 16;
  readonly BASE_ADDRESS_SPACE_IO: 1;
  readonly BASE_ADDRESS_MEM_TYPE_64: 4;
  readonly BASE_ADDRESS_MEM_PREFETCH: 8;
  readonly BASE_ADDRESS_MEM_MASK: 4294967280;
  readonly SUBSYSTEM_VENDOR_ID: 44;
  readonly SUBSYSTEM_ID: 46;
  readonly CAPABILITY_LIST: 52;
  readonly INTERRUPT_LINE: 60;
  readonly INTERRUPT_PIN: 61;
  readonly CAP_LIST_ID: 0;
  readonly CAP_LIST_NEXT: 1;
  readonly CAP_ID_VNDR: 9;
  readonly CAP_ID_EXP: 16;
  readonly CAP_ID_MSIX: 17;
  readonly EXP_FLAGS: 2;
  readonly EXP_DEVCAP: 4;
  readonly EXP_DEVCAP_FLR: 268435456;
  readonly EXP_DEVCTL: 8;
  readonly EXP_DEVCTL_BCR_FLR: 32768;
  readonly EXP_DEVSTA: 10;
  readonly MSIX_FLAGS: 2;
  readonly MSIX_FLAGS_QSIZE: 2047;
  readonly MSIX_FLAGS_MASKALL: 16384;
  readonly MSIX_FLAGS_ENABLE: 32768;
  readonly MSIX_TABLE: 4;
  readonly MSIX_TABLE_BIR: 7;
  readonly MSIX_TABLE_OFFSET: 4294967288;
  readonly MSIX_PBA: 8;
}>;
export declare const pciRegs: pciRegs;
export declare function pciReadConfigByte(dev: BoundDevice, offset: number): number;
export declare function pciReadConfigWord(dev: BoundDevice, offset: number): number;
export declare function pciReadConfigDword(dev: BoundDevice, offset: number): number;
export declare function pciWriteConfigByte(dev: BoundDevice, offset: number, value: number): void;
export declare function pciWriteConfigWord(dev: BoundDevice, offset: number, value: number): void;
export declare function pciWriteConfigDword(dev: BoundDevice, offset: number, value: number): void;
export declare function pciFindCapability(dev: BoundDevice, id: number): number;
export declare function pciFindNextCapability(dev: BoundDevice, position: number, id: number): number;
export declare function pciEnableDevice(dev: ProbeDevice): void;
export declare function pcimEnableDevice(dev: ProbeDevice): void;
export declare function pciDisableDevice(dev: ProbeDevice): void;
export declare function pciResetFunction(dev: SleepableDevice): Promise<void>;

export type NetdevTx = "ok" | "busy";
export interface NetdevOps<_Scope = unknown> {
  readonly open?: (dev: SleepableDevice) => void | Promise<void>;
  readonly stop?: (dev: SleepableDevice) => void | Promise<void>;
  readonly transmit: (dev: AtomicDevice, packet: Uint8Array) => NetdevTx;
  readonly poll?: (dev: AtomicDevice, budget: number) => number;
}
export interface NetdevOptions {
  readonly name?: string;
  readonly mtu?: number;
  readonly weight?: number;
}
export interface Netdev<_Scope = unknown> {
  readonly name: string;
  readonly registered: boolean;
  readonly queueStopped: boolean;
  napiSchedule(): boolean;
  receive(dev: BoundDevice, frame: Uint8Array): void;
  stopQueue(): void;
  wakeQueue(): void;
  unregister(): Promise<void>;
}
export declare function registerNetdev(dev: ProbeDevice, ops: NetdevOps, options?: NetdevOptions): Netdev;

export type BlockStatus = "ok" | "error";
export interface BlockRequest<_Scope = unknown> {
  readonly op: "read" | "write";
  readonly sector: number;
  readonly count: number;
  readonly data: Uint8Array;
  readonly tag: number;
  readonly completed: boolean;
  complete(dev: BoundDevice, status?: BlockStatus): void;
}
export interface BlockDeviceOps<_Scope = unknown> {
  readonly submit: (dev: AtomicDevice, request: BlockRequest) => void | "busy" | Promise<void>;
}
export interface BlockDeviceOptions {
  readonly sectors: number;
  readonly sectorSize?: number;
  readonly queueDepth?: number;
  readonly name?: string;
}
export interface BlockDevice<_Scope = unknown> {
  readonly name: string;
  readonly registered: boolean;
  readonly inFlight: number;
  unregister(): Promise<void>;
}
export declare function registerBlockDevice(dev: ProbeDevice, ops: BlockDeviceOps, options: BlockDeviceOptions): BlockDevice;

export interface PlugSpec {
  readonly vendor: number;
  readonly device: number;
  readonly name?: string;
  readonly dmaCoherent?: boolean;
}
export interface PlugOptions {
  readonly parent?: Device;
}
export interface Bus {
  readonly devices: readonly Device[];
  readonly drivers: readonly Driver[];
  plug(spec: PlugSpec | DeviceModel, options?: PlugOptions): Device;
  unplug(dev: Device): Promise<void>;
  remove(dev: Device): Promise<void>;
  rescan(): Promise<readonly Device[]>;
  parent(dev: Device): Device | undefined;
  children(dev: Device): readonly Device[];
  unbind(dev: Device): Promise<void>;
  bind(dev: Device): Promise<void>;
  register(driver: Driver): Promise<void>;
  unregister(driver: Driver): Promise<void>;
  settled(): Promise<void>;
}
export interface AuxiliaryBus {
  readonly devices: readonly Device[];
  readonly drivers: readonly AuxiliaryDriver[];
  register(driver: AuxiliaryDriver): Promise<void>;
  unregister(driver: AuxiliaryDriver): Promise<void>;
  unbind(dev: Device): Promise<void>;
  parent(dev: Device): Device | undefined;
  settled(): Promise<void>;
}
export interface DeviceLink {
  readonly consumer: Device;
  readonly supplier: Device;
  readonly live: boolean;
  remove(): void;
}
export interface Links {
  add(consumer: Device, supplier: Device): DeviceLink;
  of(dev: Device): readonly DeviceLink[];
}

export interface NetStats {
  readonly txPackets: number;
  readonly txBytes: number;
  readonly txBusy: number;
  readonly txDropped: number;
  readonly rxPackets: number;
  readonly rxBytes: number;
  readonly polls: number;
}
export type NetInterfaceState = "down" | "up" | "gone";
export interface NetInterface {
  readonly name: string;
  readonly device: string;
  readonly driver: string;
  readonly mtu: number;
  readonly state: NetInterfaceState;
  readonly queueStopped: boolean;
  readonly queued: number;
  readonly stats: NetStats;
  up(): Promise<void>;
  down(): Promise<void>;
}
export interface Socket {
  readonly interface: string;
  readonly received: number;
  readonly dropped: number;
  readonly pending: number;
  readonly closed: boolean;
  send(frame: Uint8Array): void;
  recv(): Promise<Uint8Array>;
  tryRecv(): Uint8Array | undefined;
  close(): void;
}
export interface Net {
  readonly interfaces: readonly NetInterface[];
  interface(name: string): NetInterface;
  socket(name: string): Socket;
}
export interface DiskStats {
  readonly reads: number;
  readonly writes: number;
  readonly sectorsRead: number;
  readonly sectorsWritten: number;
  readonly errors: number;
  readonly busy: number;
}
export interface Disk {
  readonly name: string;
  readonly device: string;
  readonly driver: string;
  readonly sectors: number;
  readonly sectorSize: number;
  readonly registered: boolean;
  readonly inFlight: number;
  readonly queued: number;
  readonly stats: DiskStats;
  read(sector: number, count: number): Promise<Uint8Array>;
  write(sector: number, data: Uint8Array): Promise<void>;
}
export interface Block {
  readonly disks: readonly Disk[];
  disk(name: string): Disk;
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
  | "irq-nobody-cared"
  | "dma-after-unmap"
  | "dma-into-cpu-owned"
  | "dma-wrong-direction"
  | "cpu-access-device-owned"
  | "sleep-in-atomic"
  | "hung";
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
export interface DmaDebug {
  readonly mode: DmaDebugMode;
  readonly violations: readonly DmaViolation[];
  readonly repeats: number;
  readonly enabled: boolean;
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
  | "irq-disabled"
  | "task-failed"
  | "teardown-failed"
  | "dma-blocked"
  | "iommu-fault"
  | "alloc"
  | "free"
  | "revoke"
  | "irq"
  | "dma"
  | "violation"
  | "model-failed"
  | "pci-reset"
  | "hung"
  | "finished-late"
  | "subsys-register"
  | "subsys-unregister"
  | "subsys-failed"
  | "device-remove"
  | "rescan"
  | "aux-add"
  | "aux-del"
  | "link-add"
  | "link-remove"
  | "probe-deferred";
export type EndReason = "probe failed" | "unbound" | "unplugged" | "driver unregistered" | "removed" | "supplier unbound";
export type ResourceKind = "coherent" | "devres" | "mmio" | "irq" | "irq-vectors" | "bus-master" | "pci-enable" | "streaming" | "dma-pool";
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
  readonly waitsOn: string | undefined;
  readonly waitedNs: number | undefined;
  readonly parent: string | undefined;
  readonly supplier: string | undefined;
  readonly violation: DmaViolationKind | undefined;
}
export type EventListener = (event: MachineEvent) => void;

export type FaultKind = "alloc" | "map" | "irq";
export interface SchedulePoint {
  readonly kind: "event" | "sleep" | "callback";
  readonly what: string;
  readonly device: string | undefined;
  readonly time: number;
}
export interface FaultInjection {
  readonly shouldFail?: (kind: FaultKind, what: string, device: string) => boolean;
  readonly point?: (point: SchedulePoint) => void;
}
export interface MachineOptions {
  readonly memory?: MemoryOptions;
  readonly iommu?: IommuMode;
  readonly dmaDebug?: DmaDebugMode;
  readonly dmaCoherent?: boolean;
  readonly watchdogNs?: number;
  readonly dmaLimitBits?: number;
  readonly faultInjection?: FaultInjection;
}
export declare class Machine {
  readonly memory: Memory;
  readonly pci: Bus;
  readonly auxiliary: AuxiliaryBus;
  readonly links: Links;
  readonly net: Net;
  readonly block: Block;
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
  readonly ph: "B" | "E" | "i" | "M" | "s" | "f";
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly cat?: string;
  readonly s?: "t" | "p" | "g";
  readonly id?: number;
  readonly bp?: "e";
  readonly args?: Readonly<Record<string, string | number>>;
}
export interface ChromeTrace {
  readonly traceEvents: readonly ChromeTraceEvent[];
  readonly displayTimeUnit: "ns";
}
export interface Trace {
  readonly events: readonly MachineEvent[];
  toChromeTrace(): ChromeTrace;
  toSvg(options?: TimelineOptions): string;
}
export interface TimelineMark {
  readonly afterSeq: number;
  readonly text: string;
}
export interface TimelineOptions {
  readonly axis?: "order" | "time";
  readonly width?: number;
  readonly marks?: readonly TimelineMark[];
}

export type FieldType = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";
export type FieldValue<Type extends FieldType> = Type extends "u64" | "i64" ? bigint : number;
export interface ArrayField<Element extends FieldType | Struct<any>, Length extends number> {
  readonly of: Element;
  readonly length: Length;
}
export type FieldSpec = FieldType | Struct<any> | ArrayField<any, number>;
export type StructFields = Readonly<Record<string, FieldSpec>>;
type ValueOf<Spec> = Spec extends FieldType
  ? FieldValue<Spec>
  : Spec extends Struct<infer Fields>
    ? StructValue<Fields>
    : Spec extends ArrayField<infer Element, number>
      ? ValueOf<Element>[]
      : never;
export type StructValue<Fields extends StructFields> = { -readonly [Name in keyof Fields]: ValueOf<Fields[Name]> };
type InputOf<Spec> = Spec extends FieldType
  ? FieldValue<Spec>
  : Spec extends Struct<infer Fields>
    ? StructInput<Fields>
    : Spec extends ArrayField<infer Element, number>
      ? readonly (InputOf<Element> | undefined)[]
      : never;
export type StructInput<Fields extends StructFields, _Scope = unknown> = { -readonly [Name in keyof Fields]?: InputOf<Fields[Name]> };
type SubPath<Spec> = Spec extends Struct<infer Fields>
  ? FieldPath<Fields>
  : Spec extends ArrayField<infer Element, number>
    ? `${number}` | `${number}.${SubPath<Element>}`
    : never;
export type FieldPath<Fields extends StructFields> = { [Name in keyof Fields & string]: Name | `${Name}.${SubPath<Fields[Name]>}` }[keyof Fields & string];
type SpecBelow<Spec, Path extends string> = Spec extends Struct<infer Fields>
  ? SpecAt<Fields, Path>
  : Spec extends ArrayField<infer Element, number>
    ? Path extends `${number}`
      ? Element
      : Path extends `${number}.${infer Rest}`
        ? SpecBelow<Element, Rest>
        : never
    : never;
type SpecAt<Fields extends StructFields, Path extends string> = Path extends keyof Fields
  ? Fields[Path]
  : Path extends `${infer Name}.${infer Rest}`
    ? Name extends keyof Fields
      ? SpecBelow<Fields[Name], Rest>
      : never
    : never;
export interface Struct<Fields extends StructFields> {
  readonly size: number;
  readonly align: number;
  readonly offsets: { readonly [Name in keyof Fields]: number };
  offsetOf(path: FieldPath<Fields>): number;
  count(view: DataView): number;
  at<View extends DataView>(view: View, base: number): View;
  get<Path extends FieldPath<Fields>>(view: DataView, index: number, field: Path): ValueOf<SpecAt<Fields, Path>>;
  set<Path extends FieldPath<Fields>>(view: DataView, index: number, field: Path, value: NoInfer<InputOf<SpecAt<Fields, Path>>>): void;
  read(view: DataView, index: number): StructValue<Fields>;
  write(view: DataView, index: number, values: NoInfer<StructInput<Fields>>): void;
}
export declare function arrayOf<const Element extends FieldType | Struct<any>, const Length extends number>(element: Element, length: Length): ArrayField<Element, Length>;
export declare function defineStruct<const Fields extends StructFields>(fields: Fields): Struct<Fields>;

/** The helper types above and the constant's type stay private, as in the package. */
export {};
