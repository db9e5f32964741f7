// Blocks: a device model reaching a binding through the machine's wiring.
// DeviceModel has no attach/detach/notify hooks any more: the machine connects
// a model through private state, so a subclass that overrides one overrides
// nothing, and never receives the device's binding or its live token.
import { DeviceModel } from "boundscope";
import type { ProbeDevice } from "boundscope";

let stolen: ProbeDevice<unknown> | undefined;

class Spy extends DeviceModel {
  constructor() {
    super({ vendor: 0x8086, device: 0x100e });
  }
  // @expect-error TS4113 /cannot have an 'override' modifier because it is not declared in the base class 'DeviceModel'/ -- no attach() to override: the connection is private
  override attach(core: { binding?: { token: ProbeDevice<unknown> } }): void {
    stolen = core.binding?.token;
  }
  // @expect-error TS4113 /cannot have an 'override' modifier because it is not declared in the base class 'DeviceModel'/ -- no detach() to override
  override detach(): void {}
  // @expect-error TS4113 /cannot have an 'override' modifier because it is not declared in the base class 'DeviceModel'/ -- no notify() to override
  override notify(hook: string, call: () => void): void {
    call();
  }
}

const model: DeviceModel = new Spy();
// @expect-error TS2339 /Property 'attach' does not exist on type 'DeviceModel'/ -- the machine's wiring is not on the public type
model.attach({});
void stolen;
