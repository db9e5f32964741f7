// Streaming DMA, sg tables and DMA pools (issue 12), as users get them
// (dist/index.d.ts), checked with tsd: what each call returns in each state
// and direction, and which calls each handle refuses. The reason for each
// rejection is pinned by the must-not-compile fixtures (streaming-*.ts,
// sg-*.ts, dma-address-wrong-function.ts, dma-limits-core-only.ts).
import { expectAssignable, expectError, expectNotAssignable, expectType } from "tsd";
import {
  createDmaPool,
  freeCoherent,
  kmalloc,
  mapSg,
  mapSingle,
  setMaxSegmentSize,
  setSegmentBoundary,
  syncSgForCpu,
  syncSgForDevice,
  syncSingleForCpu,
  syncSingleForDevice,
  unmapSg,
  unmapSingle,
  vmalloc,
} from "boundscope";
import type {
  BoundDevice,
  CpuOwned,
  CpuOwnedBidirectional,
  CpuOwnedFromDevice,
  CpuOwnedSgTable,
  DataDirection,
  DeviceOwned,
  DeviceOwnedBidirectional,
  DeviceOwnedFromDevice,
  DeviceOwnedToDevice,
  DmaAddress,
  DmaPool,
  IrqDevice,
  KernelBuffer,
  PoolBlock,
  ProbeDevice,
  ReadonlyBytes,
  RegisterValue,
  ScopedView,
  SgSegment,
  SgTable,
  StreamingAddress,
  StreamingMapping,
} from "boundscope";

export function single<Scope>(core: ProbeDevice<Scope>, token: BoundDevice<Scope>, irq: IrqDevice<Scope>): void {
  const buffer = kmalloc(irq, 1536);
  expectType<KernelBuffer<"kmalloc">>(buffer);
  expectType<KernelBuffer<"vmalloc">>(vmalloc(token, 8192));
  expectAssignable<KernelBuffer>(buffer);
  expectType<Uint8Array>(buffer.bytes());
  expectType<"kmalloc">(buffer.allocator);

  const tx = mapSingle(token, kmalloc(token, 60), "to-device");
  expectType<DeviceOwnedToDevice<Scope>>(tx);
  expectType<StreamingAddress<Scope, "to-device">>(tx.dmaAddress);
  expectAssignable<DmaAddress<Scope, "single">>(tx.dmaAddress);
  expectAssignable<DmaAddress<Scope>>(tx.dmaAddress);
  expectAssignable<RegisterValue<Scope>>(tx.dmaAddress);
  expectAssignable<bigint>(tx.dmaAddress);
  expectNotAssignable<DmaAddress<Scope, "coherent">>(tx.dmaAddress);
  expectNotAssignable<StreamingAddress<Scope, "from-device">>(tx.dmaAddress);
  expectNotAssignable<StreamingAddress<unknown, "to-device">>(tx.dmaAddress);
  expectType<"to-device">(tx.direction);
  expectType<"device">(tx.owner);
  expectAssignable<StreamingMapping<Scope, "to-device">>(tx);
  expectError(tx.syncForCpu(token));
  expectError(tx.bytes(token));
  expectType<void>(tx.unmap(irq));

  const rx = mapSingle(core, buffer, "from-device", 0, 1536);
  expectType<DeviceOwnedFromDevice<Scope>>(rx);
  expectType<DeviceOwned<Scope, "from-device">>(rx);
  expectError(rx.bytes(token));
  expectError(rx.syncForDevice(token));
  const rxCpu = rx.syncForCpu(irq, 0, 60);
  expectType<CpuOwnedFromDevice<Scope>>(rxCpu);
  expectType<CpuOwned<Scope, "from-device">>(rxCpu);
  expectType<ReadonlyBytes>(rxCpu.bytes(irq));
  expectType<ReadonlyBytes>(rxCpu.bytes(irq).subarray(0, 14));
  expectType<number | undefined>(rxCpu.bytes(irq)[0]);
  expectNotAssignable<Uint8Array>(rxCpu.bytes(irq));
  expectError(rxCpu.syncForCpu(token));
  expectType<DeviceOwnedFromDevice<Scope>>(rxCpu.syncForDevice(token));

  const cmd = mapSingle(token, kmalloc(token, 64), "bidirectional");
  expectType<DeviceOwnedBidirectional<Scope>>(cmd);
  const cmdCpu = cmd.syncForCpu(token);
  expectType<CpuOwnedBidirectional<Scope>>(cmdCpu);
  expectType<Uint8Array>(cmdCpu.bytes(token));
  expectType<DeviceOwnedBidirectional<Scope>>(cmdCpu.syncForDevice(token));

  const any = mapSingle(token, kmalloc(token, 64), "to-device" as DataDirection);
  expectType<DeviceOwnedToDevice<Scope> | DeviceOwnedFromDevice<Scope> | DeviceOwnedBidirectional<Scope>>(any);

  expectType<void>(unmapSingle(token, tx.dmaAddress, 60, "to-device"));
  expectType<void>(syncSingleForCpu(token, rx.dmaAddress, 60, "from-device"));
  expectType<void>(syncSingleForDevice(token, rx.dmaAddress, 60, "from-device", 0));
  expectError(unmapSingle(token, tx.dmaAddress, 60, "from-device"));
  expectError(syncSingleForCpu(token, tx.dmaAddress, 60, "to-device"));
  expectError(unmapSingle(token, 0x1000n, 60, "to-device"));
  expectError(freeCoherent(token, tx.dmaAddress));
}

