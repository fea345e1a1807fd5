import type { DateTime, Effect, Option, Scope, Stream } from "effect"
import { Context } from "effect"
import type { InfrastructureError } from "../errors.ts"

export interface ObjectInfo {
  readonly key: string
  readonly size: number
  readonly lastModified: DateTime.Utc
}

/** How a streamed put may treat its body. */
export interface PutOptions {
  /**
   * The body's chunks are the put's alone (an HTTP request body nothing else reads): the store may
   * free each chunk's memory once its bytes are stored, instead of leaving that to the collector's
   * next full pass. The producer must not read a chunk after handing it over.
   */
  readonly releaseChunks?: boolean | undefined
}

/**
 * Object storage under one root (a directory or an S3 bucket + prefix). Keys are relative,
 * `/`-separated and never start with `/`.
 */
export interface ObjectStore {
  /** Absolute URI of a key (`file:///…` or `s3://bucket/…`): what Iceberg metadata records. */
  uri(key: string): string
  put<E>(
    key: string,
    body: Stream.Stream<Uint8Array, E>,
    options?: PutOptions
  ): Effect.Effect<{ readonly size: number }, E | InfrastructureError>
  putBytes(key: string, bytes: Uint8Array): Effect.Effect<void, InfrastructureError>
  /** Copies a local file into the store (multipart on S3; a rename is not allowed: the file stays). */
  putFile(key: string, localPath: string): Effect.Effect<{ readonly size: number }, InfrastructureError>
  get(key: string): Stream.Stream<Uint8Array, InfrastructureError>
  getBytes(key: string): Effect.Effect<Uint8Array, InfrastructureError>
  getRange(key: string, start: number, endExclusive: number): Effect.Effect<Uint8Array, InfrastructureError>
  stat(key: string): Effect.Effect<Option.Option<ObjectInfo>, InfrastructureError>
  remove(key: string): Effect.Effect<void, InfrastructureError>
  /** Removes every object under a prefix. */
  removePrefix(prefix: string): Effect.Effect<void, InfrastructureError>
  list(prefix: string): Effect.Effect<ReadonlyArray<ObjectInfo>, InfrastructureError>
  /**
   * A local file with the object's bytes for code that needs random access (parsers in worker
   * threads): the object itself on a local disk, else a temporary download removed with the scope.
   */
  localFile(key: string): Effect.Effect<string, InfrastructureError, Scope.Scope>
}

/** Where uploaded files live (`INGEST_STORAGE_URL`). */
export class FileStorage extends Context.Service<FileStorage, ObjectStore>()("ingest/FileStorage") {}
