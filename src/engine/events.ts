import { EventEmitter } from 'node:events';
import type { EventMessage } from '../api/index.js';

export interface EngineEvent {
  type: EventMessage['Type'];
  action: string;
  id: string;
  attributes: Record<string, string>;
}

/** Where subsystems report what happened; the event bus stamps and fans them out. */
export type EventSink = (event: EngineEvent) => void;

/** Keeps a bounded history (for `since`) and streams new events to subscribers. */
export class EventBus {
  private readonly history: EventMessage[] = [];
  private readonly emitter = new EventEmitter();

  constructor(private readonly historyLimit = 1024) {
    this.emitter.setMaxListeners(0);
  }

  readonly emit: EventSink = (event) => {
    const nowNs = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
    const message: EventMessage = {
      Type: event.type,
      Action: event.action,
      Actor: { ID: event.id, Attributes: event.attributes },
      scope: 'local',
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    if (event.type === 'container' || event.type === 'image') {
      message.status = event.action;
      message.id = event.id;
      const image = event.attributes.image;
      if (image !== undefined) message.from = image;
    }
    this.history.push(message);
    if (this.history.length > this.historyLimit) this.history.shift();
    this.emitter.emit('event', message);
  };

  /** Past events, oldest first. */
  past(): readonly EventMessage[] {
    return this.history;
  }

  subscribe(listener: (e: EventMessage) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }
}
