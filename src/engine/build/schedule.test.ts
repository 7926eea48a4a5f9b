import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OrderedOutput, runInDependencyOrder, type Task } from './schedule.js';

/** A task body that records when it starts and ends, finishing when `release(id)` is called. */
function recorder() {
  const log: string[] = [];
  const waiting = new Map<number, () => void>();
  let running = 0;
  let maxRunning = 0;
  const run = (id: number) =>
    new Promise<void>((resolve) => {
      running++;
      maxRunning = Math.max(maxRunning, running);
      log.push(`start ${id}`);
      waiting.set(id, () => {
        running--;
        log.push(`end ${id}`);
        resolve();
      });
    });
  const release = async (id: number) => {
    for (let i = 0; i < 100 && !waiting.has(id); i++) await new Promise((r) => setImmediate(r));
    const done = waiting.get(id);
    assert.ok(done, `task ${id} started`);
    waiting.delete(id);
    done();
  };
  return { log, run, release, maxRunning: () => maxRunning };
}

describe('runInDependencyOrder', () => {
  test('independent tasks overlap up to the limit; a dependent one waits for both', async () => {
    const r = recorder();
    const tasks: Task[] = [
      { id: 0, dependsOn: [] },
      { id: 1, dependsOn: [] },
      { id: 2, dependsOn: [] },
      { id: 3, dependsOn: [0, 1] },
    ];
    const all = runInDependencyOrder(tasks, 2, r.run, () => undefined);
    await r.release(1);
    await r.release(0);
    await r.release(2);
    await r.release(3);
    await all;
    assert.equal(r.maxRunning(), 2);
    assert.deepEqual(r.log.slice(0, 2), ['start 0', 'start 1']);
    assert.ok(r.log.indexOf('start 3') > r.log.indexOf('end 0'));
    assert.ok(r.log.indexOf('start 3') > r.log.indexOf('end 1'));
  });

  test('the first failure stops new starts, waits for running tasks and is thrown', async () => {
    const started: number[] = [];
    let stopped = 0;
    const tasks: Task[] = [
      { id: 0, dependsOn: [] },
      { id: 1, dependsOn: [] },
      { id: 2, dependsOn: [0] },
    ];
    let finishSlow: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => {
      finishSlow = resolve;
    });
    const all = runInDependencyOrder(
      tasks,
      2,
      async (id) => {
        started.push(id);
        if (id === 0) throw new Error('stage 0 failed');
        await slow;
      },
      () => {
        stopped++;
        finishSlow();
      },
    );
    await assert.rejects(all, /stage 0 failed/);
    assert.equal(stopped, 1);
    assert.deepEqual(started, [0, 1]);
  });

  test('dependencies outside the list count as done; a cycle is an error', async () => {
    const seen: number[] = [];
    await runInDependencyOrder(
      [{ id: 5, dependsOn: [9] }],
      2,
      async (id) => {
        seen.push(id);
      },
      () => undefined,
    );
    assert.deepEqual(seen, [5]);
    const cycle = [
      { id: 0, dependsOn: [1] },
      { id: 1, dependsOn: [0] },
    ];
    await assert.rejects(
      runInDependencyOrder(
        cycle,
        2,
        async () => undefined,
        () => undefined,
      ),
      /cycle/,
    );
  });
});

describe('OrderedOutput', () => {
  test('later stages are held until the earlier ones finish, then flushed in order', () => {
    const lines: string[] = [];
    const out = new OrderedOutput({ stream: (t) => lines.push(t), aux: () => undefined }, 3);
    const [a, b, c] = [out.channel(0), out.channel(1), out.channel(2)];
    b.stream('b1');
    c.stream('c1');
    a.stream('a1');
    assert.deepEqual(lines, ['a1']);
    out.close(2);
    b.stream('b2');
    assert.deepEqual(lines, ['a1']);
    a.stream('a2');
    out.close(0);
    assert.deepEqual(lines, ['a1', 'a2', 'b1', 'b2']);
    b.stream('b3');
    out.close(1);
    assert.deepEqual(lines, ['a1', 'a2', 'b1', 'b2', 'b3', 'c1']);
  });
});
