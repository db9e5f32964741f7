/**
 * boundscope: a device driver's lifetime in its types.
 *
 * Everything a driver, a test or a simulation needs comes from here, layer by
 * layer (see the README's "Layout"). The brand symbols do not: they stay
 * private to the library, so only the core mints tokens. Nor does anything
 * that reaches a binding, the hardware's state or the checker's inputs.
 *
 * # Invariants
 * - Exports only the public API: `api/public-surface.txt` lists it, and
 *   `npm test` compares the published `.d.ts` with it.
 *
 * @module
 */

// Layer 1: internals
export { BoundscopeError } from "./internal/error.js";
export type { ErrorCode } from "./internal/error.js";

// Layer 2: the driver model
export type { AtomicDevice, BoundDevice, Device, DeviceState, IrqDevice, NotAtomicDevice, ProbeDevice, SleepableDevice, TaskDevice } from "./driver/device.js";
export { defineDriver, deviceTable } from "./driver/driver.js";
export type { DeviceId, DeviceTable, Driver, DriverInstance, DriverSpec, IdMatch, MatchedId, TableDriverSpec } from "./driver/driver.js";
export { addAuxiliaryDevice, auxiliaryType, defineAuxiliaryDriver } from "./driver/auxiliary.js";
export type { AuxiliaryDevice, AuxiliaryDriver, AuxiliaryDriverSpec, AuxiliaryInit, AuxiliaryOps, AuxiliaryType, ParentData, ParentOps } from "./driver/auxiliary.js";
export { allocCoherent, enableBusMaster, freeCoherent, setDmaMask } from "./driver/dma.js";
export type { CoherentAllocation, DataDirection, DmaAddress, DmaDirection, DmaMappingKind, RegisterValue, ScopedView } from "./driver/dma.js";
export { kmalloc, vmalloc } from "./driver/kmalloc.js";
export type { KernelBuffer } from "./driver/kmalloc.js";
export { mapSingle, syncSingleForCpu, syncSingleForDevice, unmapSingle } from "./driver/streaming.js";
export type {
  CpuOwned,
  CpuOwnedBidirectional,
  CpuOwnedFromDevice,
  DeviceOwned,
  DeviceOwnedBidirectional,
  DeviceOwnedFromDevice,
  DeviceOwnedToDevice,
  ReadonlyBytes,
  StreamingAddress,
  StreamingMapping,
} from "./driver/streaming.js";
export { mapSg, setMaxSegmentSize, setSegmentBoundary, syncSgForCpu, syncSgForDevice, unmapSg } from "./driver/scatterlist.js";
export type { CpuOwnedSgTable, SgMapping, SgPiece, SgSegment, SgTable } from "./driver/scatterlist.js";
export { createDmaPool } from "./driver/dma-pool.js";
export type { DmaPool, PoolBlock } from "./driver/dma-pool.js";
export { Devres, openDevresGroup } from "./driver/devres.js";
export type { DevresGroup, DevresGroupState } from "./driver/devres.js";
export { Revocable } from "./driver/revocable.js";
export type { NotAPromise } from "./driver/revocable.js";
export { iomap } from "./driver/mmio.js";
export type { IoMapping, MmioWidth } from "./driver/mmio.js";
export { allocIrqVectors, requestIrq } from "./driver/irq.js";
export type { IrqHandle, IrqHandler, IrqKind, IrqOptions, IrqReturn, IrqThread, IrqVectors, IrqVectorTypes } from "./driver/irq.js";
export { spawn } from "./driver/task.js";
export type { Task, TaskSignal, TaskWork } from "./driver/task.js";
export { sleep } from "./driver/delay.js";
export {
  pciDisableDevice,
  pciEnableDevice,
  pciFindCapability,
  pciFindNextCapability,
  pcimEnableDevice,
  pciReadConfigByte,
  pciReadConfigDword,
  pciReadConfigWord,
  pciRegs,
  pciResetFunction,
  pciWriteConfigByte,
  pciWriteConfigDword,
  pciWriteConfigWord,
} from "./driver/pci.js";
export { readPollTimeout, readPollTimeoutAtomic } from "./driver/iopoll.js";
export type { AtomicPollOptions, PollOptions } from "./driver/iopoll.js";
export type { Gfp } from "./driver/context.js";
export { arrayOf, defineStruct } from "./driver/descriptor.js";
export type { ArrayField, FieldPath, FieldSpec, FieldType, FieldValue, Struct, StructFields, StructInput, StructValue } from "./driver/descriptor.js";
export type { Hold } from "./driver/ports.js";
export { registerNetdev } from "./driver/netdev.js";
export type { Netdev, NetdevOps, NetdevOptions, NetdevTx } from "./driver/netdev.js";
export { registerBlockDevice } from "./driver/blkdev.js";
export type { BlockDevice, BlockDeviceOps, BlockDeviceOptions, BlockRequest, BlockStatus } from "./driver/blkdev.js";

// Layer 3: the driver core
export type { AuxiliaryBus } from "./core/auxiliary.js";
export type { DeviceLink, Links } from "./core/device-link.js";

// Layer 4: the kernel's subsystems
export type { Net, NetInterface, NetInterfaceState, NetStats, Socket } from "./subsys/net.js";
export type { Block, Disk, DiskStats } from "./subsys/block.js";

// Layer 5: the simulated machine
export type { Bus, PlugOptions, PlugSpec } from "./sim/pci.js";
export type { Clock, Timer } from "./sim/clock.js";
export type { FaultInjection, FaultKind, SchedulePoint } from "./sim/fault-inject.js";
export { DeviceModel } from "./sim/model.js";
export type { DeviceModelSpec } from "./sim/model.js";
export type { ConfigWidth, PciCapabilitySpec } from "./sim/config-space.js";
export type { Iommu, IommuFault, IommuMode } from "./sim/iommu.js";
export type { Memory, MemoryOptions, MemoryStats, ZoneStats } from "./sim/memory.js";

// Layer 6: checking and observing
export type { DmaDebug, DmaDebugMode, DmaViolation, DmaViolationKind } from "./observe/dma-debug.js";
export type { EndReason, EventListener, MachineEvent, MachineEventKind, ResourceKind } from "./observe/events.js";
export type { ChromeTrace, ChromeTraceEvent, TimelineMark, TimelineOptions, Trace } from "./observe/trace.js";

// Layer 7: the machine
export { Machine } from "./machine.js";
export type { MachineOptions } from "./machine.js";
