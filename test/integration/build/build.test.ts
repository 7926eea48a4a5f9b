// Dockerfile builds (issue 8): the real `docker build` with the classic builder
// (DOCKER_BUILDKIT=0) against a private berthd, on busybox loaded from the harness.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import {
  assertOk,
  busyboxImage,
  type Daemon,
  makeTar,
  type RunResult,
  startDaemon,
} from '../../harness/index.js';
import { CLASSIC, classicBuild, runOutput as runOutputOf, writeContext } from './helpers.js';

let d: Daemon;
let scratch = '';

before(async () => {
  d = await startDaemon();
  scratch = mkdtempSync(join(tmpdir(), 'berth-build-'));
  const image = await busyboxImage();
  assertOk(await d.docker(['load', '-i', image.path]), 'docker load -i busybox.tar');
});
after(async () => {
  await d?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});
afterEach((t) => d?.dumpLogOnFailure(t));

const context = (name: string, files: Record<string, string>) => writeContext(join(scratch, name), files);

const build = (args: string[], opts: { input?: Buffer } = {}) => classicBuild(d, args, opts);

interface Inspected {
  Id: string;
  Author: string;
  Config: {
    Env: string[] | null;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    WorkingDir: string;
    User: string;
    Labels: Record<string, string> | null;
    ExposedPorts: Record<string, object> | null;
    Volumes: Record<string, object> | null;
    Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; Retries?: number };
    StopSignal?: string;
    Shell?: string[];
    OnBuild: string[] | null;
  };
}

async function inspect(ref: string): Promise<Inspected> {
  const out = assertOk(await d.docker(['image', 'inspect', ref]), `inspect ${ref}`);
  return (JSON.parse(out.stdout) as Inspected[])[0] as Inspected;
}

const runOutput = (image: string, ...cmd: string[]) => runOutputOf(d, image, ...cmd);

describe('docker build', () => {
  test('every instruction sets the image config as Docker does', async () => {
    const dir = context('all', {
      Dockerfile: [
        '# escape=\\',
        'FROM busybox',
        'MAINTAINER someone@example.com',
        'ARG GREETING=hello',
        'ENV APP_HOME=/srv/app \\',
        '    MODE="two words"',
        'ENV LEGACY legacy value',
        'LABEL org.example.name="demo" version=1',
        'WORKDIR $APP_HOME',
        'COPY hello.txt ./',
        'ADD files/ sub/',
        'RUN echo "$GREETING from run" > greeting.txt && echo built-output',
        'EXPOSE 8080 53/udp',
        'VOLUME ["/data"]',
        'USER 1000:1000',
        'STOPSIGNAL SIGTERM',
        'HEALTHCHECK --interval=5s --timeout=2s --retries=4 CMD ["true"]',
        'SHELL ["/bin/sh", "-ec"]',
        'ONBUILD RUN echo triggered',
        'ENTRYPOINT ["/bin/sh", "-c"]',
        'CMD ["cat greeting.txt"]',
        '',
      ].join('\n'),
      'hello.txt': 'hello file\n',
      'files/a.txt': 'a\n',
      'files/deep/b.txt': 'b\n',
    });
    const result = assertOk(await build(['-t', 'all:1', dir]), 'docker build');
    assert.match(result.stdout, /Step 1\/19 : FROM busybox\n/);
    assert.match(result.stdout, / ---> Running in [0-9a-f]{12}\n/);
    assert.match(result.stdout, /built-output\n/);
    assert.match(result.stdout, / ---> Removed intermediate container [0-9a-f]{12}\n/);
    assert.match(result.stdout, /Successfully built [0-9a-f]{12}\n/);
    assert.match(result.stdout, /Successfully tagged all:1\n/);
    const image = await inspect('all:1');
    const c = image.Config;
    assert.equal(image.Author, 'someone@example.com');
    assert.ok(c.Env?.includes('APP_HOME=/srv/app'));
    assert.ok(c.Env?.includes('MODE=two words'));
    assert.ok(c.Env?.includes('LEGACY=legacy value'));
    assert.ok(!c.Env?.some((e) => e.startsWith('GREETING=')), 'ARG is not kept in the image');
    assert.deepEqual(c.Labels, { 'org.example.name': 'demo', version: '1' });
    assert.equal(c.WorkingDir, '/srv/app');
    assert.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
    assert.deepEqual(c.Volumes, { '/data': {} });
    assert.equal(c.User, '1000:1000');
    assert.equal(c.StopSignal, 'SIGTERM');
    assert.deepEqual(c.Healthcheck, { Test: ['CMD', 'true'], Interval: 5e9, Timeout: 2e9, Retries: 4 });
    assert.deepEqual(c.Shell, ['/bin/sh', '-ec']);
    assert.deepEqual(c.OnBuild, ['RUN echo triggered']);
    assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(c.Cmd, ['cat greeting.txt']);
    assert.equal(await runOutput('all:1'), 'hello from run\n');
    assert.equal(await runOutput('all:1', 'cat hello.txt sub/a.txt sub/deep/b.txt'), 'hello file\na\nb\n');
  });
});

