/**
 * The virtual clock (src/clock.ts): nothing moves until a run advances it;
 * events fire in (time, order of scheduling); a cancelled event never fires;
 * promise continuations run between events; the same inputs give the same
 * trace.
 */

import { describe, expect, it } from "vitest";
import { Machine } from "../src/index.js";
import { deferred, expectCode, expectReject, smuggle, tick } from "./helpers.js";

describe("time", () => {
  it("starts at zero and does not move by itself", async () => {
    const machine = new Machine();
    expect(machine.clock.now).toBe(0);
    await tick();
    expect(machine.clock.now).toBe(0);
  });

  it("run(ns) moves it by exactly ns, with or without events", async () => {
    const machine = new Machine();
    await machine.run(1_500);
    expect(machine.clock.now).toBe(1_500);
    machine.clock.after(100, () => {});
    await machine.run(1_000);
    expect(machine.clock.now).toBe(2_500);
  });

  it("run(0) fires what is due now and leaves time where it was", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    machine.clock.after(0, () => fired.push(machine.clock.now));
    await machine.run(0);
    expect(fired).toEqual([0]);
    expect(machine.clock.now).toBe(0);
  });

  it("an event fires at its own time, seen from inside it", async () => {
    const machine = new Machine();
    const seen: number[] = [];
    machine.clock.after(300, () => seen.push(machine.clock.now));
    machine.clock.after(700, () => seen.push(machine.clock.now));
    await machine.run(1_000);
    expect(seen).toEqual([300, 700]);
  });

  it("an event due after the span waits for the next run", async () => {
    const machine = new Machine();
    const fired: string[] = [];
    machine.clock.after(2_000, () => fired.push("late"));
    await machine.run(1_999);
    expect(fired).toEqual([]);
    await machine.run(1);
    expect(fired).toEqual(["late"]);
  });
});

describe("order", () => {
  it("events fire by time, whatever order they were scheduled in", async () => {
    const machine = new Machine();
    const fired: string[] = [];
    for (const [name, at] of [["c", 30], ["a", 10], ["d", 40], ["b", 20]] as const) {
      machine.clock.after(at, () => fired.push(name));
    }
    await machine.run(100);
    expect(fired).toEqual(["a", "b", "c", "d"]);
  });

  it("events due at the same time fire in the order they were scheduled", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    for (let i = 0; i < 20; i++) machine.clock.after(50, () => fired.push(i));
    await machine.run(50);
    expect(fired).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it("an event scheduled by an event, due inside the span, fires in the same run", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    machine.clock.after(100, () => {
      fired.push(machine.clock.now);
      machine.clock.after(0, () => fired.push(machine.clock.now));
      machine.clock.after(200, () => fired.push(machine.clock.now));
    });
    await machine.run(1_000);
    expect(fired).toEqual([100, 100, 300]);
  });

  it("a zero delay runs after what is already due at the current time", async () => {
    const machine = new Machine();
    const fired: string[] = [];
    machine.clock.after(10, () => {
      fired.push("first");
      machine.clock.after(0, () => fired.push("scheduled by first"));
    });
    machine.clock.after(10, () => fired.push("second"));
    await machine.run(10);
    expect(fired).toEqual(["first", "second", "scheduled by first"]);
  });

  it("a heap's worth of random delays comes out sorted", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    let seed = 12345;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const at = seed % 10_000;
      machine.clock.after(at, () => fired.push(machine.clock.now));
    }
    await machine.run(10_000);
    expect(fired).toHaveLength(500);
    expect(fired).toEqual([...fired].sort((a, b) => a - b));
  });

  it("the same schedule gives the same trace on two machines", async () => {
    const trace = async (): Promise<string[]> => {
      const machine = new Machine();
      const out: string[] = [];
      const step = (name: string, every: number, times: number): void => {
        if (times === 0) return;
        machine.clock.after(every, () => {
          out.push(`${machine.clock.now} ${name}`);
          step(name, every, times - 1);
        });
      };
      step("a", 30, 10);
      step("b", 45, 10);
      step("c", 90, 5);
      await machine.run(1_000);
      return out;
    };
    const first = await trace();
    expect(first.length).toBe(25);
    expect(await trace()).toEqual(first);
  });
});

describe("cancelling", () => {
  it("a cancelled event never fires", async () => {
    const machine = new Machine();
    const fired: string[] = [];
    const timer = machine.clock.after(100, () => fired.push("x"));
    expect(timer.at).toBe(100);
    timer.cancel();
    await machine.run(1_000);
    expect(fired).toEqual([]);
  });

  it("an event can cancel a later one due at the same time", async () => {
    const machine = new Machine();
    const fired: string[] = [];
    machine.clock.after(100, () => {
      fired.push("a");
      victim.cancel();
    });
    const victim = machine.clock.after(100, () => fired.push("b"));
    await machine.run(100);
    expect(fired).toEqual(["a"]);
  });

  it("pending counts scheduled, uncancelled, unfired events", async () => {
    const machine = new Machine();
    const one = machine.clock.after(10, () => {});
    machine.clock.after(20, () => {});
    machine.clock.after(30, () => {});
    expect(machine.clock.pending).toBe(3);
    one.cancel();
    expect(machine.clock.pending).toBe(2);
    await machine.run(20);
    expect(machine.clock.pending).toBe(1);
  });

  it("cancelling an event that already fired changes nothing", async () => {
    const machine = new Machine();
    let count = 0;
    const timer = machine.clock.after(10, () => count++);
    await machine.run(10);
    timer.cancel();
    await machine.run(10);
    expect(count).toBe(1);
  });
});

