import type { ColumnType } from "@ingest/domain"
import { type CsvFields, MISSING_FIELD } from "../csv/byte-tokenizer.ts"
import { fieldText, isNullField, plainBooleanOfField, plainDateOfField, plainTimestampOfField } from "./byte-grammar.ts"
import { detachString, JsonNumber, JsonText, rawText } from "./raw-cells.ts"
import type { ColumnHint } from "../read-options.ts"
import type { DeclaredType } from "../types.ts"
import {
  DOUBLE_SAFE_DIGITS,
  isNullToken,
  NUM_DECIMAL,
  NUM_FLOAT,
  NUM_INTEGER,
  NUM_NONE,
  ORDER_DMY,
  ORDER_MDY,
  ORDER_YMD,
  orderName,
  parseBooleanText,
  scanNumber,
  scannedInt64,
  scannedIntDigits,
  scannedScale,
  scannedSignificant,
  scanTemporal,
  type DateOrder,
  TEMPORAL_DATE,
  TEMPORAL_NAIVE,
  TEMPORAL_NONE,
  TEMPORAL_ZONED,
  tOrders,
  tSeparator
} from "./text-grammar.ts"

/**
 * Type inference over every value of a column. Each non-null value falls in one category
 * (boolean, number, temporal, text, binary); a column whose values span categories is STRING.
 * Within a category the narrowest type that holds EVERY value wins:
 * - numbers: INTEGER (all integers within int64) → DECIMAL(p,s) (no exponent, p ≤ 38; integers
 *   beyond int64 alone give DECIMAL(38,0)) → DOUBLE (only if no plain value has more than 15
 *   significant digits, so nothing is rounded) → STRING;
 * - temporal text: one date order per column (year-first, day-first or month-first, whichever
 *   every value allows; when day-first and month-first both remain, month-first if the column
 *   only uses `/`, day-first otherwise); dates only → DATE, dates and/or naive timestamps →
 *   TIMESTAMP, zoned timestamps only → TIMESTAMP_TZ, zoned mixed with naive → STRING;
 * - booleans: `true`/`false` in any case (no yes/no, no 0/1: those keep their own type).
 * Text formats also map null tokens (empty, NULL, null, NA, N/A) to null; in JSON only `null` is.
 * JSON strings are only tried as dates/timestamps (a quoted "123" stays text, as its producer chose).
 */

const CAT_NONE = 0
const CAT_BOOL = 1
const CAT_NUM = 2
const CAT_TEMPORAL = 3
const CAT_STRING = 4
const CAT_BINARY = 5

const MAX_SAMPLES = 5
const MAX_SAMPLE_LENGTH = 256
const MAX_DECIMAL_PRECISION = 38

export interface InferredColumn {
  readonly type: ColumnType
  readonly nullable: boolean
  readonly precision?: number
  readonly scale?: number
  readonly bitWidth?: 32
  readonly sampleValues: ReadonlyArray<string>
  /** How a re-read parses this column's text (date order). */
  readonly hint?: ColumnHint
}

/** What a ColumnInference has seen, as plain data (it crosses threads when a file is profiled in parts). */
export interface InferenceState {
  readonly textValues: boolean
  readonly declared: DeclaredType | undefined
  readonly nulls: number
  readonly nonNull: number
  readonly category: number
  readonly allInt: boolean
  readonly decimalOk: boolean
  readonly doubleOk: boolean
  readonly maxIntDigits: number
  readonly maxScale: number
  readonly orders: number
  readonly separators: number
  readonly hasDate: boolean
  readonly hasNaive: boolean
  readonly hasZoned: boolean
  readonly samples: ReadonlyArray<string>
}

export class ColumnInference {
  nulls: number
  nonNull = 0
  private category = CAT_NONE
  private allInt = true
  private decimalOk = true
  private doubleOk = true
  private maxIntDigits = 0
  private maxScale = 0
  private orders = ORDER_YMD | ORDER_DMY | ORDER_MDY
  private separators = 0
  private hasDate = false
  private hasNaive = false
  private hasZoned = false
  readonly samples: Array<string> = []
  /** The bytes of samples taken from CSV fields: a field equal to one is no new sample, with no text made. */
  private readonly sampleBytes: Array<Uint8Array> = []
  private readonly textValues: boolean
  private readonly declared: DeclaredType | undefined

  /**
   * @param textValues strings are text to classify fully, with null tokens (CSV)
   * @param nullsBefore rows read before this column appeared (JSON keys first seen later)
   */
  constructor(textValues: boolean, nullsBefore = 0, declared?: DeclaredType) {
    this.textValues = textValues
    this.declared = declared
    this.nulls = nullsBefore
  }

