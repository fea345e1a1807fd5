import { Clock, Context, DateTime, Effect, Layer, Metric, Option, Ref, Stream } from "effect"
import { canAppend, describeType } from "../append.ts"
import type { Column } from "../columns.ts"
import { isIdentifier, sanitizeIdentifier } from "../columns.ts"
import { Conflict, Invalid, NotFound, outageReason, UnreadableFile } from "../errors.ts"
import type { DialectOverride, FileImport } from "../file-import.ts"
import { FileId as FileIdSchema } from "../ids.ts"
import { importBytesTotal, importDuration, importRowsTotal, importsTotal } from "../metrics.ts"
import type { FileId, TenantId } from "../ids.ts"
import { FormatReader } from "../ports/format-reader.ts"
import type { Job } from "../ports/job-queue.ts"
import { JobQueue } from "../ports/job-queue.ts"
import { FileImportRepo } from "../ports/repositories.ts"
import { FileStorage } from "../ports/storage.ts"
import type { TableIdent } from "../ports/table-writer.ts"
import { TableWriter } from "../ports/table-writer.ts"

export interface SchemaUpdate {
  readonly targetTableName: string
  readonly targetSchema?: string | null | undefined
  readonly columnMappings?: Readonly<Record<string, string | null>> | null | undefined
  readonly dropUnmapped?: boolean | undefined
  /** How to read the file instead of what was detected: the file is profiled again with it. */
  readonly dialect?: DialectOverride | null | undefined
}

export interface UploadOptions {
  readonly maxBytes: number
  /** The body's chunks are the upload's alone (an HTTP request body): storage may free each once stored (PutOptions). */
  readonly releaseChunks?: boolean | undefined
  /** Spreadsheets: which sheet to profile and import (default: the first). */
  readonly sheet?: string | undefined
}

/** Jobs interrupted this many times (the process died each time) are failed instead of resumed. */
const maxImportAttempts = 3

/** The tenant's root Iceberg namespace: `t_<uuid without dashes>`. */
export const tenantNamespace = (tenantId: TenantId): string => `t_${tenantId.replace(/-/g, "").toLowerCase()}`

const baseName = (fileName: string) => {
  const name = fileName.replace(/^.*[\\/]/, "")
  const dot = name.lastIndexOf(".")
  return dot > 0 ? name.slice(0, dot) : name
}

/** A name safe to use as the last segment of a storage key. */
const safeFileName = (fileName: string) => {
  const name = fileName.replace(/^.*[\\/]/, "").replace(/[\u0000-\u001f]/g, "").trim()
  return name === "" || name === "." || name === ".." ? "upload" : name.slice(0, 200)
}

/** Target columns after mappings: which profile column feeds which target name (in file order). */
export const targetColumns = (file: FileImport): Array<{ readonly source: string; readonly column: Column }> => {
  const mappings = file.columnMappings ?? {}
  const result: Array<{ source: string; column: Column }> = []
  for (const column of file.profile.columns) {
    const mapped = Object.prototype.hasOwnProperty.call(mappings, column.name) ? mappings[column.name] : undefined
    if ((mapped === undefined || mapped === null) && file.dropUnmapped) continue
    const name = typeof mapped === "string" ? mapped : column.name
    const { sampleValues: _samples, ...rest } = column
    result.push({ source: column.name, column: { ...rest, name } })
  }
  return result
}

