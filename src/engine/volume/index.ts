export type { MountObject } from './parse.js';
export { type MountPlanInput, MountPlanner, type MountPlannerOptions } from './planner.js';
export {
  type VolumeCreateOptions,
  type VolumePruneOptions,
  VolumeService,
  type VolumeServiceOptions,
} from './service.js';
export { ANONYMOUS_LABEL, type MountRecord, type Volume, type VolumeRecord } from './types.js';