  /** Observes `count` values (a missing column array means nulls). */
  observeAll(values: ReadonlyArray<unknown> | undefined, count: number): void {
    if (values === undefined) {
      this.nulls += count
      return
    }
    if (this.textValues) {
      for (let r = 0; r < count; r++) {
        const v = values[r]
        if (typeof v === "string") this.observeText(v)
        else this.observe(v)
      }
    } else {
      for (let r = 0; r < count; r++) this.observe(values[r])
    }
  }

  state(): InferenceState {
    return {
      textValues: this.textValues,
      declared: this.declared,
      nulls: this.nulls,
      nonNull: this.nonNull,
      category: this.category,
      allInt: this.allInt,
      decimalOk: this.decimalOk,
      doubleOk: this.doubleOk,
      maxIntDigits: this.maxIntDigits,
      maxScale: this.maxScale,
      orders: this.orders,
      separators: this.separators,
      hasDate: this.hasDate,
      hasNaive: this.hasNaive,
      hasZoned: this.hasZoned,
      samples: [...this.samples]
    }
  }

  static fromState(state: InferenceState): ColumnInference {
    const inference = new ColumnInference(state.textValues, 0, state.declared)
    inference.absorb(state)
    return inference
  }

  /**
   * Adds what was seen in a later part of the same column: the result is what observing this
   * part's values and then the later part's would have given.
   */
  absorb(later: InferenceState): void {
    this.nulls += later.nulls
    this.nonNull += later.nonNull
    for (const sample of later.samples) if (this.samples.length < MAX_SAMPLES && !this.samples.includes(sample)) this.samples.push(sample)
    if (later.category === CAT_NONE) return
    if (!this.merge(later.category) || this.category === CAT_STRING) {
      this.category = CAT_STRING
      return
    }
    this.allInt &&= later.allInt
    this.decimalOk &&= later.decimalOk
    this.doubleOk &&= later.doubleOk
    this.maxIntDigits = Math.max(this.maxIntDigits, later.maxIntDigits)
    this.maxScale = Math.max(this.maxScale, later.maxScale)
    this.orders &= later.orders
    this.separators |= later.separators
    this.hasDate ||= later.hasDate
    this.hasNaive ||= later.hasNaive
    this.hasZoned ||= later.hasZoned
    if (this.category === CAT_TEMPORAL && this.orders === 0) this.category = CAT_STRING
  }

  private sample(text: string): void {
    const samples = this.samples
    if (samples.length >= MAX_SAMPLES) return
    const shown = text.length > MAX_SAMPLE_LENGTH ? text.slice(0, MAX_SAMPLE_LENGTH) + "…" : text
    for (let k = 0; k < samples.length; k++) if (samples[k] === shown) return
    samples.push(detachString(shown))
  }

  private merge(category: number): boolean {
    if (this.category === category) return true
    if (this.category === CAT_NONE) {
      this.category = category
      return true
    }
    this.category = CAT_STRING
    return false
  }

  observeText(s: string): void {
    if (isNullToken(s)) {
      this.nulls++
      return
    }
    this.nonNull++
    if (this.samples.length < MAX_SAMPLES) this.sample(s)
    if (this.category === CAT_STRING || this.declared !== undefined) return
    this.classifyText(s)
  }

  /**
   * Observes column `column` of CSV records read as bytes (csv/byte-tokenizer.ts): the same
   * result as observeText on each field's text, with no text made for the commonest spellings
   * (plain integers and decimals of up to 15 digits, ISO dates and timestamps, true/false).
   */
  observeFields(fields: CsvFields, column: number): void {
    const { length, capacity, bytes, unescaped, starts, ends } = fields
    const base = column * capacity
    for (let r = 0; r < length; r++) {
      const start = starts[base + r]!
      if (start === MISSING_FIELD) {
        this.nulls++
        continue
      }
      if (start >= 0) this.observeField(bytes, start, ends[base + r]!)
      else this.observeField(unescaped, -start - 2, ends[base + r]!)
    }
  }

  private observeField(buf: Uint8Array, s: number, e: number): void {
    if (isNullField(buf, s, e)) {
      this.nulls++
      return
    }
    this.nonNull++
    if (this.samples.length < MAX_SAMPLES) this.sampleField(buf, s, e)
    if (this.category === CAT_STRING || this.declared !== undefined) return
    if (!this.classifiedField(buf, s, e)) this.classifyText(fieldText(buf, s, e))
  }

  private sampleField(buf: Uint8Array, s: number, e: number): void {
    const length = e - s
    if (length <= MAX_SAMPLE_LENGTH) {
      same: for (const known of this.sampleBytes) {
        if (known.length !== length) continue
        for (let k = 0; k < length; k++) if (known[k] !== buf[s + k]) continue same
        return
      }
    }
    const before = this.samples.length
    this.sample(fieldText(buf, s, e))
    if (this.samples.length > before && length <= MAX_SAMPLE_LENGTH) this.sampleBytes.push(buf.slice(s, e))
  }