export class FileImportService extends Context.Service<FileImportService>()("ingest/FileImportService", {
  make: Effect.gen(function*() {
    const files = yield* FileImportRepo
    const storage = yield* FileStorage
    const reader = yield* FormatReader
    const writer = yield* TableWriter
    const queue = yield* JobQueue

    const get = Effect.fn("FileImportService.get")(function*(tenantId: TenantId, id: FileId) {
      const found = yield* files.find(tenantId, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "File", id })
      return found.value
    })

    /** The file's status (and all but its profile), read without the profile: what a poll needs. */
    const status = Effect.fn("FileImportService.status")(function*(tenantId: TenantId, id: FileId) {
      const found = yield* files.findSummary(tenantId, id)
      if (Option.isNone(found)) return yield* new NotFound({ entity: "File", id })
      return found.value
    })

    /**
     * Streams the upload into storage (bounded by maxBytes), detects the format, profiles the
     * whole file, and only then records it. Anything that fails leaves nothing behind.
     */
    const upload = Effect.fn("FileImportService.upload")(
      function*<E>(tenantId: TenantId, fileName: string, body: Stream.Stream<Uint8Array, E>, options: UploadOptions) {
        const id = FileIdSchema.make(crypto.randomUUID())
        const name = safeFileName(fileName)
        const key = `${tenantId}/uploads/${id}/${name}`
        const counted = yield* Ref.make(0)
        const bounded = body.pipe(
          Stream.mapEffect((chunk) =>
            Ref.updateAndGet(counted, (n) => n + chunk.length).pipe(
              Effect.flatMap((total) =>
                total > options.maxBytes
                  ? Effect.fail(new UnreadableFile({ kind: "too-large", reason: `File is larger than the upload limit of ${options.maxBytes} bytes` }))
                  : Effect.succeed(chunk)
              )
            )
          )
        )
        const work = Effect.gen(function*() {
          yield* reader.prepare
          const { size } = yield* storage.put(key, bounded, { releaseChunks: options.releaseChunks }).pipe(
            Effect.withSpan("import.upload")
          )
          if (size === 0) return yield* new UnreadableFile({ kind: "unsupported", reason: "The uploaded file is empty" })
          const head = yield* storage.getRange(key, 0, Math.min(size, 4096))
          const format = reader.detect(head, name)
          if (Option.isNone(format)) {
            return yield* new UnreadableFile({
              kind: "unsupported",
              reason: `Cannot detect the format of "${name}": supported formats are csv, xlsx, xls, parquet, json, jsonl, avro`
            })
          }
          const profile = yield* Effect.scoped(
            storage.localFile(key).pipe(Effect.flatMap((local) => reader.profile(local, format.value, { sheet: options.sheet })))
          ).pipe(Effect.withSpan("import.profile", { attributes: { "file.format": format.value, "file.size": size } }))
          const now = yield* DateTime.now
          const file: FileImport = {
            id,
            tenantId,
            fileName: name,
            fileSize: size,
            fileFormat: format.value,
            storagePath: key,
            status: "UPLOADED",
            profile,
            targetTableName: null,
            targetSchema: null,
            columnMappings: null,
            dropUnmapped: false,
            recordsImported: null,
            bytesRead: null,
            error: null,
            createdAt: now,
            updatedAt: now,
            completedAt: null
          }
          yield* files.insert(file)
          return file
        })
        return yield* work.pipe(Effect.onError(() => storage.remove(key).pipe(Effect.ignore)))
      }
    )

    const updateSchema = Effect.fn("FileImportService.updateSchema")(
      function*(tenantId: TenantId, id: FileId, update: SchemaUpdate) {
        const file = yield* get(tenantId, id)
        if (file.status === "IMPORTING" || file.status === "COMPLETED") {
          return yield* new Conflict({ reason: `File ${id} is ${file.status}; its schema can no longer change` })
        }
        const targetTableName = sanitizeIdentifier(update.targetTableName, "")
        if (targetTableName === "" || !isIdentifier(targetTableName)) {
          return yield* new Invalid({ field: "targetTableName", reason: `targetTableName "${update.targetTableName}" is not a valid table name` })
        }
        const targetSchemaLabel = update.targetSchema ?? "default"
        const targetSchema = sanitizeIdentifier(targetSchemaLabel, "")
        if (targetSchema === "") {
          return yield* new Invalid({ field: "targetSchema", reason: `targetSchema "${targetSchemaLabel}" is not a valid namespace name` })
        }
        // A dialect: the file is profiled again, read as the user says (the rest detected again).
        const dialect = update.dialect ?? undefined
        const profile = dialect === undefined ? file.profile : yield* Effect.scoped(
          storage.localFile(file.storagePath).pipe(
            Effect.flatMap((local) =>
              reader.profile(local, file.fileFormat, { sheet: file.profile.dialect?.sheet ?? undefined, dialect })
            )
          )
        ).pipe(
          Effect.catchTag("UnreadableFile", (error) =>
            Effect.fail(new Invalid({ field: "dialect", reason: `dialect: the file cannot be read this way: ${error.reason}` })))
        )
        // Mapping keys may name a column by its sanitised name or by its label in the file.
        const byLabel = new Map<string, string>()
        profile.columns.forEach((c, i) => {
          byLabel.set(c.name, c.name)
          const label = profile.sourceLabels[i]
          if (label !== undefined && !byLabel.has(label)) byLabel.set(label, c.name)
        })
        const mappings: Record<string, string | null> = Object.create(null)
        for (const [from, to] of Object.entries(update.columnMappings ?? {})) {
          const sourceName = byLabel.get(from)
          if (sourceName === undefined) {
            return yield* new Invalid({
              field: "columnMappings",
              reason: `columnMappings: unknown column "${from}" (the file has: ${profile.columns.map((c) => c.name).join(", ")})`
            })
          }
          if (to === null) {
            mappings[sourceName] = null
            continue
          }
          const target = sanitizeIdentifier(to, "")
          if (target === "") {
            return yield* new Invalid({ field: "columnMappings", reason: `columnMappings: "${to}" is not a valid column name` })
          }
          mappings[sourceName] = target
        }
        const next: FileImport = {
          ...file,
          profile,
          status: "CONFIGURED",
          targetTableName,
          targetSchema,
          columnMappings: { ...mappings },
          dropUnmapped: update.dropUnmapped ?? false,
          updatedAt: yield* DateTime.now
        }
        const columns = targetColumns(next)
        if (columns.length === 0) {
          return yield* new Invalid({ field: "columnMappings", reason: "The mappings leave no column to import" })
        }
        const seen = new Set<string>()
        for (const { column } of columns) {
          if (seen.has(column.name)) {
            return yield* new Invalid({ field: "columnMappings", reason: `columnMappings: duplicate target column "${column.name}"` })
          }
          seen.add(column.name)
        }
        yield* files.update(next)
        return next
      }
    )

    const tableOf = (file: FileImport): TableIdent => ({
      namespace: [tenantNamespace(file.tenantId), file.targetSchema ?? "default"],
      name: file.targetTableName ?? sanitizeIdentifier(baseName(file.fileName), "import")
    })

    const execute = Effect.fn("FileImportService.execute")(function*(tenantId: TenantId, id: FileId) {
      const file = yield* get(tenantId, id)
      if (file.status === "IMPORTING" || file.status === "COMPLETED") {
        return yield* new Conflict({ reason: `File ${id} is ${file.status}; it cannot be imported again` })
      }
      const table = tableOf(file)
      const next: FileImport = {
        ...file,
        status: "IMPORTING",
        targetTableName: table.name,
        targetSchema: file.targetSchema ?? "default",
        recordsImported: 0,
        bytesRead: 0,
        error: null,
        completedAt: null,
        updatedAt: yield* DateTime.now
      }
      // Refuse at once what the table cannot take, rather than failing in the background; and
      // while the catalog (or the warehouse) is unreachable, start nothing that would fail.
      const existing = yield* writer.describe(table).pipe(
        Effect.catchIf((error) => error.unreachable === undefined, () => Effect.succeed(Option.none()))
      )
      if (Option.isSome(existing)) {
        const byName = new Map(existing.value.map((c) => [c.name, c]))
        for (const { column } of targetColumns(next)) {
          const current = byName.get(column.name)
          if (current !== undefined && !canAppend(current, column)) {
            return yield* new Invalid({
              field: "columnMappings",
              reason: `Column "${column.name}" is ${describeType(current)} in table ${table.namespace.join(".")}.${table.name} but ${describeType(column)} in the file`
            })
          }
        }
      }
      yield* files.update(next)
      yield* queue.enqueue("import", tenantId, id)
      return next
    })

    const fail = (file: FileImport, reason: string) =>
      DateTime.now.pipe(
        Effect.flatMap((now) => files.update({ ...file, status: "FAILED", error: reason, updatedAt: now, completedAt: now }))
      )

    /** Counts an import that ended, with the time its job ran. */
    const countEnded = (outcome: "completed" | "failed", startedMillis: number, rows = 0, bytes = 0) =>
      Effect.gen(function*() {
        const seconds = ((yield* Clock.currentTimeMillis) - startedMillis) / 1000
        yield* Metric.update(Metric.withAttributes(importsTotal, { outcome }), 1)
        yield* Metric.update(Metric.withAttributes(importDuration, { outcome }), seconds)
        if (rows > 0) yield* Metric.update(importRowsTotal, rows)
        if (bytes > 0) yield* Metric.update(importBytesTotal, bytes)
      })

    /** Runs an import job in the background: read → coerce → write → one atomic commit. */
    const runImport = Effect.fn("FileImportService.runImport")(function*(job: Job) {
      const found = yield* files.find(job.tenantId, FileIdSchema.make(job.refId))
      if (Option.isNone(found) || found.value.status !== "IMPORTING") return
      const file = found.value
      const startedMillis = yield* Clock.currentTimeMillis
      if (job.attempt > maxImportAttempts) {
        yield* countEnded("failed", startedMillis)
        return yield* fail(file, `The import was interrupted ${job.attempt - 1} times (the service stopped while importing); run it again`)
      }
      // Columns the table already has keep the table's type: the reader coerces into it.
      const existing = yield* writer.describe(tableOf(file)).pipe(Effect.orElseSucceed(() => Option.none()))
      const tableTypes = new Map(Option.getOrElse(existing, () => []).map((c) => [c.name, c]))
      const mapping = targetColumns(file).map(({ source, column }) => {
        const current = tableTypes.get(column.name)
        return { source, column: current === undefined ? column : { ...current, nullable: true } }
      })
      const sourceColumns: Array<Column> = mapping.map(({ source, column }) => ({ ...column, name: source }))
      const lastReport = yield* Ref.make(0)
      const result = yield* Effect.scoped(
        Effect.gen(function*() {
          const local = yield* storage.localFile(file.storagePath)
          return yield* writer.write({
            table: tableOf(file),
            columns: mapping.map((m) => m.column),
            mode: "append",
            commitId: `import:${file.id}`,
            batches: reader.read(local, file.fileFormat, file.profile, sourceColumns),
            onProgress: ({ records, bytes }) =>
              Effect.gen(function*() {
                const now = Date.now()
                if (now - (yield* Ref.get(lastReport)) < 500) return
                yield* Ref.set(lastReport, now)
                yield* files.update({ ...file, recordsImported: records, bytesRead: bytes, updatedAt: yield* DateTime.now })
              })
          })
        })
      ).pipe(Effect.result)
      if (result._tag === "Failure") {
        yield* countEnded("failed", startedMillis)
        const failure = result.failure
        if (failure._tag === "InfrastructureError" && failure.unreachable !== undefined) {
          // The file's error names the dependency only; the details are for the log.
          yield* Effect.logWarning(`Import of file ${file.id} stopped: ${failure.reason}`)
        }
        return yield* fail(
          file,
          failure._tag === "InfrastructureError" && failure.unreachable !== undefined
            ? outageReason(failure.unreachable, "import")
            : failure.message
        )
      }
      yield* countEnded("completed", startedMillis, result.success.recordsWritten, file.fileSize)
      const now = yield* DateTime.now
      yield* files.update({
        ...file,
        status: "COMPLETED",
        recordsImported: result.success.recordsWritten,
        bytesRead: file.fileSize,
        error: null,
        updatedAt: now,
        completedAt: now
      })
    })

    return {
      get,
      status,
      list: files.list,
      page: files.page,
      upload,
      updateSchema,
      execute,
      runImport,
      /** The table an import writes to (for status and read-back). */
      tableOf
    }
  })
}) {
  static readonly layer = Layer.effect(this, this.make)
}
