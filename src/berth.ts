import { runCli } from './cli/index.js';

const status = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
// Exit explicitly: a container that ends while stdin is still open must not leave us waiting on it.
process.exit(status);
