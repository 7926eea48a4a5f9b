export { openImageStore } from './image-store.js';
export {
  familiarString,
  type ImageReference,
  parseReference,
  parseTaggedName,
} from './reference.js';
export type * from './types.js';
