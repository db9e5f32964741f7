// The public types as users get them (dist/index.d.ts), checked with tsd.
// tsd's expectError only says that some error of a known kind happened; the
// reason for each rejection is pinned by scripts/type-tests.mjs, whose
// must-not-compile fixtures match the message chain.
import { expectAssignable, expectError, expectNotAssignable, expectType } from "tsd";
import { allocCoherent, BoundscopeError, defineDriver, Devres, enableBusMaster, freeCoherent, iomap, Machine, requestIrq, Revocable, setDmaMask, sleep, spawn } from "boundscope";
import type {
  AtomicDevice,
  BoundDevice,
  CoherentAllocation,
  Device,
  DeviceState,
  DmaAddress,
  DmaViolation,
  Driver,
  DriverInstance,
  ErrorCode,
  IoMapping,
  IrqDevice,
  IrqHandle,
  MemoryStats,
  ProbeDevice,
  ScopedView,
  SleepableDevice,
  Task,
  TaskDevice,
  TaskSignal,
} from "boundscope";

// The machine, and the plain Device reference it hands out.
const machine = new Machine({ memory: { bytes: 1 << 20 }, iommu: "strict", dmaDebug: "report" });
const plain = machine.pci.plug({ vendor: 0x1af4, device: 0x1000 });
expectType<Device>(plain);
expectType<DeviceState>(plain.state);
expectType<string>(plain.name);
expectType<readonly Device[]>(machine.pci.devices);
expectType<Promise<void>>(machine.pci.unbind(plain));
expectType<Promise<void>>(machine.pci.unplug(plain));
expectType<Promise<void>>(machine.settled());
expectType<MemoryStats>(machine.memory.stats());
expectType<readonly DmaViolation[]>(machine.dmaDebug.violations);

// A plain Device, or a look-alike, is not a token.
expectNotAssignable<BoundDevice<unknown>>(plain);
expectError(allocCoherent(plain, 64));
expectError(allocCoherent({ name: "fake", vendor: 1, device: 2, state: "bound" }, 64));
expectError(Devres.new(plain, 1));

// Tokens, allocations and devres carry the scope, invariantly. A token is not
// a plain Device, nor a Device a token: each has a brand the other lacks.
export function inScope<Scope>(core: ProbeDevice<Scope>, token: BoundDevice<Scope>): void {
  expectAssignable<BoundDevice<Scope>>(core);
  expectNotAssignable<Device>(token);
  expectNotAssignable<Device>(core);
  expectNotAssignable<ProbeDevice<Scope>>(token);
  expectNotAssignable<BoundDevice<unknown>>(token);
  expectNotAssignable<BoundDevice<string>>(token);
  expectError(setDmaMask(token, 64));
  expectType<void>(setDmaMask(core, 64));

  const buf = allocCoherent(core, 4096);
  expectType<CoherentAllocation<Scope>>(buf);
  expectType<CoherentAllocation<Scope>>(allocCoherent(token, 64));
  expectNotAssignable<CoherentAllocation<unknown>>(buf);
  expectType<number>(buf.size);
  expectType<boolean>(buf.freed);
  expectType<DmaAddress<Scope, "coherent">>(buf.dmaHandle);
  expectAssignable<DmaAddress<Scope>>(buf.dmaHandle);
  expectNotAssignable<DmaAddress<unknown>>(buf.dmaHandle);
  expectType<void>(freeCoherent(token, buf.dmaHandle));
  expectAssignable<bigint>(buf.dmaHandle);
  expectType<bigint>(buf.dmaHandle + 16n);
  expectType<Uint8Array>(buf.bytes(token));
  expectType<ScopedView<Scope>>(buf.view(core));
  expectAssignable<DataView>(buf.view(core));
  expectType<void>(buf.free());
  expectType<void>(buf[Symbol.dispose]());

  const res = Devres.new(token, { packets: 0 });
  expectType<Devres<Scope, { packets: number }>>(res);
  expectNotAssignable<Devres<unknown, { packets: number }>>(res);
  expectType<{ packets: number }>(res.access(core));
  expectType<{ packets: number } | undefined>(res.tryAccess());
  expectType<number | undefined>(res.tryAccessWith((value) => value.packets));
  expectType<Promise<number | undefined>>(res.tryAccessAsync(async (value) => value.packets));
  expectType<Promise<void>>(res.release());
  expectType<boolean>(res.revoked);
  expectType<Promise<void>>(sleep(core, 1_000));
  // A helper's BoundDevice does not say it may sleep.
  expectError(sleep(token, 1_000));
}

