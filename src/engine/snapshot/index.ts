export {
  type ActiveSnapshot,
  diskUsage,
  type LayerSnapshot,
  OverlaySnapshotter,
  type PendingLayer,
} from './overlay.js';
