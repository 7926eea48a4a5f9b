export { type CliIo, runCli } from './main.js';
