import type { Readable } from 'node:stream';
import type { ContainerCreateRequest } from '../../api/index.js';
import type { ImageService } from '../image/index.js';
import type { RegistryCredentials, RegistryService } from '../registry/index.js';

/** The container calls a build makes: RUN runs a container, COPY writes into one. */
export interface BuildContainers {
  create(request: ContainerCreateRequest): Promise<{ id: string }>;
  start(id: string): Promise<void>;
  /** Output from now until the container's next exit. */
  attachOutput(id: string, signal: AbortSignal): AsyncIterable<{ content: Buffer }>;
  /** The exit code once the container stopped. */
  wait(id: string): Promise<number>;
  remove(id: string): Promise<void>;
  /** Whether the path exists in the container, and is a directory. */
  statPath(id: string, path: string): Promise<{ isDirectory: boolean } | undefined>;
  /** Extracts a tar (owners kept) into the existing directory `path` of the container. */
  putArchive(id: string, path: string, tar: Readable): Promise<void>;
  /** A tar of one path of the container, entries named from its base name. */
  getArchive(id: string, path: string): Promise<Readable>;
  /** A container (any, running or not) made from the image, which keeps the image from removal. */
  userOfImage(imageId: string): string | undefined;
}

export type BuildImages = Pick<
  ImageService,
  'resolve' | 'commit' | 'createFromConfig' | 'tag' | 'list' | 'remove'
>;

export type BuildRegistry = Pick<RegistryService, 'pull'>;

export interface BuildRequest {
  /** The context: a tar, maybe gzip. */
  context: Readable;
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  /** `name[:tag]` to tag the result with. */
  tags: string[];
  buildArgs: Record<string, string | null>;
  noCache: boolean;
  target: string;
  labels: Record<string, string>;
  /** Remove intermediate containers of successful steps (rm), and of failed ones too (forcerm). */
  remove: boolean;
  forceRemove: boolean;
  /** RUN steps' network: `default`/`bridge`, `host`, `none` or a network name. */
  networkMode: string;
  extraHosts: string[];
  shmSizeBytes?: number;
  memoryBytes?: number;
  cpusetCpus?: string;
  /** The client's logins by registry host (`X-Registry-Config`): what a FROM pull presents. */
  registryCredentials?: ReadonlyMap<string, RegistryCredentials>;
  signal: AbortSignal;
}

/** Where a build reports: Docker's `stream` lines and the `aux` message with the image id. */
export interface BuildOutput {
  stream(text: string): void;
  aux(value: object): void;
}

/** A failed RUN: Docker reports its exit code in errorDetail.code. */
export class StepFailedError extends Error {
  override name = 'StepFailedError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}
