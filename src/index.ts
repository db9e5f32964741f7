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
export { allocCoherent } from "./coherent.js";
export type { CoherentAllocation, DmaAddress } from "./coherent.js";
export { Devres } from "./devres.js";
export { Revocable } from "./revocable.js";
export { Machine } from "./machine.js";
export type { IommuMode, MachineOptions } from "./machine.js";
export type { Bus, PlugSpec } from "./bus.js";
export type { Memory, MemoryOptions, MemoryStats } from "./memory.js";
export type { DmaDebug, DmaDebugMode, DmaViolation, DmaViolationKind } from "./dma-debug.js";
export type { EventListener, MachineEvent, MachineEventKind } from "./events.js";
