// The ring-nic protocol of examples/ring-nic.ts in plain JavaScript, with no
// library: the baseline of the simulator-overhead row (sim.mjs).
//
// It does the work the simulated machine does for each packet, the way one
// would write a one-off simulation by hand:
// - memory is one ArrayBuffer; a bus address is an offset into it, and a
//   descriptor is read and written through one DataView;
// - a doorbell is a direct call of the device's register write, a DMA a copy
//   between a frame and that ArrayBuffer, an interrupt a direct call of the
//   driver's handler;
// - time is a binary heap of timers on (time, order of scheduling), and the
//   work the kernel defers (NAPI polls, queue wake-ups) is a FIFO of
//   functions drained after each timer, where the machine lets microtasks run.
// The driver, the network stack's transmit queue and NAPI, the device's
// descriptor cache, its loopback, and the user's traffic (numbered frames,
// each one checked when it comes back) follow the example, its model, the
// stack (src/subsys/net.ts) and `startTraffic` step for step, so after the
// same virtual time both have sent, received and checked the same frames:
// sim.mjs checks that they did. What it leaves out is what the library adds:
// tokens and their checks, devres, the IOMMU and the DMA checker, events,
// argument checks, and the promise turn between two timers.

/** Descriptors per ring (RING_SIZE), bytes per buffer (BUFFER_SIZE), as in the example. */
const RING = 32;
const BUFFER = 2048;
/** The descriptor layout of NicDesc: addr u64, len u32, flags u16, status u16. */
const DESC = 16;
const DESC_LEN = 8;
const DESC_FLAGS = 12;
const DESC_STATUS = 14;
const DESC_DONE = 1;
/** The model's timing and limits (examples/models/ring-nic-model.ts). */
const TICK_NS = 500;
const MAX_FRAME = 9018;
const ISR_TX = 1;
const ISR_RX = 2;
/** The stack's limits (src/subsys/net.ts) and NAPI weight (registerNetdev's default). */
const SOCKET_QUEUE_LEN = 1024;
const WEIGHT = 64;
/** startTraffic's pacing. */
const KEEP_QUEUED = 64;
const TOP_UP_NS = 4_000;

/** Where the driver's four coherent areas sit in the one ArrayBuffer. */
const TX_DESCS = 0;
const RX_DESCS = TX_DESCS + RING * DESC;
const TX_BUFFERS = RX_DESCS + RING * DESC;
const RX_BUFFERS = TX_BUFFERS + RING * BUFFER;
const MEMORY = RX_BUFFERS + RING * BUFFER;

const next = (index) => (index + 1) % RING;

const frameLength = (seq) => 60 + ((seq * 97) % 1400);

function writeFrame(frame, seq) {
  new DataView(frame.buffer, frame.byteOffset, frame.byteLength).setUint32(0, seq, true);
  for (let i = 4; i < frame.length; i++) frame[i] = (seq + i) & 0xff;
}

function frameIntact(frame) {
  if (frame.length < 4) return false;
  const seq = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0, true);
  if (frame.length !== frameLength(seq)) return false;
  for (let i = 4; i < frame.length; i++) if (frame[i] !== ((seq + i) & 0xff)) return false;
  return true;
}

/** Virtual time: timers on a binary min-heap, and the deferred work run after each. */
class Clock {
  now = 0;
  #seq = 0;
  #heap = [];
  #deferred = [];

  after(ns, run) {
    const heap = this.#heap;
    const entry = { at: this.now + ns, seq: this.#seq++, run, cancelled: false };
    heap.push(entry);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i], heap[parent])) break;
      [heap[i], heap[parent]] = [heap[parent], heap[i]];
      i = parent;
    }
    return entry;
  }

  /** Work for after the current timer (the machine's microtasks). */
  defer(run) {
    this.#deferred.push(run);
  }

  run(ns) {
    const until = this.now + ns;
    this.#drain();
    for (;;) {
      const entry = this.#peek();
      if (entry === undefined || entry.at > until) break;
      this.#pop();
      this.now = entry.at;
      entry.run();
      this.#drain();
    }
    this.now = until;
  }

  #drain() {
    const deferred = this.#deferred;
    for (let i = 0; i < deferred.length; i++) deferred[i]();
    deferred.length = 0;
  }

  #peek() {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
    return this.#heap[0];
  }

  #pop() {
    const heap = this.#heap;
    const last = heap.pop();
    if (heap.length === 0) return;
    heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && earlier(heap[l], heap[m])) m = l;
      if (r < heap.length && earlier(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  }
}

