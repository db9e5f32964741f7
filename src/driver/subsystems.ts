/**
 * The subsystem ports: what a registration (`netdev.ts`, `blkdev.ts`) and
 * the subsystem above it (`src/subsys/`) see of each other. Types only.
 *
 * Kernel: the line between a driver's `struct net_device_ops` /
 * `struct blk_mq_ops` and the network stack or block layer that calls them.
 * Here the stacks live above the driver model, so the driver model declares
 * what it asks of them ({@link NetStackPort}, {@link BlockLayerPort}) and
 * what it offers them ({@link NetdevEndpoint}, {@link BlockEndpoint}); the
 * machine hands each device's port the stacks it has (`DevicePort.subsystems`).
 *
 * # Invariants
 * - An endpoint reaches the driver only through its registration
 *   (`registration.ts`): while unregistering or unregistered it never calls
 *   the driver, whatever the subsystem asks.
 *
 * @module
 */

/** What a transmit came to: the driver took it, said busy (try again later), or failed (the packet is dropped). */
export type TransmitOutcome = "ok" | "busy" | "dropped";

/** A registered netdev as the network stack reaches it. */
export interface NetdevEndpoint {
  /** The name the driver asked for (`eth%d` picks the first free `ethN`). */
  readonly requestedName: string;
  /** The device's name, and its driver's. */
  readonly device: string;
  readonly driver: string;
  readonly mtu: number;
  /** The NAPI budget per poll. */
  readonly weight: number;
  /** True while calls reach the driver: registered, and not being unregistered. */
  readonly registered: boolean;
  /** `ndo_open`; rejects with the driver's error. */
  open(): Promise<void>;
  /** `ndo_stop`; rejects with the driver's error. Also called while unregistering. */
  stop(): Promise<void>;
  /** `ndo_start_xmit`, in atomic context. */
  transmit(packet: Uint8Array): TransmitOutcome;
  /** The NAPI poll, in atomic context: the frames it handled, at most `budget`. */
  poll(budget: number): number;
}

/** What a netdev registration asks of the stack, once attached. */
export interface NetdevLink {
  /** The interface name the stack gave it. */
  readonly name: string;
  /** True while the stack should not call transmit (`netif_stop_queue`). */
  readonly queueStopped: boolean;
  /** Schedules a NAPI poll; false if one is already pending or the interface is going. */
  napiSchedule(): boolean;
  /** A received frame, handed up (copied: the driver reuses its buffer). */
  receive(frame: Uint8Array): void;
  stopQueue(): void;
  /** Restarts transmit (`netif_wake_queue`). */
  wakeQueue(): void;
  /**
   * Unregistering has begun: stop transmitting and polling, drop what is
   * queued, and close the interface (the endpoint's `stop()`) if it is up.
   */
  shutdown(): Promise<void>;
  /** Unregistered: drop it from the stack's lists; its name is free again. */
  detach(): void;
}

/** The machine's network stack, as a netdev registration reaches it. */
export interface NetStackPort {
  /** Adds the netdev. `EBUSY` if its name is taken, `EINVAL` for a bad one. */
  attach(endpoint: NetdevEndpoint): NetdevLink;
}

/** One request as the block layer made it. */
export interface BlockRequestRecord {
  readonly op: "read" | "write";
  readonly sector: number;
  readonly count: number;
  /** A write's bytes, or the buffer a read fills: `count * sectorSize` bytes. */
  readonly data: Uint8Array;
  /** Its tag: a small whole number no other request in flight on the disk has. */
  readonly tag: number;
  /** Ends it: `ok`, `error` (the driver's I/O error), or `gone` (the disk went with it unfinished). */
  finish(status: "ok" | "error" | "gone"): void;
}

/** A registered block device as the block layer reaches it. */
export interface BlockEndpoint {
  readonly requestedName: string;
  readonly device: string;
  readonly driver: string;
  readonly sectors: number;
  readonly sectorSize: number;
  /** Requests the driver takes at once: tags are below it. */
  readonly queueDepth: number;
  readonly registered: boolean;
  /** `queue_rq`, in atomic context. `busy`: not taken, retry after a completion. */
  submit(request: BlockRequestRecord): "ok" | "busy" | "failed";
}

/** What a block device registration asks of the block layer. */
export interface BlockLink {
  readonly name: string;
  /** Unregistering has begun: refuse new I/O, fail what is queued and not yet submitted. */
  shutdown(): void;
  /** Unregistered: drop it from the block layer's lists. */
  detach(): void;
}

/** The machine's block layer, as a block device registration reaches it. */
export interface BlockLayerPort {
  attach(endpoint: BlockEndpoint): BlockLink;
}

/** The subsystems a machine offers its drivers. */
export interface Subsystems {
  readonly net: NetStackPort;
  readonly block: BlockLayerPort;
}
