/**
 * boundscope: a device driver's lifetime in its types.
 *
 * Everything a driver, a test or a simulation needs comes from here. The
 * brand symbols do not: they stay private to the library, so only the core
 * mints tokens.
 *
 * @module
 */

export { BoundscopeError } from "./error.js";
export type { ErrorCode } from "./error.js";
export type { BoundDevice, Device, DeviceState, ProbeDevice } from "./device.js";
export { defineDriver } from "./driver.js";
export type { DeviceId, Driver, DriverInstance, DriverSpec } from "./driver.js";
export { allocCoherent, freeCoherent } from "./coherent.js";
export type { CoherentAllocation, DmaAddress } from "./coherent.js";
export { Devres } from "./devres.js";
export { Revocable } from "./revocable.js";
export { Machine } from "./machine.js";
export type { MachineOptions } from "./machine.js";
export type { DmaDirection, Iommu, IommuFault, IommuMode } from "./iommu.js";
export { sleep } from "./clock.js";
export type { Clock, Timer } from "./clock.js";
export { DeviceModel } from "./model.js";
export type { DeviceModelSpec, Hold, MmioWidth } from "./model.js";
export type { IoMapping } from "./mmio.js";
export type { IrqHandle, IrqHandler } from "./irq.js";
export type { Task, TaskSignal, TaskWork } from "./task.js";
export type { Bus, PlugSpec } from "./bus.js";
export type { Memory, MemoryOptions, MemoryStats } from "./memory.js";
export type { DmaDebug, DmaDebugMode, DmaViolation, DmaViolationKind } from "./dma-debug.js";
export type { EventListener, MachineEvent, MachineEventKind } from "./events.js";
export { defineStruct } from "./descriptor.js";
export type { FieldType, FieldValue, Struct, StructFields, StructValue } from "./descriptor.js";
export type { ChromeTrace, ChromeTraceEvent, Trace } from "./trace.js";
