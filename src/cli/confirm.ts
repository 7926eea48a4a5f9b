import type { CliContext } from './context.js';

/** Docker's `[y/N]` question before a destructive command; anything but y/yes is no. */
export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.out(`${question} [y/N] `);
  const stdin = ctx.io.stdin;
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer | string) => {
      text += chunk.toString();
      if (text.includes('\n')) done();
    };
    const done = () => {
      stdin.off('data', onData);
      stdin.off('end', done);
      stdin.pause();
      resolve(text.split('\n')[0] ?? '');
    };
    stdin.on('data', onData);
    stdin.on('end', done);
    stdin.resume();
  });
  return /^y(es)?$/i.test(answer.trim());
}
