/**
 * Seccomp for containers. Our default profile is a deny list: everything is allowed
 * except the calls that reach past the container (kernel modules, keyrings, clocks,
 * mounts, reboot ...), each of which comes back when the container holds the
 * capability that makes it legitimate. A profile given with
 * `--security-opt seccomp=FILE` is in Docker's format and is converted to OCI's.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../../api/index.js';

export interface OciSeccomp {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: OciSyscallRule[];
}

interface OciSyscallRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
}

const EPERM = 1;
const ENOSYS = 38;

const ARCHITECTURES: Record<string, string[]> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
};

function hostArchitectures(): string[] {
  return ARCHITECTURES[process.arch] ?? [];
}

/** Denied unless the container has the capability named (undefined: denied always). */
const DENIED_CALLS: [string[], string | undefined][] = [
  [['add_key', 'request_key', 'keyctl'], undefined],
  [['kexec_load', 'kexec_file_load', 'create_module', 'get_kernel_syms', 'query_module'], undefined],
  [['nfsservctl', 'uselib', 'ustat', 'sysfs', '_sysctl', 'vm86', 'vm86old'], undefined],
  [['swapon', 'swapoff', 'lookup_dcookie'], undefined],
  [['init_module', 'finit_module', 'delete_module'], 'CAP_SYS_MODULE'],
  [['reboot'], 'CAP_SYS_BOOT'],
  [['acct'], 'CAP_SYS_PACCT'],
  [['iopl', 'ioperm'], 'CAP_SYS_RAWIO'],
  [
    ['settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64'],
    'CAP_SYS_TIME',
  ],
  [['vhangup'], 'CAP_SYS_TTY_CONFIG'],
  [['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node', 'move_pages'], 'CAP_SYS_NICE'],
  [['open_by_handle_at'], 'CAP_DAC_READ_SEARCH'],
  [['kcmp', 'process_vm_readv', 'process_vm_writev', 'userfaultfd'], 'CAP_SYS_PTRACE'],
  [['syslog'], 'CAP_SYSLOG'],
  [
    [
      'mount',
      'mount_setattr',
      'umount',
      'umount2',
      'pivot_root',
      'setns',
      'unshare',
      'fsopen',
      'fsconfig',
      'fsmount',
      'fspick',
      'move_mount',
      'open_tree',
      'quotactl',
      'quotactl_fd',
      'name_to_handle_at',
      'fanotify_init',
      'bpf',
      'perf_event_open',
    ],
    'CAP_SYS_ADMIN',
  ],
];

/** berth's default profile for a container holding `capabilities` (OCI names, `CAP_…`). */
export function defaultSeccompProfile(capabilities: readonly string[]): OciSeccomp {
  const held = new Set(capabilities);
  const denied = DENIED_CALLS.filter(([, cap]) => cap === undefined || !held.has(cap)).flatMap(
    ([names]) => names,
  );
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: hostArchitectures(),
    syscalls: [
      { names: denied, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      // clone3 cannot be filtered on its flags (they sit in memory): ENOSYS makes libc fall back to clone.
      ...(held.has('CAP_SYS_ADMIN')
        ? []
        : [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS }]),
    ],
  };
}

const conditionSchema = z.object({
  caps: z.array(z.string()).nullish(),
  arches: z.array(z.string()).nullish(),
  minKernel: z.string().nullish(),
});

const dockerProfileSchema = z.object({
  defaultAction: z.string(),
  defaultErrnoRet: z.number().int().nullish(),
  architectures: z.array(z.string()).nullish(),
  archMap: z
    .array(z.object({ architecture: z.string(), subArchitectures: z.array(z.string()).nullish() }))
    .nullish(),
  syscalls: z
    .array(
      z.object({
        name: z.string().nullish(),
        names: z.array(z.string()).nullish(),
        action: z.string(),
        errnoRet: z.number().int().nullish(),
        args: z
          .array(
            z.object({
              index: z.number().int(),
              value: z.number(),
              valueTwo: z.number().nullish(),
              op: z.string(),
            }),
          )
          .nullish(),
        includes: conditionSchema.nullish(),
        excludes: conditionSchema.nullish(),
      }),
    )
    .nullish(),
});

const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/**
 * A profile in Docker's format (what `docker run --security-opt seccomp=FILE` sends)
 * as the OCI spec wants it, keeping the rules whose includes/excludes match this
 * container's capabilities and this machine's architecture.
 */
export function convertDockerProfile(json: string, capabilities: readonly string[]): OciSeccomp {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new InvalidArgumentError(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  const parsed = dockerProfileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(
      `Decoding seccomp profile failed: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const profile = parsed.data;
  const held = new Set(capabilities);
  const arch = GO_ARCH[process.arch] ?? process.arch;
  const ours = hostArchitectures();
  const matches = (cond: z.infer<typeof conditionSchema> | null | undefined, all: boolean) => {
    if (!cond) return all;
    const capsOk = cond.caps?.length ? cond.caps.every((c) => held.has(c)) : all;
    const archOk = cond.arches?.length ? cond.arches.includes(arch) : all;
    return all
      ? capsOk && archOk
      : (cond.caps?.some((c) => held.has(c)) ?? false) || (cond.arches?.includes(arch) ?? false);
  };
  const architectures = profile.archMap?.length
    ? profile.archMap
        .filter((m) => ours.includes(m.architecture))
        .flatMap((m) => [m.architecture, ...(m.subArchitectures ?? [])])
    : (profile.architectures ?? []);
  const syscalls: OciSyscallRule[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (!matches(rule.includes, true) || matches(rule.excludes, false)) continue;
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    if (names.length === 0) continue;
    syscalls.push({
      names,
      action: rule.action,
      ...(rule.errnoRet != null ? { errnoRet: rule.errnoRet } : {}),
      ...(rule.args?.length
        ? {
            args: rule.args.map((a) => ({
              index: a.index,
              value: a.value,
              ...(a.valueTwo != null ? { valueTwo: a.valueTwo } : {}),
              op: a.op,
            })),
          }
        : {}),
    });
  }
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet != null ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: [...new Set(architectures)],
    syscalls,
  };
}