const earlier = (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq);

/** One of the device's rings: registers and its descriptor cache. */
class DeviceRing {
  base = 0;
  size = 0;
  head = 0;
  tail = 0;
  fetched = 0;
  cache = [];
}

/** The NIC: RingNicModel's engine, with DMA as copies in and out of memory. */
class Nic {
  running = false;
  isr = 0;
  tick = undefined;
  tx = new DeviceRing();
  rx = new DeviceRing();
  loopback = [];
  sent = 0;
  received = 0;
  missed = 0;

  constructor(clock, memory, irq) {
    this.clock = clock;
    this.bytes = new Uint8Array(memory);
    this.view = new DataView(memory);
    this.irq = irq;
  }

  readIsr() {
    return this.isr;
  }

  ackIsr(bits) {
    this.isr &= ~bits;
  }

  program(ring, base, size) {
    ring.base = base;
    ring.size = size;
    ring.head = ring.tail = ring.fetched = 0;
    ring.cache.length = 0;
  }

  start() {
    this.running = true;
    this.#fetch(this.tx);
    this.#fetch(this.rx);
    this.#kick();
  }

  doorbell(ring, tail) {
    ring.tail = tail % ring.size;
    if (!this.running) return;
    this.#fetch(ring);
    this.#kick();
  }

  get inFlight() {
    return this.tx.cache.length + this.loopback.length;
  }

  #fetch(ring) {
    const view = this.view;
    while (ring.fetched !== ring.tail) {
      const at = ring.base + ring.fetched * DESC;
      // The bus address is a u64 in the descriptor; memory here is far below 2**32.
      ring.cache.push({ index: ring.fetched, addr: view.getUint32(at, true), len: Math.min(view.getUint32(at + DESC_LEN, true), MAX_FRAME) });
      ring.fetched = (ring.fetched + 1) % ring.size;
    }
  }

  #kick() {
    if (!this.running || this.tick !== undefined || this.inFlight === 0) return;
    this.tick = this.clock.after(TICK_NS, () => {
      this.tick = undefined;
      this.#step();
      this.#kick();
    });
  }

  #step() {
    let cause = 0;
    const frame = this.loopback.shift();
    if (frame !== undefined) {
      const buffer = this.rx.cache.shift();
      if (buffer === undefined) {
        this.missed++;
      } else {
        const len = Math.min(frame.length, buffer.len);
        if (len > 0) this.bytes.set(frame.subarray(0, len), buffer.addr);
        this.#finish(this.rx, buffer, len);
        this.received++;
        cause |= ISR_RX;
      }
    }
    const out = this.tx.cache.shift();
    if (out !== undefined) {
      if (out.len > 0) this.loopback.push(this.bytes.slice(out.addr, out.addr + out.len));
      this.#finish(this.tx, out, out.len);
      this.sent++;
      cause |= ISR_TX;
    }
    if (cause === 0) return;
    this.isr |= cause;
    this.irq();
  }

  #finish(ring, entry, len) {
    const at = ring.base + entry.index * DESC;
    const view = this.view;
    view.setUint32(at, entry.addr, true);
    view.setUint32(at + 4, 0, true);
    view.setUint32(at + DESC_LEN, len, true);
    view.setUint16(at + DESC_FLAGS, 0, true);
    view.setUint16(at + DESC_STATUS, DESC_DONE, true);
    ring.head = (entry.index + 1) % ring.size;
  }
}

/** The driver: RingNic's transmit, interrupt and poll over the same memory. */
class Driver {
  txClean = 0;
  txTail = 0;
  rxClean = 0;
  stats = { sent: 0, received: 0, bytes: 0, errors: 0, interrupts: 0, polls: 0 };