// The core-only operations take the core context; handlers and tasks get
// contexts of their own, which are tokens but not the core context.
export function coreOnly<Scope>(core: ProbeDevice<Scope>, token: BoundDevice<Scope>, irqDev: IrqDevice<Scope>, taskDev: TaskDevice<Scope>): void {
  expectType<void>(enableBusMaster(core));
  const regs = iomap(core, 0);
  expectType<IoMapping<Scope>>(regs);
  expectType<number>(regs.read32(token, 0));
  expectType<bigint>(regs.read64(irqDev, 0));
  expectType<void>(regs.write32(taskDev, 0, 1));
  expectType<IrqHandle<Scope>>(
    requestIrq(core, (dev) => {
      expectType<IrqDevice<Scope>>(dev);
    }),
  );
  expectType<Task<Scope>>(
    spawn(core, async (dev, signal) => {
      expectType<TaskDevice<Scope>>(dev);
      expectType<TaskSignal>(signal);
    }),
  );
  expectAssignable<BoundDevice<Scope>>(irqDev);
  expectAssignable<BoundDevice<Scope>>(taskDev);
  expectNotAssignable<ProbeDevice<Scope>>(irqDev);
  // Sleeping: the core context and a task's may; an interrupt handler's is atomic.
  expectAssignable<SleepableDevice<Scope>>(core);
  expectAssignable<SleepableDevice<Scope>>(taskDev);
  expectNotAssignable<SleepableDevice<Scope>>(irqDev);
  expectAssignable<AtomicDevice<Scope>>(irqDev);
  expectError(sleep(irqDev, 1_000));
  expectNotAssignable<ProbeDevice<Scope>>(taskDev);
  expectNotAssignable<IrqDevice<Scope>>(taskDev);
  expectNotAssignable<TaskDevice<Scope>>(irqDev);
  expectNotAssignable<IrqDevice<Scope>>(core);
  expectError(iomap(token, 0));
  expectError(enableBusMaster(irqDev));
  expectError(spawn(taskDev, async () => {}));
  expectError(requestIrq(irqDev, () => {}));
}

// Another scope's token is refused.
export function acrossScopes<A, B>(devA: BoundDevice<A>, bufB: CoherentAllocation<B>, resB: Devres<B, number>): void {
  expectNotAssignable<BoundDevice<B>>(devA);
  expectNotAssignable<CoherentAllocation<A>>(bufB);
  expectError(bufB.bytes(devA));
  expectError(bufB.view(devA));
  expectError(resB.access(devA));
}

// DMA addresses come only from allocations.
expectNotAssignable<DmaAddress<"x">>(0x1000);
expectNotAssignable<DmaAddress<"x">>(0x1000n);
expectNotAssignable<DmaAddress<unknown>>(0x1000n);

// Drivers: probe is generic in its scope and returns a DriverInstance of it.
const ids = [{ vendor: 0x1af4, device: 0x1000 }];
expectType<Driver>(
  defineDriver({
    name: "ok",
    ids,
    probe(dev) {
      expectType<void>(setDmaMask(dev, 64));
      const buf = allocCoherent(dev, 64);
      return { remove: (d) => void buf.bytes(d) };
    },
  }),
);
expectType<Driver>(defineDriver({ name: "async", ids, probe: async () => ({}) }));
expectAssignable<DriverInstance<"x">>({});
expectAssignable<DriverInstance<"x">>({ remove: (dev: ProbeDevice<"x">) => void dev });
expectNotAssignable<DriverInstance<"x">>({ remove: (dev: ProbeDevice<"y">) => void dev });
// remove may return anything: it is typed as returning void.
expectAssignable<DriverInstance<"x">>({ remove: (dev: ProbeDevice<"x">) => dev.name.length });
expectNotAssignable<Device>({} as BoundDevice<"x">);
expectError(machine.pci.register(defineDriver({ name: "plain", ids, probe: (dev: Device) => ({ dev }) })));

expectError(defineDriver({ name: "token", ids, probe: (dev) => dev }));
expectError(defineDriver({ name: "alloc", ids, probe: async (dev) => allocCoherent(dev, 64) }));
expectError(defineDriver({ name: "closure", ids, probe: (dev) => () => dev }));
expectError(defineDriver({ name: "holder", ids, probe: (dev) => ({ dev }) }));
expectError(defineDriver({ name: "fixed", ids, probe: (dev: ProbeDevice<string>) => ({ dev }) }));
expectError(machine.pci.register({ name: "fake", ids }));

// Revocable and errors.
const reg = new Revocable({ base: 0x1000 });
expectType<{ base: number } | undefined>(reg.tryAccess());
expectType<Promise<boolean>>(reg.revoke());
expectType<boolean>(reg.revoked);

declare const err: BoundscopeError;
expectType<ErrorCode>(err.code);
expectAssignable<Error>(err);
expectType<"ENXIO" | "EINVAL" | "ENOMEM" | "EPERM" | "EBUSY" | "ETIMEDOUT">(err.code);