describe('docker build: stages, context and arguments', () => {
  test('multi-stage with --target builds only what the target needs', async () => {
    const dir = context('stages', {
      Dockerfile: [
        'FROM busybox AS base',
        'RUN echo base > /base.txt',
        'FROM busybox AS unused',
        'RUN exit 7',
        'FROM base AS builder',
        'RUN echo built > /artifact.txt',
        'FROM busybox AS final',
        'COPY --from=builder /artifact.txt /out/',
        'COPY --from=0 /base.txt /out/base.txt',
        'CMD ["cat", "/out/artifact.txt", "/out/base.txt"]',
        '',
      ].join('\n'),
    });
    const result = assertOk(
      await build(['-t', 'stages:final', '--target', 'final', dir]),
      'build --target final',
    );
    assert.doesNotMatch(result.stdout, /exit 7/, 'the unused stage is skipped');
    assert.equal(await runOutput('stages:final'), 'built\nbase\n');
    assertOk(await build(['-t', 'stages:builder', '--target', 'builder', dir]), 'build --target builder');
    assert.equal(await runOutput('stages:builder', 'cat', '/artifact.txt', '/base.txt'), 'built\nbase\n');
    const missing = await build(['--target', 'nope', dir]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /failed to reach build target nope in Dockerfile/);
  });

  test('.dockerignore leaves files out, with ** and ! exceptions', async () => {
    const dir = context('ignore', {
      Dockerfile: 'FROM busybox\nCOPY . /ctx/\nCMD ["find", "/ctx", "-type", "f"]\n',
      '.dockerignore': '**/*.log\nsecret/\n!keep.log\nDockerfile\n',
      'a.txt': 'a',
      'debug.log': 'x',
      'keep.log': 'kept',
      'nested/deep/trace.log': 'x',
      'nested/b.txt': 'b',
      'secret/key': 'x',
    });
    assertOk(await build(['-t', 'ignore:1', dir]), 'build');
    const files = (await runOutput('ignore:1'))
      .split('\n')
      .filter((l) => l !== '')
      .sort();
    assert.deepEqual(files, ['/ctx/.dockerignore', '/ctx/a.txt', '/ctx/keep.log', '/ctx/nested/b.txt']);
  });

  test('build args: defaults, --build-arg, ARG before FROM, unused ones warned about', async () => {
    const dir = context('args', {
      Dockerfile: [
        'ARG BASE=busybox',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile text
        'FROM ${BASE}',
        'ARG BASE',
        'ARG WHO=world',
        'ARG EMPTY',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile text
        'ENV FROM_ARG=${WHO:-none} ALT=${EMPTY:-fallback} PLUS=${WHO:+set}',
        'RUN echo "hello $WHO from $BASE" > /msg',
        'CMD ["cat", "/msg"]',
        '',
      ].join('\n'),
    });
    const result = assertOk(
      await build(['-t', 'args:1', '--build-arg', 'WHO=berth', '--build-arg', 'UNUSED=1', dir]),
      'build',
    );
    assert.match(
      result.stdout + result.stderr,
      /\[Warning\] One or more build-args \[UNUSED\] were not consumed/,
    );
    assert.equal(await runOutput('args:1'), 'hello berth from busybox\n');
    const env = (await inspect('args:1')).Config.Env ?? [];
    assert.ok(env.includes('FROM_ARG=berth'));
    assert.ok(env.includes('ALT=fallback'));
    assert.ok(env.includes('PLUS=set'));
  });

  test('a tar context on stdin', async () => {
    const tar = await makeTar([
      { name: 'Dockerfile', content: 'FROM busybox\nCOPY in.txt /in.txt\nCMD ["cat", "/in.txt"]\n' },
      { name: 'in.txt', content: 'from stdin\n' },
    ]);
    assertOk(await build(['-t', 'stdin:1', '-'], { input: tar }), 'docker build - < ctx.tar');
    assert.equal(await runOutput('stdin:1'), 'from stdin\n');
  });

  test('heredocs, RUN --mount=type=cache and type=bind, COPY --link', async () => {
    const dir = context('extras', {
      Dockerfile: [
        '# syntax=docker/dockerfile:1',
        'FROM busybox',
        'RUN <<EOF',
        'echo one > /heredoc.txt',
        'echo two >> /heredoc.txt',
        'EOF',
        'COPY <<EOF /greeting.txt',
        'hi there',
        'EOF',
        'RUN --mount=type=cache,target=/cache echo cached > /cache/x && cat /cache/x > /from-cache.txt',
        'RUN --mount=type=bind,source=data.txt,target=/mnt/data.txt cat /mnt/data.txt > /from-bind.txt',
        'COPY --link data.txt /linked.txt',
        'CMD ["cat", "/heredoc.txt", "/greeting.txt", "/from-cache.txt", "/from-bind.txt", "/linked.txt"]',
        '',
      ].join('\n'),
      'data.txt': 'data\n',
    });
    assertOk(await build(['-t', 'extras:1', dir]), 'build');
    assert.equal(await runOutput('extras:1'), 'one\ntwo\nhi there\ncached\ndata\ndata\n');
  });
});

