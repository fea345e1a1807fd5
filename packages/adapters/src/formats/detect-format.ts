import type { FileFormat } from "@ingest/domain"

/**
 * Format detection: magic bytes first (`PAR1`/`PARE` Parquet, `Obj\x01` Avro, `PK` zip → xlsx, OLE
 * compound file → xls), then JSON by content (first non-blank character `{` or `[`, BOM and
 * UTF-16 allowed; JSONL when the head holds several lines that each parse as a JSON value), then
 * the file name's extension. A `.csv`/`.tsv`/`.txt` file whose first line is not JSON stays CSV
 * (a header like `[id],[name]` is not JSON).
 */
const extensions: Record<string, FileFormat> = {
  csv: "csv",
  tsv: "csv",
  txt: "csv",
  json: "json",
  jsonl: "jsonl",
  ndjson: "jsonl",
  xlsx: "xlsx",
  xlsm: "xlsx",
  xls: "xls",
  parquet: "parquet",
  avro: "avro"
}

const startsWith = (head: Uint8Array, bytes: ReadonlyArray<number>): boolean =>
  head.length >= bytes.length && bytes.every((b, i) => head[i] === b)

const headText = (head: Uint8Array): string => {
  try {
    if (startsWith(head, [0xff, 0xfe])) return new TextDecoder("utf-16le").decode(head)
    if (startsWith(head, [0xfe, 0xff])) return new TextDecoder("utf-16be").decode(head)
    return new TextDecoder("utf-8").decode(head)
  } catch {
    return ""
  }
}

const parses = (text: string): boolean => {
  try {
    JSON.parse(text)
    return true
  } catch {
    return false
  }
}

const extensionOf = (fileName: string): string => {
  const dot = fileName.lastIndexOf(".")
  return dot === -1 ? "" : fileName.slice(dot + 1).toLowerCase()
}

export const detectFormat = (head: Uint8Array, fileName: string): FileFormat | undefined => {
  // PAR1, or PARE for Parquet with an encrypted footer (the reader then refuses it clearly).
  if (startsWith(head, [0x50, 0x41, 0x52, 0x31]) || startsWith(head, [0x50, 0x41, 0x52, 0x45])) return "parquet"
  if (startsWith(head, [0x4f, 0x62, 0x6a, 0x01])) return "avro"
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) || startsWith(head, [0x50, 0x4b, 0x05, 0x06])) return "xlsx"
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return "xls"
  const ext = extensions[extensionOf(fileName)]
  const text = headText(head).replace(/^\uFEFF/, "")
  const trimmed = text.trimStart()
  const first = trimmed[0]
  if (first === "{" || first === "[") {
    const lines = trimmed.split(/\r?\n/)
    // The last line of a head may be cut short: only complete lines count.
    const complete = lines.slice(0, -1).filter((l) => l.trim() !== "")
    const firstLineIsJson = parses(lines[0]!.trim())
    if (ext === "csv" && !firstLineIsJson) return "csv"
    if (complete.length >= 2 && complete.slice(0, 5).every((l) => parses(l.trim()))) return "jsonl"
    return "json"
  }
  return ext
}