  constructor(memory) {
    this.bytes = new Uint8Array(memory);
    this.view = new DataView(memory);
  }

  /** `ndo_open`: posts every RX buffer, programs the rings, starts the engine. */
  open(nic) {
    for (let i = 0; i < RING; i++) this.#writeDesc(RX_DESCS, i, RX_BUFFERS + i * BUFFER, BUFFER);
    nic.program(nic.tx, TX_DESCS, RING);
    nic.program(nic.rx, RX_DESCS, RING);
    nic.doorbell(nic.rx, RING - 1);
    nic.start();
  }

  transmit(packet) {
    if (next(this.txTail) === this.txClean) {
      this.iface.stopQueue();
      return "busy";
    }
    const i = this.txTail;
    this.bytes.set(packet, TX_BUFFERS + i * BUFFER);
    this.#writeDesc(TX_DESCS, i, TX_BUFFERS + i * BUFFER, packet.length);
    this.txTail = next(i);
    this.nic.doorbell(this.nic.tx, this.txTail);
    if (next(this.txTail) === this.txClean) this.iface.stopQueue();
    return "ok";
  }

  interrupt() {
    const cause = this.nic.readIsr();
    this.nic.ackIsr(cause);
    this.stats.interrupts++;
    if ((cause & (ISR_TX | ISR_RX)) !== 0) this.iface.napiSchedule();
  }

  poll(budget) {
    this.stats.polls++;
    const view = this.view;
    const before = this.txClean;
    while (this.txClean !== this.txTail && (view.getUint16(TX_DESCS + this.txClean * DESC + DESC_STATUS, true) & DESC_DONE) !== 0) {
      view.setUint16(TX_DESCS + this.txClean * DESC + DESC_STATUS, 0, true);
      this.stats.sent++;
      this.txClean = next(this.txClean);
    }
    if (this.txClean !== before && this.iface.queueStopped) this.iface.wakeQueue();
    let reaped = -1;
    let done = 0;
    while (done < budget && (view.getUint16(RX_DESCS + this.rxClean * DESC + DESC_STATUS, true) & DESC_DONE) !== 0) {
      const i = this.rxClean;
      const at = RX_DESCS + i * DESC;
      const len = view.getUint32(at + DESC_LEN, true);
      if (len > 0) {
        this.iface.receive(this.bytes.subarray(RX_BUFFERS + i * BUFFER, RX_BUFFERS + i * BUFFER + len));
        this.stats.received++;
        this.stats.bytes += len;
      } else {
        this.stats.errors++;
      }
      view.setUint32(at + DESC_LEN, BUFFER, true);
      view.setUint16(at + DESC_STATUS, 0, true);
      reaped = i;
      done++;
      this.rxClean = next(i);
    }
    if (reaped >= 0) this.nic.doorbell(this.nic.rx, reaped);
    return done;
  }

  #writeDesc(ring, index, addr, len) {
    const at = ring + index * DESC;
    const view = this.view;
    view.setUint32(at, addr, true);
    view.setUint32(at + 4, 0, true);
    view.setUint32(at + DESC_LEN, len, true);
    view.setUint16(at + DESC_FLAGS, 0, true);
    view.setUint16(at + DESC_STATUS, 0, true);
  }
}

const NAPI_IDLE = 0;
const NAPI_SCHEDULED = 1;
const NAPI_POLLING = 2;
const NAPI_MISSED = 3;

/** The interface: the stack's transmit queue (with its bypass), stop and wake, NAPI, one socket. */
class Interface {
  queueStopped = false;
  txq = [];
  head = 0;
  xmitting = false;
  wakePending = false;
  napi = NAPI_IDLE;
  socket = [];
  stats = { txPackets: 0, txBytes: 0, txBusy: 0, rxPackets: 0, rxBytes: 0, polls: 0 };

  constructor(clock, driver) {
    this.clock = clock;
    this.driver = driver;
  }

  get queued() {
    return this.txq.length - this.head;
  }