describe('docker build: RUN --mount=type=bind,rw from the context', () => {
  test("a RUN's writes to the bind are thrown away: later steps see the context as sent", async () => {
    const dir = context('rw-bind', {
      Dockerfile: [
        '# syntax=docker/dockerfile:1',
        'FROM busybox',
        'RUN --mount=type=bind,source=.,target=/src,rw echo changed > /src/data.txt && cat /src/data.txt > /seen.txt',
        'COPY data.txt /after.txt',
        'CMD ["cat", "/seen.txt", "/after.txt"]',
        '',
      ].join('\n'),
      'data.txt': 'as sent\n',
    });
    assertOk(await build(['-t', 'rwbind:1', dir]), 'build');
    assert.equal(await runOutput('rwbind:1'), 'changed\nas sent\n');
  });
});

describe('docker build: cache', () => {
  test('a second build is a full cache hit; one changed file rebuilds from its COPY on', async () => {
    const dir = context('cache', {
      Dockerfile: [
        'FROM busybox',
        'ENV A=1',
        'COPY one.txt /one.txt',
        'RUN cat /one.txt > /copy1',
        'COPY two.txt /two.txt',
        'RUN cat /two.txt > /copy2',
        '',
      ].join('\n'),
      'one.txt': 'one\n',
      'two.txt': 'two\n',
    });
    const first = assertOk(await build(['-t', 'cache:1', dir]), 'first build');
    assert.doesNotMatch(first.stdout, /Using cache/);
    const second = assertOk(await build(['-t', 'cache:2', dir]), 'second build');
    assert.equal(second.stdout.match(/ ---> Using cache\n/g)?.length, 5, second.stdout);
    assert.equal((await inspect('cache:1')).Id, (await inspect('cache:2')).Id);

    writeFileSync(join(dir, 'two.txt'), 'two changed\n');
    const third = assertOk(await build(['-t', 'cache:3', dir]), 'third build');
    const steps = third.stdout.split(/(?=Step \d)/).filter((s) => s.startsWith('Step'));
    assert.deepEqual(
      steps.map((s) => s.includes('Using cache')),
      [false, true, true, true, false, false],
      third.stdout,
    );
    assert.equal(await runOutput('cache:3', 'cat', '/copy2'), 'two changed\n');

    const noCache = assertOk(await build(['--no-cache', dir]), 'build --no-cache');
    assert.doesNotMatch(noCache.stdout, /Using cache/);
  });

  test('the cache survives a daemon restart and builder prune clears it', async () => {
    const dir = context('restart', {
      Dockerfile: 'FROM busybox\nRUN echo restart > /r\n',
    });
    assertOk(await build(['-t', 'restart:1', dir]), 'first build');
    await d.restart();
    const again = assertOk(await build(['-t', 'restart:2', dir]), 'build after restart');
    assert.match(again.stdout, / ---> Using cache\n/);
    const prune = assertOk(await d.docker(['builder', 'prune', '-f'], { env: CLASSIC }), 'builder prune');
    assert.match(prune.stdout, /Total reclaimed space/);
    const after = assertOk(await build(['-t', 'restart:3', dir]), 'build after prune');
    assert.doesNotMatch(after.stdout, /Using cache/);
  });
});

