import assert from 'node:assert/strict';
import { test } from 'node:test';
import { convertDockerProfile, defaultSeccompProfile } from './seccomp.js';

test('the default profile gives back calls whose capability the container holds', () => {
  const plain = defaultSeccompProfile(['CAP_CHOWN']);
  const admin = defaultSeccompProfile(['CAP_CHOWN', 'CAP_SYS_ADMIN']);
  const denied = (p: ReturnType<typeof defaultSeccompProfile>) => p.syscalls.flatMap((r) => r.names);
  assert.ok(denied(plain).includes('mount'));
  assert.ok(denied(plain).includes('clone3'));
  assert.ok(!denied(admin).includes('mount'));
  assert.ok(!denied(admin).includes('clone3'));
  assert.ok(denied(admin).includes('kexec_load'), 'never allowed');
});

test("a profile in Docker's format keeps the rules that apply to this container", () => {
  const profile = JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86'] }],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['mount'], action: 'SCMP_ACT_ALLOW', includes: { caps: ['CAP_SYS_ADMIN'] } },
      { names: ['ptrace'], action: 'SCMP_ACT_ALLOW', excludes: { caps: ['CAP_SYS_PTRACE'] } },
    ],
  });
  const converted = convertDockerProfile(profile, ['CAP_SYS_PTRACE']);
  assert.equal(converted.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(converted.defaultErrnoRet, 1);
  assert.deepEqual(
    converted.syscalls.map((r) => r.names),
    [['read', 'write']],
  );
  if (process.arch === 'x64')
    assert.deepEqual(converted.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86']);
  assert.throws(() => convertDockerProfile('{not json', []), /Decoding seccomp profile failed/);
  assert.throws(() => convertDockerProfile('{"syscalls": 3}', []), /Decoding seccomp profile failed/);
});