describe("driver code between events", () => {
  it("promise continuations woken by an event run before the next event", async () => {
    const machine = new Machine();
    const log: string[] = [];
    const woken = deferred();
    void (async () => {
      await woken.promise;
      log.push("continuation");
      await Promise.resolve();
      log.push("continuation, one await later");
    })();
    machine.clock.after(10, () => {
      log.push("event 1");
      woken.resolve();
    });
    machine.clock.after(20, () => log.push("event 2"));
    await machine.run(100);
    expect(log).toEqual(["event 1", "continuation", "continuation, one await later", "event 2"]);
  });

  it("a run asked for while another is going waits for it, then runs its own span", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    machine.clock.after(50, () => fired.push(machine.clock.now));
    machine.clock.after(150, () => fired.push(machine.clock.now));
    const first = machine.run(100);
    const second = machine.run(100);
    await Promise.all([first, second]);
    expect(fired).toEqual([50, 150]);
    expect(machine.clock.now).toBe(200);
  });

  it("runUntilIdle while a run is going is EBUSY; the run finishes", async () => {
    const machine = new Machine();
    let count = 0;
    machine.clock.after(10, () => count++);
    const first = machine.run(100);
    await expectReject(machine.runUntilIdle(), "EBUSY");
    await first;
    expect(count).toBe(1);
    expect(machine.clock.now).toBe(100);
  });

  it("an event that throws rejects the run at its time; the clock is usable after", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    machine.clock.after(10, () => {
      throw new Error("device firmware bug");
    });
    machine.clock.after(20, () => fired.push(machine.clock.now));
    await expect(machine.run(100)).rejects.toThrow("device firmware bug");
    expect(machine.clock.now).toBe(10);
    await machine.run(90);
    expect(fired).toEqual([20]);
    expect(machine.clock.now).toBe(100);
  });
});

describe("runUntilIdle", () => {
  it("fires every event and stops at the last one", async () => {
    const machine = new Machine();
    const fired: number[] = [];
    machine.clock.after(5_000, () => fired.push(machine.clock.now));
    machine.clock.after(1_000, () => machine.clock.after(9_000, () => fired.push(machine.clock.now)));
    await machine.runUntilIdle();
    expect(fired).toEqual([5_000, 10_000]);
    expect(machine.clock.now).toBe(10_000);
    expect(machine.clock.pending).toBe(0);
  });

  it("with nothing scheduled it returns at once, time unchanged", async () => {
    const machine = new Machine();
    await machine.run(42);
    await machine.runUntilIdle();
    expect(machine.clock.now).toBe(42);
  });

  it("a device that reschedules itself forever is EBUSY after maxEvents, not a hang", async () => {
    const machine = new Machine();
    let count = 0;
    const again = (): void => {
      count++;
      machine.clock.after(1, again);
    };
    machine.clock.after(1, again);
    const error = await expectReject(machine.runUntilIdle(50), "EBUSY");
    expect(error.message).toContain("run(ns)");
    expect(count).toBe(50);
    // The clock was left usable.
    await machine.run(10);
    expect(count).toBe(60);
  });

  it("exactly maxEvents events and then idle is not EBUSY", async () => {
    const machine = new Machine();
    for (let i = 1; i <= 5; i++) machine.clock.after(i, () => {});
    await machine.runUntilIdle(5);
    expect(machine.clock.pending).toBe(0);
  });
});

describe("bad arguments", () => {
  it.each<[string, unknown]>([
    ["a negative delay", -1],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a string", "10"],
    ["a bigint", 10n],
  ])("after() with %s is EINVAL and schedules nothing", (_, ns) => {
    const machine = new Machine();
    expectCode(() => machine.clock.after(smuggle<number>(ns), () => {}), "EINVAL");
    expect(machine.clock.pending).toBe(0);
  });

  it("after() without a function is EINVAL", () => {
    const machine = new Machine();
    expectCode(() => machine.clock.after(10, smuggle<() => void>("later")), "EINVAL");
    expect(machine.clock.pending).toBe(0);
  });

  it.each<[string, unknown]>([
    ["a negative span", -5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ["a string", "5"],
  ])("run() with %s is EINVAL and moves nothing", async (_, ns) => {
    const machine = new Machine();
    await expectReject(machine.run(smuggle<number>(ns)), "EINVAL");
    expect(machine.clock.now).toBe(0);
  });
});