describe('docker build: bad input', () => {
  async function failing(name: string, files: Record<string, string>, code = 1): Promise<RunResult> {
    const result = await build(['-t', `bad-${name}:1`, context(`bad-${name}`, files)]);
    assert.equal(result.code, code, `${name}: ${result.stdout}${result.stderr}`);
    const images = assertOk(await d.docker(['images', '-q', `bad-${name}:1`]), 'images');
    assert.equal(images.stdout, '', 'nothing tagged');
    return result;
  }

  test('an unknown instruction', async () => {
    const r = await failing('unknown', { Dockerfile: 'FROM busybox\nFOO bar\n' });
    assert.match(r.stderr, /dockerfile parse error on line 2: unknown instruction: FOO/);
  });

  test('a Dockerfile that does not parse', async () => {
    const r = await failing('parse', { Dockerfile: 'FROM busybox\nENV\n' });
    assert.match(r.stderr, /line 2: ENV requires at least one argument/);
  });

  test('a missing file in COPY', async () => {
    const r = await failing('missing', { Dockerfile: 'FROM busybox\nCOPY nope.txt /\n' });
    assert.match(
      r.stderr,
      /file not found in build context or excluded by \.dockerignore: stat nope\.txt: file does not exist/,
    );
  });

  test('a failing RUN reports its output and exit code', async () => {
    // As with dockerd, errorDetail.code carries the exit code and the docker CLI exits with it.
    const r = await failing('run', { Dockerfile: 'FROM busybox\nRUN echo about to fail && exit 3\n' }, 3);
    assert.match(r.stdout, /about to fail\n/);
    assert.match(
      r.stderr,
      /The command '\/bin\/sh -c echo about to fail && exit 3' returned a non-zero code: 3/,
    );
  });

  test('a COPY with .. that would leave the context', async () => {
    const r = await failing('escape', { Dockerfile: 'FROM busybox\nCOPY ../../etc/passwd /x\n' });
    assert.match(r.stderr, /forbidden path outside the build context: \.\.\/\.\.\/etc\/passwd/);
  });

  test('a context tar with escaping entries', async () => {
    const tar = await makeTar([
      { name: 'Dockerfile', content: 'FROM busybox\n' },
      { name: '../escape.txt', content: 'x' },
    ]);
    const r = await build(['-t', 'bad-tar:1', '-'], { input: tar });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /build context/);
  });

  test('a missing FROM image', async () => {
    // Not here, so the builder pulls it: this test daemon may not leave the machine.
    const r = await failing('from', { Dockerfile: 'FROM no-such-image:1\nRUN true\n' });
    assert.match(r.stderr, /registry registry-1\.docker\.io is not allowed: this daemon may only contact/);
  });
});

describe('berth build', () => {
  test('builds a directory with -t, --build-arg, -q and --iidfile; builder prune clears the cache', async () => {
    const dir = context('berth', {
      Dockerfile: 'FROM busybox\nARG WHO\nRUN echo "hi $WHO" > /hi\nCMD ["cat", "/hi"]\n',
    });
    const shown = assertOk(
      await d.berth(['build', '-t', 'berth-built:1', '--build-arg', 'WHO=cli', dir]),
      'berth build',
    );
    assert.match(shown.stdout, /Step 3\/4 : RUN echo "hi \$WHO" > \/hi\n/);
    assert.match(shown.stdout, /Successfully tagged berth-built:1\n/);
    assert.equal(await runOutput('berth-built:1'), 'hi cli\n');
    const iidfile = join(scratch, 'iid');
    const quiet = assertOk(
      await d.berth(['build', '-q', '--iidfile', iidfile, '--build-arg', 'WHO=cli', dir]),
      'berth build -q',
    );
    const id = (await inspect('berth-built:1')).Id;
    assert.equal(quiet.stdout, `${id}\n`);
    const failed = await d.berth([
      'build',
      context('berth-bad', { Dockerfile: 'FROM busybox\nRUN exit 5\n' }),
    ]);
    assert.equal(failed.code, 5);
    assert.match(failed.stderr, /returned a non-zero code: 5/);
    assertOk(await d.berth(['builder', 'prune', '-f']), 'berth builder prune');
  });
});
