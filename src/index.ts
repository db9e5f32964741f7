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
export type { BoundDevice, Device, DeviceState, IrqDevice, ProbeDevice, TaskDevice } from "./driver/device.js";
export { defineDriver } from "./driver/driver.js";
export type { DeviceId, Driver, DriverInstance, DriverSpec } from "./driver/driver.js";
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
export { Devres } from "./driver/devres.js";
export { Revocable } from "./driver/revocable.js";
export { iomap } from "./driver/mmio.js";
export type { IoMapping, MmioWidth } from "./driver/mmio.js";
export { requestIrq } from "./driver/irq.js";
export type { IrqHandle, IrqHandler } from "./driver/irq.js";
export { spawn } from "./driver/task.js";
export type { Task, TaskSignal, TaskWork } from "./driver/task.js";
export { sleep } from "./driver/delay.js";
export { defineStruct } from "./driver/descriptor.js";
export type { FieldType, FieldValue, Struct, StructFields, StructValue } from "./driver/descriptor.js";
export type { Hold } from "./driver/ports.js";

// Layer 4: the simulated machine
export type { Bus, PlugSpec } from "./sim/pci.js";
export type { Clock, Timer } from "./sim/clock.js";
export { DeviceModel } from "./sim/model.js";
export type { DeviceModelSpec } from "./sim/model.js";
export type { Iommu, IommuFault, IommuMode } from "./sim/iommu.js";
export type { Memory, MemoryOptions, MemoryStats, ZoneStats } from "./sim/memory.js";

// Layer 5: checking and observing
export type { DmaDebug, DmaDebugMode, DmaViolation, DmaViolationKind } from "./observe/dma-debug.js";
export type { EndReason, EventListener, MachineEvent, MachineEventKind, ResourceKind } from "./observe/events.js";
export type { ChromeTrace, ChromeTraceEvent, Trace } from "./observe/trace.js";

// Layer 6: the machine
export { Machine } from "./machine.js";
export type { MachineOptions } from "./machine.js";
