export { hostArchitecture } from './archive-load.js';
export { openImageStore } from './image-store.js';
export { type ApplyOptions, applyLayerTar } from './layer-apply.js';
export {
  familiarName,
  familiarString,
  type ImageReference,
  parseReference,
  parseTaggedName,
  withDefaultTag,
} from './reference.js';
export { MaybeGunzip } from './tar-io.js';
export { type Header as TarHeader, type PackOptions, packTree } from './tar-pack.js';
export type * from './types.js';