  /**
   * The fast paths of observeField: whether the field was one of the spellings read here (then
   * observed exactly as classifyText would), or needs the general grammar on its text.
   */
  private classifiedField(buf: Uint8Array, s: number, e: number): boolean {
    const length = e - s
    const c0 = buf[s]!
    if ((c0 >= 48 && c0 <= 57) || c0 === 45) {
      // [-](0|[1-9][0-9]*)[.[0-9]+]: an integer of at most 18 digits (always a 64-bit one), or a decimal.
      let k = c0 === 45 ? s + 1 : s
      const intStart = k
      while (k < e && buf[k]! >= 48 && buf[k]! <= 57) k++
      const intLen = k - intStart
      if (intLen > 0 && !(intLen > 1 && buf[intStart] === 48)) {
        const zeroInt = intLen === 1 && buf[intStart] === 48
        if (k === e) {
          if (intLen > 18) return false
          if (this.merge(CAT_NUM)) this.numberOf(NUM_INTEGER, true, zeroInt ? 0 : intLen, 0, zeroInt ? 0 : intLen)
          return true
        }
        if (buf[k] === 46) {
          const fracStart = ++k
          while (k < e && buf[k]! >= 48 && buf[k]! <= 57) k++
          const scale = k - fracStart
          if (k === e && scale > 0) {
            let significant = intLen + scale
            if (zeroInt) {
              let z = fracStart
              while (z < e && buf[z] === 48) z++
              significant = e - z
            }
            if (this.merge(CAT_NUM)) this.numberOf(NUM_DECIMAL, true, zeroInt ? 0 : intLen, scale, significant)
            return true
          }
          return false
        }
      }
      // yyyy-mm-dd, and yyyy-mm-dd[T ]hh:mm:ss[.ffffff][Z]
      if (c0 === 45 || length < 10 || buf[s + 4] !== 45) return false
      if (length === 10) {
        if (plainDateOfField(buf, s, e, ORDER_YMD) === undefined) return false
        this.temporalOf(TEMPORAL_DATE, ORDER_YMD, 45)
        return true
      }
      const zoned = buf[e - 1] === 90
      if (plainTimestampOfField(buf, s, e, ORDER_YMD, zoned) === undefined) return false
      this.temporalOf(zoned ? TEMPORAL_ZONED : TEMPORAL_NAIVE, ORDER_YMD, 45)
      return true
    }
    if (plainBooleanOfField(buf, s, e) !== undefined) {
      this.merge(CAT_BOOL)
      return true
    }
    return false
  }

  /**
   * What a number scanned as `kind` tells (scanNumber's figures: whether an integer fits 64 bits,
   * its integer digits, scale and significant digits), read from text or from bytes.
   */
  private numberOf(kind: number, int64: boolean, intDigits: number, scale: number, significant: number): void {
    if (kind !== NUM_INTEGER || !int64) this.allInt = false
    if (kind === NUM_FLOAT) this.decimalOk = false
    else if (this.doubleOk && significant > DOUBLE_SAFE_DIGITS) this.doubleOk = false
    if (intDigits > this.maxIntDigits) this.maxIntDigits = intDigits
    if (scale > this.maxScale) this.maxScale = scale
  }

  /** numberOf with the figures scanNumber left for the text it scanned last. */
  private numberText(kind: number): void {
    this.numberOf(kind, scannedInt64, scannedIntDigits, scannedScale, scannedSignificant)
  }

  /** What temporal text scanned as `kind` (with scanTemporal's orders and separator) tells. */
  private temporalOf(kind: number, orders: number, separator: number): void {
    if (!this.merge(CAT_TEMPORAL)) return
    this.orders &= orders
    this.separators |= 1 << (separator & 7)
    if (kind === TEMPORAL_DATE) this.hasDate = true
    else if (kind === TEMPORAL_NAIVE) this.hasNaive = true
    else this.hasZoned = true
    if (this.orders === 0) this.category = CAT_STRING
  }

  /** The type category and figures of non-null text (observeText after its null check and sample). */
  private classifyText(s: string): void {
    const c = s.charCodeAt(0)
    if (c === 116 || c === 102 || c === 84 || c === 70 || c === 32) {
      if (parseBooleanText(s) !== undefined) {
        this.merge(CAT_BOOL)
        return
      }
    }
    const kind = scanNumber(s)
    if (kind !== NUM_NONE) {
      if (this.merge(CAT_NUM)) this.numberText(kind)
      return
    }
    this.temporalText(s)
  }

