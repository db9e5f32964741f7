// Blocks: sleeping in a subsystem's atomic op. transmit, the NAPI poll and a
// block device's submit get an AtomicDevice, which lacks the sleepable
// brand, so sleep() refuses it; open and stop get a SleepableDevice and may.
// A request completed with another binding's token is refused too.
import { registerBlockDevice, registerNetdev, sleep } from "boundscope";
import type { ProbeDevice } from "boundscope";

export function nic<Scope>(dev: ProbeDevice<Scope>): void {
  registerNetdev(dev, {
    open: async (dev) => sleep(dev, 1_000),
    transmit: (dev) => {
      // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'AtomicDevice<Scope>'|Argument of type 'AtomicDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<(Scope|unknown)>'/ -- sleeping in transmit
      void sleep(dev, 1_000);
      return "ok";
    },
    poll: (dev) => {
      // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'AtomicDevice<Scope>'|Argument of type 'AtomicDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<(Scope|unknown)>'/ -- sleeping in the NAPI poll
      void sleep(dev, 1_000);
      return 0;
    },
  });
}

export function disk<Scope, Other>(dev: ProbeDevice<Scope>, other: ProbeDevice<Other>): void {
  registerBlockDevice(
    dev,
    {
      submit: (dev, request) => {
        // @expect-error TS2345 ts7=TS2741 /Property '\[sleepableContext\]' is missing in type 'AtomicDevice<Scope>'|Argument of type 'AtomicDevice<Scope>' is not assignable to parameter of type 'SleepableDevice<(Scope|unknown)>'/ -- sleeping in submit
        void sleep(dev, 1_000);
        // @expect-error TS2345 /Argument of type 'ProbeDevice<Other>' is not assignable to parameter of type 'BoundDevice<Scope>'/ -- completing a request with another binding's token
        request.complete(other);
      },
    },
    { sectors: 8 },
  );
}
