import assert from "node:assert/strict";
import { test } from "node:test";
import { ActiveRefresh, isActiveStatus } from "../src/lib/liveRefresh";

/** Fake timers the test fires, and a reload that counts and can be held open. */
class Fake {
  timers: { callback: () => void; ms: number; id: number }[] = [];
  nextTimer = 1;
  reloads = 0;
  hold: (() => void) | null = null;
  holdNext = false;

  deps() {
    return {
      setTimer: (callback: () => void, ms: number) => {
        const id = this.nextTimer++;
        this.timers.push({ callback, ms, id });
        return id;
      },
      clearTimer: (handle: unknown) => {
        this.timers = this.timers.filter((timer) => timer.id !== handle);
      },
    };
  }

  reload = async () => {
    this.reloads += 1;
    if (this.holdNext) {
      this.holdNext = false;
      await new Promise<void>((resolve) => (this.hold = resolve));
    }
  };

  async fire() {
    const timer = this.timers.shift();
    assert.ok(timer, "a reload is scheduled");
    timer.callback();
    await flush();
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

test("an idle list never polls; an active one reloads every interval until nothing shown is active", async () => {
  const fake = new Fake();
  const refresh = new ActiveRefresh(fake.deps(), fake.reload, 2000);
  refresh.setActive(false);
  assert.equal(fake.timers.length, 0, "nothing queued or running: no request");
  refresh.setActive(true);
  assert.equal(fake.timers.length, 1);
  assert.equal(fake.timers[0].ms, 2000);
  refresh.setActive(true);
  assert.equal(fake.timers.length, 1, "still active: one timer, not two");
  await fake.fire();
  assert.equal(fake.reloads, 1);
  assert.equal(fake.timers.length, 1, "the next reload is timed after the answer");
  // The reload showed the run finished: the page says nothing is active any more.
  refresh.setActive(false);
  assert.equal(fake.timers.length, 0, "polling stops once the run ended");
  refresh.stop();
});

test("one reload at a time: a slow answer is never asked for twice", async () => {
  const fake = new Fake();
  const refresh = new ActiveRefresh(fake.deps(), fake.reload, 2000);
  refresh.setActive(true);
  fake.holdNext = true;
  await fake.fire();
  assert.equal(fake.reloads, 1);
  refresh.setActive(true);
  assert.equal(fake.timers.length, 0, "no timer while the reload is still out");
  fake.hold?.();
  await flush();
  assert.equal(fake.timers.length, 1);
  refresh.stop();
  assert.equal(fake.timers.length, 0);
});

test("a hidden tab does not poll and reloads once when shown again", async () => {
  const fake = new Fake();
  const refresh = new ActiveRefresh(fake.deps(), fake.reload, 2000);
  refresh.setActive(true);
  refresh.setVisible(false);
  assert.equal(fake.timers.length, 0);
  refresh.setVisible(true);
  await flush();
  assert.equal(fake.reloads, 1, "shown again: at once, not after an interval");
  assert.equal(fake.timers.length, 1);
  refresh.setActive(false);
  refresh.setVisible(false);
  refresh.setVisible(true);
  await flush();
  assert.equal(fake.reloads, 1, "nothing was active: nothing to catch up on");
  refresh.stop();
});

test("a failed reload keeps polling while the list still shows active runs", async () => {
  const fake = new Fake();
  let fail = true;
  const refresh = new ActiveRefresh(
    fake.deps(),
    async () => {
      fake.reloads += 1;
      if (fail) throw new Error("hub restarting");
    },
    2000,
  );
  refresh.setActive(true);
  await fake.fire();
  assert.equal(fake.timers.length, 1);
  fail = false;
  await fake.fire();
  assert.equal(fake.reloads, 2);
  refresh.stop();
});

test("queued and running can still change; terminal states cannot", () => {
  assert.ok(isActiveStatus("queued") && isActiveStatus("running"));
  for (const status of ["success", "failed", "canceled", "rejected", null, undefined]) assert.ok(!isActiveStatus(status));
});