export function scatter<Scope>(core: ProbeDevice<Scope>, token: BoundDevice<Scope>): void {
  expectType<void>(setMaxSegmentSize(core, 4096));
  expectType<void>(setSegmentBoundary(core, 0xffffn));
  expectError(setMaxSegmentSize(token, 4096));
  expectError(setSegmentBoundary(token, 0xffffn));

  const table = mapSg(token, [kmalloc(token, 12), { buffer: kmalloc(token, 1500), offset: 0, length: 1500 }], "from-device");
  expectType<SgTable<Scope, "from-device">>(table);
  expectType<readonly SgSegment<Scope>[]>(table.segments);
  expectType<DmaAddress<Scope, "sg">>(table.segments[0]!.dmaAddress);
  expectType<number>(table.entries);
  expectType<readonly KernelBuffer[]>(table.buffers);
  const cpu = table.syncForCpu(token);
  expectType<CpuOwnedSgTable<Scope, "from-device">>(cpu);
  expectType<SgTable<Scope, "from-device">>(cpu.syncForDevice(token));
  expectType<void>(syncSgForCpu(token, table, table.entries, "from-device"));
  expectType<void>(syncSgForDevice(token, cpu, cpu.entries, "from-device"));
  expectType<void>(unmapSg(token, table, table.entries, "from-device"));

  const out = mapSg(token, vmalloc(token, 4 * 4096), "to-device");
  expectType<SgTable<Scope, "to-device">>(out);
  expectError(out.syncForCpu(token));
  expectError(syncSgForCpu(token, out, out.entries, "to-device"));
  expectError(unmapSg(token, out, out.entries, "bidirectional"));
  expectError(unmapSingle(token, out.segments[0]!.dmaAddress, 4096, "to-device"));
}

export function pools<Scope>(core: ProbeDevice<Scope>, token: BoundDevice<Scope>, irq: IrqDevice<Scope>): void {
  const pool = createDmaPool(core, "desc", 16, 16, 4096);
  expectType<DmaPool<Scope>>(pool);
  expectNotAssignable<DmaPool<unknown>>(pool);
  expectError(createDmaPool(token, "desc", 16));
  expectError(createDmaPool(irq, "desc", 16));
  const block = pool.alloc(irq);
  expectType<PoolBlock<Scope>>(block);
  expectType<DmaAddress<Scope, "pool">>(block.dmaHandle);
  expectAssignable<DmaAddress<Scope>>(block.dmaHandle);
  expectType<Uint8Array>(block.bytes(token));
  expectType<ScopedView<Scope>>(block.view(token));
  expectType<void>(pool.free(token, block.bytes(token), block.dmaHandle));
  expectError(freeCoherent(token, block.dmaHandle));
  expectError(unmapSingle(token, block.dmaHandle, 16, "to-device"));
  expectType<void>(block.free());
  expectType<void>(pool.destroy());
}

export function acrossScopes<A, B>(devA: BoundDevice<A>, rxB: DeviceOwnedFromDevice<B>, tableB: SgTable<B, "to-device">, poolB: DmaPool<B>, blockB: PoolBlock<B>): void {
  expectNotAssignable<DeviceOwnedFromDevice<A>>(rxB);
  expectNotAssignable<SgTable<A, "to-device">>(tableB);
  expectNotAssignable<PoolBlock<A>>(blockB);
  expectNotAssignable<DmaAddress<A>>(rxB.dmaAddress);
  expectNotAssignable<RegisterValue<A>>(blockB.dmaHandle);
  expectError(rxB.syncForCpu(devA));
  expectError(rxB.unmap(devA));
  expectError(unmapSingle(devA, rxB.dmaAddress, 64, "from-device"));
  expectError(unmapSg(devA, tableB, tableB.entries, "to-device"));
  expectError(poolB.alloc(devA));
  expectError(blockB.bytes(devA));
}
