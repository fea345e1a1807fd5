import { DateTime } from "effect"
import type { ColumnWithSamples, ConnectionView, DiscoveredStream, FileImport, FileImportSummary, SourceSummary, SyncView } from "@ingest/domain"
import { targetColumns } from "@ingest/domain"

// Domain → wire. connectionConfig is deliberately absent from every view.

const iso = (dt: DateTime.Utc) => DateTime.formatIso(dt)
const isoOrNull = (dt: DateTime.Utc | null) => (dt === null ? null : iso(dt))

export const sourceView = (s: SourceSummary) => ({
  id: s.id,
  name: s.name,
  description: s.description,
  connectorType: s.connectorType,
  status: s.status,
  lastTestedAt: isoOrNull(s.lastTestedAt),
  createdAt: iso(s.createdAt),
  lastError: s.lastError
})

const columnView = (c: ColumnWithSamples) => ({
  name: c.name,
  type: c.type,
  nullable: c.nullable,
  sampleValues: c.sampleValues,
  ...(c.precision !== undefined ? { precision: c.precision } : {}),
  ...(c.scale !== undefined ? { scale: c.scale } : {}),
  ...(c.bitWidth !== undefined ? { bitWidth: c.bitWidth } : {})
})

export const discoverView = (streams: ReadonlyArray<DiscoveredStream>) => ({
  streams: streams.map((s) => ({
    name: s.name,
    columns: s.columns.map(columnView),
    supportedSyncModes: s.supportedSyncModes,
    ...(s.primaryKey !== undefined ? { primaryKey: s.primaryKey } : {}),
    ...(s.defaultCursorField !== undefined ? { defaultCursorField: s.defaultCursorField } : {})
  }))
})

export const connectionView = ({ connection: c, sourceName }: ConnectionView) => ({
  id: c.id,
  sourceId: c.sourceId,
  sourceName,
  name: c.name,
  destinationType: c.destinationType,
  syncSchedule: c.syncSchedule,
  syncMode: c.syncMode,
  status: c.status,
  lastSyncAt: isoOrNull(c.lastSyncAt),
  createdAt: iso(c.createdAt),
  selectedStreams: c.selectedStreams,
  nextRunAt: isoOrNull(c.nextRunAt)
})

export const syncView = ({ connectionName, sync: s }: SyncView) => ({
  id: s.id,
  connectionId: s.connectionId,
  connectionName,
  status: s.status,
  recordsSynced: s.recordsSynced,
  bytesSynced: s.bytesSynced,
  startedAt: iso(s.startedAt),
  completedAt: isoOrNull(s.completedAt),
  durationMs: s.durationMs,
  error: s.error
})

export const uploadView = (f: FileImport) => ({
  id: f.id,
  tenantId: f.tenantId,
  fileName: f.fileName,
  fileSize: f.fileSize,
  fileFormat: f.fileFormat,
  storagePath: `/${f.storagePath}`,
  status: f.status,
  createdAt: iso(f.createdAt)
})

export const previewView = (f: FileImport) => {
  const inferredTypes: Record<string, ColumnWithSamples["type"]> = {}
  for (const c of f.profile.columns) inferredTypes[c.name] = c.type
  return {
    fileId: f.id,
    fileName: f.fileName,
    columns: f.profile.columns.map(columnView),
    previewRows: f.profile.previewRows,
    totalRows: f.profile.totalRows,
    inferredTypes,
    dialect: f.profile.dialect ?? null,
    warnings: f.profile.warnings ?? []
  }
}

export const fileJobView = (f: FileImport) => ({
  id: f.id,
  fileName: f.fileName,
  targetTableName: f.targetTableName,
  targetSchema: f.targetSchema,
  columnMappings: f.columnMappings,
  dropUnmapped: f.dropUnmapped,
  columns: targetColumns(f).map(({ column, source }) => ({ source, name: column.name, type: column.type })),
  status: f.status,
  createdAt: iso(f.createdAt)
})

/** A file in the import history (newest first). */
export const importSummaryView = (f: FileImportSummary) => ({
  ...importStatusView(f),
  fileFormat: f.fileFormat,
  fileSize: f.fileSize,
  createdAt: iso(f.createdAt)
})

export const importStatusView = (f: FileImportSummary) => ({
  id: f.id,
  fileName: f.fileName,
  status: f.status,
  recordsImported: f.recordsImported,
  completedAt: isoOrNull(f.completedAt),
  error: f.error,
  bytesRead: f.bytesRead,
  totalBytes: f.fileSize,
  targetTableName: f.targetTableName,
  targetSchema: f.targetSchema
})
