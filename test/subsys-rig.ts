/**
 * Drivers for the subsystem tests: a software loopback netdev (what it
 * transmits comes back through its NAPI poll) and a RAM disk, each recording
 * every op call with the token and context it got, so a test can say what
 * reached the driver and when.
 */

import { atomicContext } from "../src/driver/context.js";
import { defineDriver, Devres, registerBlockDevice, registerNetdev } from "../src/index.js";
import { smuggle } from "./helpers.js";
import type { BlockDevice, BlockDeviceOps, BlockRequest, Driver, Netdev, NetdevOps, NetdevOptions, ProbeDevice } from "../src/index.js";

let nextId = 0x7000;

/** Fresh device ids: each rig driver matches only its own devices. */
export function freshId(): { readonly vendor: number; readonly device: number } {
  return { vendor: 0x1af4, device: nextId++ };
}

/** One op call as the driver saw it. */
export interface OpCall {
  readonly op: string;
  /** The token it got. */
  readonly token: unknown;
  /** The atomic section it ran in, if any. */
  readonly atomic: string | undefined;
  /** The device's state then. */
  readonly state: string;
}

/** What a loopback driver's test can reach. */
export interface LoopbackLog {
  readonly calls: OpCall[];
  /** Everything in order: op calls, remove, devres release. */
  readonly order: string[];
  /** The probe tokens, one per binding. */
  readonly tokens: unknown[];
  /** The netdevs, one per binding. */
  readonly netdevs: Netdev<unknown>[];
}

export interface LoopbackOptions {
  readonly name?: string;
  readonly netdev?: NetdevOptions;
  /** Overrides of the default ops: each gets the default's behaviour unless replaced. */
  readonly ops?: Partial<NetdevOps<unknown>>;
  /** Unregister explicitly in remove(). */
  readonly unregisterInRemove?: boolean;
  /** Throw at the end of probe, after registering. */
  readonly failProbe?: boolean;
  /** Ring capacity: transmit stops the queue when this many frames wait. */
  readonly ring?: number;
}

/**
 * A software loopback NIC: `transmit` puts the frame on a ring and
 * schedules NAPI; `poll` hands frames back up, up to its budget.
 */
export function loopbackDriver(options: LoopbackOptions = {}): { driver: Driver; log: LoopbackLog; id: { vendor: number; device: number } } {
  const id = freshId();
  const log: LoopbackLog = { calls: [], order: [], tokens: [], netdevs: [] };
  const driver = defineDriver({
    name: options.name ?? `loop-${id.device.toString(16)}`,
    ids: [id],
    probe<Scope>(dev: ProbeDevice<Scope>) {
      log.tokens.push(dev);
      const ring: Uint8Array[] = [];
      const capacity = options.ring ?? 64;
      Devres.new(dev, 0, () => void log.order.push("devres release"));
      const record = (op: string, token: unknown): void => {
        log.calls.push({ op, token, atomic: atomicContext(), state: (token as { state: string }).state });
        log.order.push(op);
      };
      const overrides = smuggle<Partial<NetdevOps<Scope>>>(options.ops ?? {});
      let netdev!: Netdev<Scope>;
      const ops: NetdevOps<Scope> = {
        open: async (dev) => {
          record("open", dev);
          await overrides.open?.(dev);
        },
        stop: async (dev) => {
          record("stop", dev);
          await overrides.stop?.(dev);
        },
        transmit: (dev, packet) => {
          record("transmit", dev);
          if (overrides.transmit !== undefined) return overrides.transmit(dev, packet);
          ring.push(packet.slice());
          if (ring.length >= capacity) netdev.stopQueue();
          netdev.napiSchedule();
          return "ok";
        },
        poll: (dev, budget) => {
          record("poll", dev);
          if (overrides.poll !== undefined) return overrides.poll(dev, budget);
          let done = 0;
          while (done < budget && ring.length > 0) {
            netdev.receive(dev, ring.shift()!);
            done++;
          }
          if (netdev.queueStopped && ring.length < capacity) netdev.wakeQueue();
          return done;
        },
      };
      netdev = registerNetdev(dev, ops, options.netdev);
      log.netdevs.push(smuggle(netdev));
      if (options.failProbe === true) throw new Error("probe fails after registering");
      return {
        remove: async () => {
          log.order.push("remove");
          if (options.unregisterInRemove === true) await netdev.unregister();
          log.order.push("remove returns");
        },
      };
    },
  });
  return { driver, log, id };
}

/** What a RAM disk's test can reach. */
export interface RamDiskLog {
  readonly order: string[];
  readonly tokens: unknown[];
  readonly disks: BlockDevice<unknown>[];
  /** Requests taken and not completed, for a test to complete by hand. */
  readonly held: BlockRequest<unknown>[];
  /** The backing store of the last binding. */
  store: Uint8Array;
}

export interface RamDiskOptions {
  readonly sectors?: number;
  readonly queueDepth?: number;
  readonly name?: string;
  /** Hold requests for the test to complete (`log.held`), instead of completing at once. */
  readonly hold?: boolean;
  readonly submit?: BlockDeviceOps<unknown>["submit"];
  readonly unregisterInRemove?: boolean;
}

/** A RAM disk: `submit` moves the data at once and completes, unless told to hold. */
export function ramDiskDriver(options: RamDiskOptions = {}): { driver: Driver; log: RamDiskLog; id: { vendor: number; device: number } } {
  const id = freshId();
  const sectors = options.sectors ?? 64;
  const log: RamDiskLog = { order: [], tokens: [], disks: [], held: [], store: new Uint8Array(0) };
  const driver = defineDriver({
    name: `ram-${id.device.toString(16)}`,
    ids: [id],
    probe<Scope>(dev: ProbeDevice<Scope>) {
      log.tokens.push(dev);
      const store = new Uint8Array(sectors * 512);
      log.store = store;
      Devres.new(dev, 0, () => void log.order.push("devres release"));
      const custom = smuggle<BlockDeviceOps<Scope>["submit"] | undefined>(options.submit);
      const disk = registerBlockDevice(
        dev,
        {
          submit: (dev, request) => {
            log.order.push(`submit ${request.op} ${request.sector}`);
            if (custom !== undefined) return custom(dev, request);
            const at = request.sector * 512;
            if (request.op === "write") store.set(request.data, at);
            else request.data.set(store.subarray(at, at + request.data.length));
            if (options.hold === true) log.held.push(smuggle(request));
            else request.complete(dev, "ok");
          },
        },
        { sectors, ...(options.queueDepth === undefined ? {} : { queueDepth: options.queueDepth }), ...(options.name === undefined ? {} : { name: options.name }) },
      );
      log.disks.push(smuggle(disk));
      return {
        remove: async () => {
          log.order.push("remove");
          if (options.unregisterInRemove === true) await disk.unregister();
          log.order.push("remove returns");
        },
      };
    },
  });
  return { driver, log, id };
}