  private temporalText(s: string): void {
    const kind = scanTemporal(s)
    if (kind === TEMPORAL_NONE) {
      this.category = CAT_STRING
      return
    }
    this.temporalOf(kind, tOrders, tSeparator)
  }

  observe(v: unknown): void {
    if (v === null || v === undefined) {
      this.nulls++
      return
    }
    this.nonNull++
    if (this.samples.length < MAX_SAMPLES) this.sample(rawText(v))
    if (this.category === CAT_STRING || this.declared !== undefined) return
    switch (typeof v) {
      case "string":
        this.temporalText(v)
        return
      case "boolean":
        this.merge(CAT_BOOL)
        return
      case "number":
        if (this.merge(CAT_NUM)) {
          if (Number.isSafeInteger(v) && !Object.is(v, -0)) {
            const digits = v === 0 ? 0 : String(Math.abs(v)).length
            if (digits > this.maxIntDigits) this.maxIntDigits = digits
          } else {
            this.allInt = false
            this.decimalOk = false
          }
        }
        return
      case "bigint":
        if (this.merge(CAT_NUM)) {
          if (v < -9223372036854775808n || v > 9223372036854775807n) this.allInt = false
          const digits = (v < 0n ? -v : v).toString().length
          if (digits > this.maxIntDigits) this.maxIntDigits = digits
          if (digits > 15) this.doubleOk = false
        }
        return
      default:
        break
    }
    if (v instanceof JsonNumber) {
      if (this.merge(CAT_NUM)) {
        const kind = scanNumber(v.text)
        this.numberText(kind === NUM_NONE ? NUM_FLOAT : kind)
      }
      return
    }
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) {
        this.category = CAT_STRING
        return
      }
      if (this.merge(CAT_TEMPORAL)) {
        if (v.getTime() % 86_400_000 === 0) this.hasDate = true
        else this.hasNaive = true
      }
      return
    }
    if (v instanceof Uint8Array) {
      this.merge(CAT_BINARY)
      return
    }
    if (v instanceof JsonText || typeof v === "object") {
      this.category = CAT_STRING
      return
    }
    this.category = CAT_STRING
  }

  result(totalRows: number): InferredColumn {
    const nullable = this.nulls > 0 || totalRows === 0
    const sampleValues = this.samples
    const declared = this.declared
    if (declared !== undefined) {
      return {
        type: declared.type,
        nullable: declared.nullable || this.nulls > 0,
        ...(declared.precision !== undefined ? { precision: declared.precision } : {}),
        ...(declared.scale !== undefined ? { scale: declared.scale } : {}),
        ...(declared.bitWidth !== undefined ? { bitWidth: declared.bitWidth } : {}),
        sampleValues
      }
    }
    switch (this.category) {
      case CAT_BOOL:
        return { type: "BOOLEAN", nullable, sampleValues }
      case CAT_NUM:
        if (this.allInt) return { type: "INTEGER", nullable, sampleValues }
        if (this.decimalOk) {
          if (this.maxScale === 0) {
            if (this.maxIntDigits <= MAX_DECIMAL_PRECISION) {
              return { type: "DECIMAL", nullable, precision: MAX_DECIMAL_PRECISION, scale: 0, sampleValues }
            }
          } else if (this.maxIntDigits + this.maxScale <= MAX_DECIMAL_PRECISION) {
            const precision = Math.max(1, this.maxIntDigits + this.maxScale)
            return { type: "DECIMAL", nullable, precision, scale: this.maxScale, sampleValues }
          }
        }
        if (this.doubleOk) return { type: "DOUBLE", nullable, sampleValues }
        return { type: "STRING", nullable, sampleValues }
      case CAT_TEMPORAL: {
        if (this.hasZoned && (this.hasNaive || this.hasDate)) return { type: "STRING", nullable, sampleValues }
        const type: ColumnType = this.hasZoned ? "TIMESTAMP_TZ" : this.hasNaive ? "TIMESTAMP" : "DATE"
        return { type, nullable, sampleValues, hint: { dateOrder: this.chosenOrder() } }
      }
      case CAT_BINARY:
        return { type: "BINARY", nullable, sampleValues }
      default:
        return { type: "STRING", nullable, sampleValues }
    }
  }

  private chosenOrder(): DateOrder {
    const orders = this.orders
    if (orders & ORDER_YMD) return "ymd"
    if ((orders & ORDER_DMY) && (orders & ORDER_MDY)) {
      const onlySlash = this.separators === 1 << (47 & 7)
      return onlySlash ? "mdy" : "dmy"
    }
    return orderName(orders & ORDER_DMY ? ORDER_DMY : ORDER_MDY)
  }
}
