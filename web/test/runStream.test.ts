import assert from "node:assert/strict";
import { test } from "node:test";
import type { RunEvent } from "../src/api";
import { RunStream, type RunStreamState, type SocketLike } from "../src/lib/runStream";

const event = (seq: number, kind = "log"): RunEvent => ({ run_id: "r", seq, ts: 0, level: "info", kind, message: `m${seq}`, fields: null });

/** A fake server: the database's events, sockets the test drives, and timers it fires. */
class Fake {
  stored: RunEvent[] = [];
  sockets: { afterSeq: number; socket: SocketLike; closed: boolean }[] = [];
  timers: { callback: () => void; ms: number; id: number }[] = [];
  nextTimer = 1;
  reads: number[] = [];
  failReads = 0;

  deps() {
    return {
      loadAfter: async (afterSeq: number) => {
        this.reads.push(afterSeq);
        if (this.failReads > 0) {
          this.failReads -= 1;
          throw new Error("network down");
        }
        return this.stored.filter((item) => item.seq > afterSeq).slice(0, 500);
      },
      openSocket: (afterSeq: number) => {
        const entry = { afterSeq, closed: false, socket: { onopen: null, onmessage: null, onclose: null, close: () => (entry.closed = true) } as SocketLike };
        this.sockets.push(entry);
        return entry.socket;
      },
      setTimer: (callback: () => void, ms: number) => {
        const id = this.nextTimer++;
        this.timers.push({ callback, ms, id });
        return id;
      },
      clearTimer: (handle: unknown) => {
        this.timers = this.timers.filter((timer) => timer.id !== handle);
      },
      now: () => 0,
    };
  }

  get socket() {
    return this.sockets[this.sockets.length - 1].socket;
  }

  send(frame: unknown) {
    this.socket.onmessage?.(JSON.stringify(frame));
  }

  async fireReconnect() {
    const timer = this.timers.find((candidate) => candidate.ms < 10_000);
    assert.ok(timer, "a reconnect is scheduled");
    this.timers = this.timers.filter((candidate) => candidate !== timer);
    timer.callback();
    await flush();
  }
}

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

test("loads the tail, follows from the last seq, drops duplicates, re-reads gaps, and resumes after a drop", async () => {
  const fake = new Fake();
  fake.stored = Array.from({ length: 1200 }, (_, index) => event(index + 1));
  const states: RunStreamState[] = [];
  const progress: unknown[] = [];
  const stream = new RunStream(fake.deps(), (state) => states.push({ ...state }), (value) => progress.push(value), () => 0.5);
  await stream.start();
  assert.deepEqual(fake.reads, [0, 500, 1000], "HTTP pages of 500 until a short one");
  assert.equal(fake.sockets[0].afterSeq, 1200, "the socket resumes after the last seq held");
  fake.socket.onopen?.();
  assert.equal(stream.current.connection, "live");

  fake.send(event(1200));
  fake.send(event(1201));
  fake.send({ type: "progress", run_id: "r", progress: { v: 1, kind: "backup", stage: "upload", ts: 0, done: { bytes: 5 } } });
  assert.equal(stream.log.lastSeq, 1201);
  assert.equal(progress.length, 1, "progress frames go to their own callback, not the log");

  // 1202 is lost on the wire; 1203 arrives: the gap is read over HTTP, never skipped.
  fake.stored.push(event(1201), event(1202), event(1203));
  fake.stored = fake.stored.filter((item, index, all) => all.findIndex((other) => other.seq === item.seq) === index);
  fake.send(event(1203));
  await flush();
  assert.equal(stream.log.lastSeq, 1203);

  // The link drops: a reconnect within the full-jitter ceiling (1 s on the first attempt), from seq 1203.
  fake.socket.onclose?.(1006);
  assert.equal(stream.current.connection, "reconnecting");
  const delay = fake.timers.find((timer) => timer.ms < 10_000)!.ms;
  assert.ok(delay >= 0 && delay < 1000, `first delay ${delay}`);
  fake.stored.push(event(1204));
  await fake.fireReconnect();
  assert.equal(fake.sockets.length, 2);
  assert.equal(fake.sockets[1].afterSeq, 1204, "missed events were read first, then the socket resumes after them");

  fake.socket.onopen?.();
  fake.send(event(1205, "complete"));
  fake.socket.onclose?.(1000);
  assert.equal(stream.current.connection, "ended", "after the terminal event a close ends the stream");
  const seqs = stream.log.events.map((item) => item.seq);
  assert.deepEqual(seqs, Array.from({ length: 1205 }, (_, index) => index + 1), "every event exactly once, in order");
  assert.ok(states.some((state) => state.connection === "reconnecting"));
  stream.stop();
});

test("failed reads back off with growing ceilings until the server answers", async () => {
  const fake = new Fake();
  fake.stored = [event(1)];
  fake.failReads = 3;
  const stream = new RunStream(fake.deps(), () => {}, () => {}, () => 0.999);
  await stream.start();
  const ceilings: number[] = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const timer = fake.timers.find((candidate) => candidate.ms < 10_000)!;
    ceilings.push(timer.ms);
    await fake.fireReconnect();
  }
  assert.deepEqual(ceilings, [999, 1998, 3996]);
  assert.equal(fake.sockets.length, 1, "connected once the reads succeed");
  assert.equal(stream.log.lastSeq, 1);
  stream.stop();
  assert.equal(fake.sockets[0].closed, true);
});

test("a finished run's stream says ended, never live: at load, and when the terminal event arrives", async () => {
  const done = new Fake();
  done.stored = [event(1, "start"), event(2), event(3, "complete")];
  const finished = new RunStream(done.deps(), () => {});
  await finished.start();
  assert.equal(finished.current.connection, "ended", "a complete log needs no socket");
  assert.equal(done.sockets.length, 0);

  const running = new Fake();
  running.stored = [event(1, "start")];
  const stream = new RunStream(running.deps(), () => {});
  await stream.start();
  running.socket.onopen?.();
  assert.equal(stream.current.connection, "live");
  running.send(event(2, "failed"));
  assert.equal(stream.current.connection, "ended", "the terminal event ends it even while the socket stays open");
  stream.stop();
});
