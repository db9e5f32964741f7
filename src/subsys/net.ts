/**
 * The network stack: the interfaces drivers register (`driver/netdev.ts`),
 * each with a transmit queue and NAPI, and packet sockets that send and
 * receive raw frames through them (`machine.net`).
 *
 * Kernel: `net/core/dev.c` (`dev_open`, `dev_close`, `dev_queue_xmit` and
 * the qdisc's `txqueuelen`, `netif_stop_queue`/`netif_wake_queue`,
 * `napi_schedule` and `net_rx_action`), and an `AF_PACKET` socket bound to
 * one interface.
 *
 * This is kernel software, not hardware, so it sits in its own layer
 * (`src/subsys/`), above the driver model and the driver core, below the
 * simulated machine: it reaches drivers only through their registrations
 * (`driver/registration.ts`), and knows nothing of the hardware beneath.
 *
 * - Transmit: `socket.send(frame)` hands the frame to the driver at once,
 *   in the caller's turn, as `dev_queue_xmit` does when the queue is empty
 *   (the qdisc bypass); otherwise it queues a copy (at most `TX_QUEUE_LEN`)
 *   and runs the queue; the driver's `transmit` takes packets until its
 *   queue is stopped or it answers `busy` (the packet stays first in line).
 *   `wakeQueue()` runs the queue again in a microtask (`net_tx_action`).
 * - Receive: `napiSchedule()` queues a poll in a microtask (`net_rx_action`
 *   after the hard IRQ). A poll that used its whole budget is polled again
 *   in the next macrotask, so it cannot starve the rest of the machine; one
 *   scheduled again while it ran is polled again at once. Frames handed up
 *   go to every socket bound to the interface, each its own copy.
 *
 * # Invariants
 * - An interface is in `interfaces` from registration until its
 *   unregistration is over; its name is unique among them.
 * - Nothing reaches the driver of an interface being unregistered: the
 *   stack checks `endpoint.registered`, and the registration refuses
 *   anyway.
 * - A socket's receive queue holds at most `SOCKET_QUEUE_LEN` frames; more
 *   are dropped and counted.
 *
 * @module
 */

import { describe, fail } from "../internal/error.js";
import type { NetdevEndpoint, NetdevLink, NetStackPort, TransmitOutcome } from "../driver/subsystems.js";
import { pickName } from "./names.js";

declare function setImmediate(callback: () => void): unknown;
declare function queueMicrotask(callback: () => void): void;

/** Packets an interface queues for transmit (`txqueuelen`). */
export const TX_QUEUE_LEN = 1000;
/** Frames a socket keeps until read. */
export const SOCKET_QUEUE_LEN = 1024;

/**
 * An interface's counters, as `ip -s link` shows them.
 *
 * @example
 * ```ts
 * const { txPackets, rxPackets, txDropped } = machine.net.interface("eth0").stats;
 * ```
 */
export interface NetStats {
  /** Packets the driver took (`transmit` answered `ok`), and their bytes. */
  readonly txPackets: number;
  readonly txBytes: number;
  /** `transmit` answered `busy`. */
  readonly txBusy: number;
  /** Packets dropped: the op failed, or they were queued when the interface went down or away. */
  readonly txDropped: number;
  /** Frames the driver handed up, and their bytes. */
  readonly rxPackets: number;
  readonly rxBytes: number;
  /** NAPI polls run. */
  readonly polls: number;
}

/**
 * `down`, `up`, or `gone` (unregistered). Opening and closing count as down
 * until they finish.
 *
 * @example
 * ```ts
 * const usable = (iface: NetInterface): boolean => iface.state === "up";
 * ```
 */
export type NetInterfaceState = "down" | "up" | "gone";

/**
 * One network interface a driver registered.
 *
 * @example
 * ```ts
 * const eth0 = machine.net.interface("eth0");
 * await eth0.up();                      // the driver's open() runs
 * console.log(eth0.device, eth0.driver, eth0.state, eth0.stats.txPackets);
 * ```
 */
