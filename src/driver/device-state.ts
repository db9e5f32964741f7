/**
 * Where a device is in the driver model: the kernel's three substates (no
 * driver, driver attached, zombie) and the two transitions between them.
 * A file of its own because the token shapes (`tokens.ts`) and the device
 * (`device.ts`) both name it. Types only.
 *
 * Kernel: `struct device`'s `dev->driver` and `dev->p->dead`.
 *
 * # Invariants
 * - The driver core moves a device only along the transitions `core/dd.ts` allows.
 *
 * @module
 */

/**
 * Where a device is in the driver model.
 *
 * - `no-driver`: present, no driver bound. Nothing may be allocated for it.
 * - `probing`: a driver's `probe()` is running.
 * - `bound`: a driver is attached; its token is live.
 * - `unbinding`: `remove()` and then devres release are running.
 * - `zombie`: unplugged. References remain; nothing works through them.
 *
 * @example
 * ```ts
 * await machine.settled();
 * const state: DeviceState = dev.state;   // "bound" once a driver took it
 * if (state === "zombie") console.log(`${dev.name} was unplugged`);
 * ```
 */
export type DeviceState = "no-driver" | "probing" | "bound" | "unbinding" | "zombie";
