// The public types as users get them (dist/index.d.ts), checked with tsd.
// tsd's expectError only says that some error of a known kind happened; the
// reason for each rejection is pinned by scripts/type-tests.mjs, whose
// must-not-compile fixtures match the message chain.
import { expectAssignable, expectError, expectNotAssignable, expectType } from "tsd";
import { allocCoherent, BoundscopeError, defineDriver, Devres, Machine, Revocable, setDmaMask } from "boundscope";
import type {
  BoundDevice,
  CoherentAllocation,
  Device,
  DeviceState,
  DmaAddress,
  DmaViolation,
  Driver,
  DriverInstance,
  ErrorCode,
  MemoryStats,
  ProbeDevice,
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

// Tokens, allocations and devres carry the scope, invariantly.
export function inScope<Scope>(core: ProbeDevice<Scope>, token: BoundDevice<Scope>): void {
  expectAssignable<BoundDevice<Scope>>(core);
  expectAssignable<Device>(token);
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
  expectType<DmaAddress>(buf.dmaHandle);
  expectAssignable<bigint>(buf.dmaHandle);
  expectType<bigint>(buf.dmaHandle + 16n);
  expectType<Uint8Array>(buf.bytes(token));
  expectType<DataView>(buf.view(core));
  expectType<void>(buf.free());
  expectType<void>(buf[Symbol.dispose]());

  const res = Devres.new(token, { packets: 0 });
  expectType<Devres<Scope, { packets: number }>>(res);
  expectNotAssignable<Devres<unknown, { packets: number }>>(res);
  expectType<{ packets: number }>(res.access(core));
  expectType<{ packets: number } | undefined>(res.tryAccess());
  expectType<Promise<number | undefined>>(res.tryAccessWith((value) => value.packets));
  expectType<Promise<void>>(res.release());
  expectType<boolean>(res.revoked);
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
expectNotAssignable<DmaAddress>(0x1000);
expectNotAssignable<DmaAddress>(0x1000n);

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
expectType<"ENXIO" | "EINVAL" | "ENOMEM" | "EPERM" | "EBUSY">(err.code);
