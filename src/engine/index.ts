export type { ContainerRecord, ContainerStateRecord } from './container-store.js';
export { ZERO_TIME } from './container-store.js';
export type { ContainerService, LogsOptions, WaitCondition } from './containers.js';
export { type Engine, type EngineOptions, openEngine } from './engine.js';
export type { EngineEvent, EventBus } from './events.js';
export type { ImageRecord, ImageService } from './image/index.js';
export { createLogger, type Logger } from './logger.js';
export type { LogLine } from './runtime/index.js';
