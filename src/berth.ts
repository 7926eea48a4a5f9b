import { runCli } from './cli/index.js';
import { registryMain } from './registry-server/index.js';

const argv = process.argv.slice(2);
// `berth registry serve|gc` is a process of its own (the OCI registry server), not an engine client.
const status =
  argv[0] === 'registry'
    ? await registryMain(argv, { stdout: process.stdout, stderr: process.stderr })
    : await runCli(argv, {
        stdout: process.stdout,
        stderr: process.stderr,
        stdin: process.stdin,
        env: process.env,
      });
// Exit explicitly: a container that ends while stdin is still open must not leave us waiting on it.
process.exit(status);
