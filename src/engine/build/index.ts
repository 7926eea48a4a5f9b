export { Builder, type BuilderDeps } from './builder.js';
export { BuildCache } from './cache.js';
export { parseDockerfile } from './dockerfile.js';
export {
  type BuildContainers,
  type BuildImages,
  type BuildOutput,
  type BuildRegistry,
  type BuildRequest,
  StepFailedError,
} from './types.js';