export interface NetInterface {
  readonly name: string;
  /** The device behind it, and its driver. */
  readonly device: string;
  readonly driver: string;
  /** The largest frame it sends, in bytes. */
  readonly mtu: number;
  readonly state: NetInterfaceState;
  /** True while the driver holds back transmits. */
  readonly queueStopped: boolean;
  /** Packets queued for transmit. */
  readonly queued: number;
  readonly stats: NetStats;
  /** Opens it (`ip link set up`): the driver's `open` runs. Rejects with the driver's error; `ENXIO` once gone. */
  up(): Promise<void>;
  /** Closes it: queued packets are dropped, the driver's `stop` runs. `ENXIO` once gone. */
  down(): Promise<void>;
}

/**
 * A packet socket bound to one interface: raw frames out and in.
 *
 * @example
 * ```ts
 * const socket = machine.net.socket("eth0");
 * socket.send(new Uint8Array(60).fill(0xab));
 * await machine.run(10_000);
 * const frame = socket.tryRecv();        // what came back, if anything
 * ```
 */
export interface Socket {
  /** The interface it is bound to. */
  readonly interface: string;
  /** Frames delivered to it so far, and frames dropped because its queue was full. */
  readonly received: number;
  readonly dropped: number;
  /** Frames waiting to be read. */
  readonly pending: number;
  readonly closed: boolean;
  /**
   * Queues a copy of `frame` for transmit and runs the queue. `ENXIO` once
   * the interface is gone or the socket closed; `EINVAL` if it is down, or
   * for an empty frame or one longer than the MTU; `EBUSY` if the queue is
   * full.
   */
  send(frame: Uint8Array): void;
  /** The next frame received; waits for one. Rejects `ENXIO` once closed, or gone with nothing left to read. */
  recv(): Promise<Uint8Array>;
  /** The next frame received, if one is waiting. */
  tryRecv(): Uint8Array | undefined;
  /** Closes it: pending receives reject with `ENXIO`. */
  close(): void;
}

/**
 * The machine's network stack: `machine.net`.
 *
 * @example
 * ```ts
 * for (const iface of machine.net.interfaces) console.log(iface.name, iface.device, iface.state);
 * ```
 */
export interface Net {
  /** The interfaces registered now, in registration order. */
  readonly interfaces: readonly NetInterface[];
  /** The interface named `name`; `ENXIO` if there is none. */
  interface(name: string): NetInterface;
  /** A packet socket bound to interface `name`; `ENXIO` if there is none. */
  socket(name: string): Socket;
}

const NAPI_IDLE = 0;
const NAPI_SCHEDULED = 1;
const NAPI_POLLING = 2;
const NAPI_MISSED = 3;

/** The stack. The machine makes one; drivers reach it through their device's port. */
export class NetworkStack implements NetStackPort {
  readonly #interfaces = new Map<string, Iface>();
  /** The public face: nothing on it reaches an endpoint. */
  readonly face: Net;

