export { CommandError, type RunOptions, type RunResult, run } from './exec.js';
