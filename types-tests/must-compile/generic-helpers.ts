// Helpers generic in the scope: they take a token and give back allocations
// and devres of that same scope, so a driver can factor its set-up code.
import { allocCoherent, defineDriver, Devres } from "boundscope";
import type { BoundDevice, CoherentAllocation, DmaAddress } from "boundscope";

export function ring<Scope>(dev: BoundDevice<Scope>, entries: number): CoherentAllocation<Scope> {
  return allocCoherent(dev, entries * 16);
}

export function rings<Scope>(dev: BoundDevice<Scope>, count: number): CoherentAllocation<Scope>[] {
  return Array.from({ length: count }, () => ring(dev, 256));
}

export function zero<Scope>(dev: BoundDevice<Scope>, buf: CoherentAllocation<Scope>): DmaAddress<Scope> {
  buf.bytes(dev).fill(0);
  return buf.dmaHandle;
}

export function managed<Scope, Value>(dev: BoundDevice<Scope>, value: Value): Devres<Scope, Value> {
  return Devres.new(dev, value);
}

// A helper may also take the scope implicitly through an object of that scope.
export interface Queue<Scope> {
  readonly descriptors: CoherentAllocation<Scope>;
  readonly doorbell: Devres<Scope, { rung: number }>;
}

export function queue<Scope>(dev: BoundDevice<Scope>): Queue<Scope> {
  return { descriptors: ring(dev, 64), doorbell: managed(dev, { rung: 0 }) };
}

export function ringDoorbell<Scope>(dev: BoundDevice<Scope>, q: Queue<Scope>): void {
  q.doorbell.access(dev).rung++;
  q.descriptors.view(dev).setUint32(0, 1, true);
}

export const multiQueue = defineDriver({
  name: "multi-queue",
  ids: [{ vendor: 0x1d0f, device: 0xec20 }],
  probe(dev) {
    const all = rings(dev, 4);
    const q = queue(dev);
    const addresses = all.map((r) => zero(dev, r));
    ringDoorbell(dev, q);
    return {
      remove(dev) {
        ringDoorbell(dev, q);
        for (const r of all) r.bytes(dev).fill(0);
        void addresses;
      },
    };
  },
});