  constructor() {
    const interfaces = this.#interfaces;
    this.face = Object.freeze({
      get interfaces(): readonly NetInterface[] {
        return Object.freeze([...interfaces.values()].map((iface) => iface.view));
      },
      interface: (name: string): NetInterface => this.#find(name, "net.interface").view,
      socket: (name: string): Socket => new PacketSocket(this.#find(name, "net.socket")),
    });
  }

  attach(endpoint: NetdevEndpoint): NetdevLink {
    const name = pickName(endpoint.requestedName, this.#interfaces, `registerNetdev: device ${endpoint.device}, driver "${endpoint.driver}"`, "interface");
    const iface = new Iface(endpoint, name, () => this.#interfaces.delete(name));
    this.#interfaces.set(name, iface);
    return iface;
  }

  #find(name: unknown, operation: string): Iface {
    const iface = typeof name === "string" ? this.#interfaces.get(name) : undefined;
    if (iface === undefined) {
      throw fail("ENXIO", `${operation}(${describe(name)}): no such interface. Registered: ${[...this.#interfaces.keys()].join(", ") || "none"}.`);
    }
    return iface;
  }
}

/** One interface: its transmit queue, its NAPI state, its sockets. */
class Iface implements NetdevLink {
  readonly endpoint: NetdevEndpoint;
  readonly name: string;
  readonly view: NetInterface;
  state: "down" | "opening" | "up" | "closing" | "gone" = "down";
  queueStopped = false;
  readonly stats = { txPackets: 0, txBytes: 0, txBusy: 0, txDropped: 0, rxPackets: 0, rxBytes: 0, polls: 0 };
  readonly sockets = new Set<PacketSocket>();
  /** The transmit queue: packets from `#head` on are waiting. */
  #txq: (Uint8Array | undefined)[] = [];
  #head = 0;
  #xmitting = false;
  #wakePending = false;
  #napi = NAPI_IDLE;
  #opening: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  readonly #forget: () => void;

  constructor(endpoint: NetdevEndpoint, name: string, forget: () => void) {
    this.endpoint = endpoint;
    this.name = name;
    this.#forget = forget;
    this.view = new InterfaceView(this);
  }

  get queued(): number {
    return this.#txq.length - this.#head;
  }

  /** `ENXIO` once the interface is gone or going. */
  present(operation: string): void {
    if (this.state === "gone" || !this.endpoint.registered) {
      throw fail("ENXIO", `${operation}: interface "${this.name}" (device ${this.endpoint.device}, driver "${this.endpoint.driver}") is gone: its driver unregistered it.`);
    }
  }

  // ------------------------------------------------ up and down

  up(): Promise<void> {
    this.present(`${this.name}.up`);
    if (this.state === "up") return Promise.resolve();
    if (this.state === "opening") return this.#opening!;
    if (this.state === "closing") return this.#closing!.then(() => this.up());
    this.state = "opening";
    return (this.#opening = this.#open());
  }

  async #open(): Promise<void> {
    try {
      await this.endpoint.open();
    } catch (error) {
      if (this.state === "opening") this.state = "down";
      throw error;
    } finally {
      this.#opening = undefined;
    }
    // Unregistering began meanwhile: the shutdown closes it.
    if (this.state !== "opening") return;
    this.state = "up";
    this.#xmit();
  }

  down(): Promise<void> {
    this.present(`${this.name}.down`);
    if (this.state === "down") return Promise.resolve();
    if (this.state === "closing") return this.#closing!;
    if (this.state === "opening") return this.#opening!.then(() => this.down());
    this.state = "closing";
    return (this.#closing = this.#close("down"));
  }

  /** Stops transmit and NAPI, drops the queue, then calls the driver's `stop`. */
  async #close(after: "down" | "gone"): Promise<void> {
    this.#dropQueue();
    this.#napi = NAPI_IDLE;
    try {
      await this.endpoint.stop();
    } catch {
      // The registration logged it; the interface is down anyway, as dev_close goes on.
    } finally {
      this.#closing = undefined;
      this.state = after;
    }
  }

  #dropQueue(): void {
    this.stats.txDropped += this.queued;
    this.#txq = [];
    this.#head = 0;
  }

  // ------------------------------------------------ transmit

  /** Queues a copy for transmit and runs the queue (`dev_queue_xmit`). */
  send(frame: unknown, operation: string): void {
    this.present(operation);
    // Covers `any` and JavaScript: the frame is typed as bytes.
    if (!(frame instanceof Uint8Array) || frame.length === 0 || frame.length > this.endpoint.mtu) {
      throw fail("EINVAL", `${operation}: a frame is a Uint8Array of 1 to ${this.endpoint.mtu} bytes (the MTU of "${this.name}"), got ${frame instanceof Uint8Array ? `${frame.length} bytes` : describe(frame)}.`);
    }
    if (this.state !== "up") throw fail("EINVAL", `${operation}: interface "${this.name}" is ${this.state}: bring it up first (machine.net.interface("${this.name}").up()).`);
    // The queue is empty and the driver takes packets: hand it this one now, uncopied (the qdisc bypass).
    if (this.#head === this.#txq.length && !this.queueStopped && !this.#xmitting) {
      this.#xmitting = true;
      let outcome: TransmitOutcome;
      try {
        outcome = this.endpoint.transmit(frame);
      } finally {
        this.#xmitting = false;
      }
      if (outcome !== "busy") return this.#count(outcome, frame.length);
      // Not taken: it waits first in line, for the next wakeQueue() or send.
      this.stats.txBusy++;
      this.#txq.push(frame.slice());
      return;
    } else if (this.queued >= TX_QUEUE_LEN) {
      throw fail("EBUSY", `${operation}: the transmit queue of "${this.name}" is full (${TX_QUEUE_LEN} packets${this.queueStopped ? "; the driver stopped it" : ""}). Let the machine run, then send again.`);
    }
    this.#txq.push(frame.slice());
    this.#xmit();
  }

  /** Hands queued packets to the driver until it stops the queue or says busy. */
  #xmit(): void {
    if (this.#xmitting) return;
    this.#xmitting = true;
    try {
      const txq = this.#txq;
      const endpoint = this.endpoint;
      while (this.#head < txq.length && this.state === "up" && !this.queueStopped && endpoint.registered) {
        const packet = txq[this.#head]!;
        const outcome = endpoint.transmit(packet);
        if (outcome === "busy") {
          // Stays first in line: retried at the next wakeQueue() or send.
          this.stats.txBusy++;
          break;
        }
        txq[this.#head++] = undefined;
        this.#count(outcome, packet.length);
      }
      if (this.#head === txq.length) {
        txq.length = 0;
        this.#head = 0;
      } else if (this.#head > 256 && this.#head * 2 > txq.length) {
        this.#txq = txq.slice(this.#head);
        this.#head = 0;
      }
    } finally {
      this.#xmitting = false;
    }
  }

  #count(outcome: "ok" | "dropped", bytes: number): void {
    if (outcome === "ok") {
      this.stats.txPackets++;
      this.stats.txBytes += bytes;
    } else {
      this.stats.txDropped++;
    }
  }

  stopQueue(): void {
    this.queueStopped = true;
  }

  wakeQueue(): void {
    this.queueStopped = false;
    if (this.#wakePending || this.queued === 0) return;
    this.#wakePending = true;
    queueMicrotask(this.#runWoken);
  }

  readonly #runWoken = (): void => {
    this.#wakePending = false;
    this.#xmit();
  };

  // ------------------------------------------------ receive

  napiSchedule(): boolean {
    if (this.state !== "up" || !this.endpoint.registered) return false;
    if (this.#napi === NAPI_POLLING) {
      this.#napi = NAPI_MISSED;
      return false;
    }
    if (this.#napi !== NAPI_IDLE) return false;
    this.#napi = NAPI_SCHEDULED;
    queueMicrotask(this.#poll);
    return true;
  }

  readonly #poll = (): void => {
    if (this.#napi !== NAPI_SCHEDULED) return;
    if (this.state !== "up" || !this.endpoint.registered) {
      this.#napi = NAPI_IDLE;
      return;
    }
    this.#napi = NAPI_POLLING;
    this.stats.polls++;
    const weight = this.endpoint.weight;
    const done = this.endpoint.poll(weight);
    // Closed or unregistered while it ran: the close set NAPI idle.
    if (this.#napi === NAPI_IDLE) return;
    if (done >= weight) {
      this.#napi = NAPI_SCHEDULED;
      setImmediate(this.#poll);
    } else if (this.#napi === NAPI_MISSED) {
      this.#napi = NAPI_SCHEDULED;
      queueMicrotask(this.#poll);
    } else {
      this.#napi = NAPI_IDLE;
    }
  };

  receive(frame: Uint8Array): void {
    this.stats.rxPackets++;
    this.stats.rxBytes += frame.length;
    // Each socket its own copy: the driver reuses its buffer, and a reader may write to what it got.
    for (const socket of this.sockets) socket.deliver(frame.slice());
  }

  // ------------------------------------------------ unregistering

  async shutdown(): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => {});
    if (this.#closing !== undefined) await this.#closing;
    if (this.state === "up") {
      this.state = "closing";
      await (this.#closing = this.#close("gone"));
    }
    this.#dropQueue();
    this.state = "gone";
    for (const socket of this.sockets) socket.gone();
  }

  detach(): void {
    this.state = "gone";
    this.#forget();
  }
}

/** The public face of an interface: reads and `up`/`down`, nothing that reaches the driver. */
class InterfaceView implements NetInterface {
  readonly #iface: Iface;

  constructor(iface: Iface) {
    this.#iface = iface;
  }

  get name(): string {
    return this.#iface.name;
  }
  get device(): string {
    return this.#iface.endpoint.device;
  }
  get driver(): string {
    return this.#iface.endpoint.driver;
  }
  get mtu(): number {
    return this.#iface.endpoint.mtu;
  }
  get state(): NetInterfaceState {
    const { state } = this.#iface;
    if (state === "gone" || !this.#iface.endpoint.registered) return "gone";
    return state === "up" ? "up" : "down";
  }
  get queueStopped(): boolean {
    return this.#iface.queueStopped;
  }
  get queued(): number {
    return this.#iface.queued;
  }
  get stats(): NetStats {
    return { ...this.#iface.stats };
  }
  up(): Promise<void> {
    return this.#iface.up();
  }
  down(): Promise<void> {
    return this.#iface.down();
  }
}

class PacketSocket implements Socket {
  readonly #iface: Iface;
  readonly #queue: Uint8Array[] = [];
  readonly #waiters: { resolve: (frame: Uint8Array) => void; reject: (error: Error) => void }[] = [];
  received = 0;
  dropped = 0;
  closed = false;
  /** What a send is called in messages: built once, not on every packet. */
  readonly #sending: string;

  constructor(iface: Iface) {
    this.#iface = iface;
    this.#sending = `socket.send on "${iface.name}"`;
    iface.sockets.add(this);
  }

  get interface(): string {
    return this.#iface.name;
  }
  get pending(): number {
    return this.#queue.length;
  }

  send(frame: Uint8Array): void {
    if (this.closed) throw fail("ENXIO", `socket.send: the socket on "${this.#iface.name}" is closed.`);
    this.#iface.send(frame, this.#sending);
  }

  recv(): Promise<Uint8Array> {
    const frame = this.#queue.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.closed || this.#iface.state === "gone") return Promise.reject(this.#ended("socket.recv"));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  tryRecv(): Uint8Array | undefined {
    return this.#queue.shift();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#iface.sockets.delete(this);
    this.gone();
  }

  /** A frame for this socket: to a waiting `recv`, or queued. */
  deliver(frame: Uint8Array): void {
    this.received++;
    const waiter = this.#waiters.shift();
    if (waiter !== undefined) waiter.resolve(frame);
    else if (this.#queue.length < SOCKET_QUEUE_LEN) this.#queue.push(frame);
    else this.dropped++;
  }

  /** The interface went away (or the socket closed): waiting receives are refused. */
  gone(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#ended("socket.recv"));
  }

  #ended(operation: string): Error {
    return this.closed
      ? fail("ENXIO", `${operation}: the socket on "${this.#iface.name}" is closed.`)
      : fail("ENXIO", `${operation}: interface "${this.#iface.name}" is gone: its driver unregistered it, and nothing is left to read.`);
  }
}