  send(frame) {
    if (this.head === this.txq.length && !this.queueStopped && !this.xmitting) {
      this.xmitting = true;
      const outcome = this.driver.transmit(frame);
      this.xmitting = false;
      if (outcome !== "busy") return this.#count(frame.length);
      this.stats.txBusy++;
      this.txq.push(frame.slice());
      return;
    }
    this.txq.push(frame.slice());
    this.#xmit();
  }

  #xmit() {
    if (this.xmitting) return;
    this.xmitting = true;
    const txq = this.txq;
    while (this.head < txq.length && !this.queueStopped) {
      const packet = txq[this.head];
      if (this.driver.transmit(packet) === "busy") {
        this.stats.txBusy++;
        break;
      }
      txq[this.head++] = undefined;
      this.#count(packet.length);
    }
    if (this.head === txq.length) {
      txq.length = 0;
      this.head = 0;
    } else if (this.head > 256 && this.head * 2 > txq.length) {
      this.txq = txq.slice(this.head);
      this.head = 0;
    }
    this.xmitting = false;
  }

  #count(bytes) {
    this.stats.txPackets++;
    this.stats.txBytes += bytes;
  }

  stopQueue() {
    this.queueStopped = true;
  }

  wakeQueue() {
    this.queueStopped = false;
    if (this.wakePending || this.queued === 0) return;
    this.wakePending = true;
    this.clock.defer(this.#runWoken);
  }

  #runWoken = () => {
    this.wakePending = false;
    this.#xmit();
  };

  napiSchedule() {
    if (this.napi === NAPI_POLLING) {
      this.napi = NAPI_MISSED;
      return;
    }
    if (this.napi !== NAPI_IDLE) return;
    this.napi = NAPI_SCHEDULED;
    this.clock.defer(this.#poll);
  }

  #poll = () => {
    if (this.napi !== NAPI_SCHEDULED) return;
    this.napi = NAPI_POLLING;
    this.stats.polls++;
    const done = this.driver.poll(WEIGHT);
    // A full budget is polled again later (the stack's next macrotask; here, the next drain).
    if (done >= WEIGHT || this.napi === NAPI_MISSED) {
      this.napi = NAPI_SCHEDULED;
      this.clock.defer(this.#poll);
    } else {
      this.napi = NAPI_IDLE;
    }
  };

  receive(frame) {
    this.stats.rxPackets++;
    this.stats.rxBytes += frame.length;
    if (this.socket.length < SOCKET_QUEUE_LEN) this.socket.push(frame.slice());
  }
}

/**
 * A NIC brought up with `startTraffic`'s user side running on it. `run(ns)`
 * advances it; the counters say what the device and the user saw.
 */
export class PlainRingNic {
  #clock = new Clock();
  #nic;
  #iface;
  #seq = 0;
  intact = 0;
  damaged = 0;

  constructor() {
    const memory = new ArrayBuffer(MEMORY);
    const driver = new Driver(memory);
    this.#nic = new Nic(this.#clock, memory, () => driver.interrupt());
    this.#iface = new Interface(this.#clock, driver);
    driver.nic = this.#nic;
    driver.iface = this.#iface;
    driver.open(this.#nic);
    this.#topUp();
  }

  /** Frames the device transmitted, and received back. */
  get sent() {
    return this.#nic.sent;
  }
  get received() {
    return this.#nic.received;
  }

  run(ns) {
    this.#clock.run(ns);
  }

  #drain() {
    const socket = this.#iface.socket;
    for (let i = 0; i < socket.length; i++) {
      if (frameIntact(socket[i])) this.intact++;
      else this.damaged++;
    }
    socket.length = 0;
  }

  #topUp = () => {
    this.#drain();
    while (this.#iface.queued < KEEP_QUEUED) {
      const frame = new Uint8Array(frameLength(this.#seq));
      writeFrame(frame, this.#seq++);
      this.#iface.send(frame);
    }
    this.#clock.after(TOP_UP_NS, this.#topUp);
  };

  /** Counts the frames waiting in the socket, as the example's `intact` getter does. */
  settle() {
    this.#drain();
  }
}
