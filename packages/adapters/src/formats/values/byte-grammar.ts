import { isNullToken, ORDER_YMD, powersOfTen } from "./text-grammar.ts"

// Values read straight from a field's UTF-8 bytes `buf[s..e)` (CSV imports, see csv/byte-tokenizer.ts):
// fast paths for the commonest spellings. Each returns `undefined` when the spelling is not one
// it knows, and the caller goes through the general grammar of text-grammar.ts on the field's text, so
// both accept exactly the same values (tests/formats/packed.test.ts).

const decoder = new TextDecoder()

/** The text of a field: for the general grammar and for messages. */
export const fieldText = (buf: Uint8Array, s: number, e: number): string => {
  if (e - s <= 32) {
    let text = ""
    for (let k = s; k < e; k++) {
      const c = buf[k]!
      if (c >= 0x80) return decoder.decode(buf.subarray(s, e))
      text += String.fromCharCode(c)
    }
    return text
  }
  return decoder.decode(buf.subarray(s, e))
}

const N = 78
const n_ = 110
const SPACE = 32
const TAB = 9
const MINUS = 45
const DOT = 46

/** Whether the field is a null token (isNullToken of text-grammar.ts). */
export const isNullField = (buf: Uint8Array, s: number, e: number): boolean => {
  const length = e - s
  if (length === 0) return true
  if (length > 6) return false
  const first = buf[s]
  // Every token starts with N or n, unless it is padded with blanks.
  if (first !== N && first !== n_ && first !== SPACE && first !== TAB && buf[e - 1] !== SPACE) return false
  return isNullToken(fieldText(buf, s, e))
}

/** `true` or `false` spelled so; undefined for anything else. */
export const plainBooleanOfField = (buf: Uint8Array, s: number, e: number): boolean | undefined => {
  if (e - s === 4 && buf[s] === 116 && buf[s + 1] === 114 && buf[s + 2] === 117 && buf[s + 3] === 101) return true
  if (e - s === 5 && buf[s] === 102 && buf[s + 1] === 97 && buf[s + 2] === 108 && buf[s + 3] === 115 && buf[s + 4] === 101) {
    return false
  }
  return undefined
}

/** Plain decimal digits with an optional minus, at most 15 digits, no leading zero. */
export const plainIntegerOfField = (buf: Uint8Array, s: number, e: number): number | undefined => {
  const length = e - s
  if (length === 0 || length > 15) return undefined
  const negative = buf[s] === MINUS
  let k = negative ? s + 1 : s
  if (k >= e) return undefined
  const first = buf[k]!
  if (first === 48 ? length !== 1 : first < 49 || first > 57) return undefined
  let value = 0
  for (; k < e; k++) {
    const digit = buf[k]! - 48
    if (digit < 0 || digit > 9) return undefined
    value = value * 10 + digit
  }
  return negative ? (value === 0 ? 0 : -value) : value
}

/**
 * Plain decimal digits with an optional minus, 16 to 18 digits, no leading zero (beyond what a
 * double holds, within 64 bits): written to `words[at]`, `words[at + 1]` as a two's complement
 * 64-bit integer, low word first; false for anything else.
 */
export const plainInt64OfField = (buf: Uint8Array, s: number, e: number, words: Uint32Array, at: number): boolean => {
  const negative = buf[s] === MINUS
  const k = negative ? s + 1 : s
  const digits = e - k
  if (digits < 16 || digits > 18 || buf[k] === 48) return false
  // value = high × 10^9 + low, high < 10^9 and low < 10^9.
  const high = digitsAt(buf, k, digits - 9)
  const low = digitsAt(buf, e - 9, 9)
  if (high < 0 || low < 0) return false
  // value = q × 512 + r with q = high × 1953125 + ⌊low / 512⌋ (below 2^52) and r < 512 (10^9 = 1953125 × 512).
  const q = high * 1953125 + Math.floor(low / 512)
  let lo = (Math.imul(high, 1_000_000_000) + low) >>> 0
  let hi = Math.floor(q / 8388608) >>> 0
  if (negative) {
    lo = (~lo + 1) >>> 0
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0
  }
  words[at] = lo
  words[at + 1] = hi
  return true
}

/** Outcome of plainUnscaledOfField for a value with too many integer digits for the column. */
export const OUT_OF_RANGE = "out of range"

/**
 * `[-]digits[.digits]` with at most 15 digits at the column's scale, no leading zero: the value
 * times 10^scale; OUT_OF_RANGE when it has more integer digits than the column allows.
 */
export const plainUnscaledOfField = (
  buf: Uint8Array,
  s: number,
  e: number,
  precision: number,
  scale: number
): number | typeof OUT_OF_RANGE | undefined => {
  const length = e - s
  if (length === 0 || length > 17) return undefined
  const negative = buf[s] === MINUS
  let k = negative ? s + 1 : s
  if (k >= e) return undefined
  const first = buf[k]
  let value = 0
  let integerDigits = 0
  let fraction = -1
  for (; k < e; k++) {
    const c = buf[k]!
    if (c >= 48 && c <= 57) {
      value = value * 10 + (c - 48)
      if (fraction >= 0) fraction++
      else integerDigits++
    } else if (c === DOT && fraction < 0) fraction = 0
    else return undefined
  }
  const significantInteger = first === 48 ? integerDigits - 1 : integerDigits
  if (
    integerDigits === 0 || fraction === 0 || fraction > scale || (first === 48 && integerDigits > 1) ||
    significantInteger + scale > 15
  ) return undefined
  if (significantInteger > precision - scale) return OUT_OF_RANGE
  const unscaled = value * powersOfTen[scale - Math.max(fraction, 0)]!
  return negative && unscaled !== 0 ? -unscaled : unscaled
}

const digitsAt = (buf: Uint8Array, at: number, count: number): number => {
  let value = 0
  for (let k = at; k < at + count; k++) {
    const digit = buf[k]! - 48
    if (digit < 0 || digit > 9) return -1
    value = value * 10 + digit
  }
  return value
}

/** Days before the first of each month (1-12) of a common year, and the days of each month. */
const DAYS_BEFORE_MONTH = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
/** Leap days before 1970: 1969/4 - 1969/100 + 1969/400. */
const LEAP_DAYS_BEFORE_1970 = 477

/**
 * Days since 1970 of `yyyy-mm-dd` at `s`; undefined when it is not a valid date so spelled. The
 * same days as daysFromCivil, counted here with integer steps only: every date and timestamp
 * field of a CSV file comes through here, twice (profile and import).
 */
const isoDays = (buf: Uint8Array, s: number): number | undefined => {
  if (buf[s + 4] !== MINUS || buf[s + 7] !== MINUS) return undefined
  const y0 = buf[s]! - 48
  const y1 = buf[s + 1]! - 48
  const y2 = buf[s + 2]! - 48
  const y3 = buf[s + 3]! - 48
  const m0 = buf[s + 5]! - 48
  const m1 = buf[s + 6]! - 48
  const d0 = buf[s + 8]! - 48
  const d1 = buf[s + 9]! - 48
  // A byte other than a digit is below 0 or above 9, so above 9 unsigned.
  if (((y0 >>> 0) > 9) || ((y1 >>> 0) > 9) || ((y2 >>> 0) > 9) || ((y3 >>> 0) > 9)) return undefined
  if (((m0 >>> 0) > 9) || ((m1 >>> 0) > 9) || ((d0 >>> 0) > 9) || ((d1 >>> 0) > 9)) return undefined
  const year = y0 * 1000 + y1 * 100 + y2 * 10 + y3
  const month = m0 * 10 + m1
  const day = d0 * 10 + d1
  if (year < 1 || month < 1 || month > 12 || day < 1) return undefined
  const leap = (year & 3) === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > DAYS_IN_MONTH[month]! + (leap && month === 2 ? 1 : 0)) return undefined
  const y = year - 1
  return (year - 1970) * 365 + ((y / 4) | 0) - ((y / 100) | 0) + ((y / 400) | 0) - LEAP_DAYS_BEFORE_1970 +
    DAYS_BEFORE_MONTH[month]! + (leap && month > 2 ? 1 : 0) + day - 1
}

/** `yyyy-mm-dd` in a column read year first. */
export const plainDateOfField = (buf: Uint8Array, s: number, e: number, order: number): number | undefined =>
  e - s === 10 && order === ORDER_YMD ? isoDays(buf, s) : undefined

/** `yyyy-mm-dd[T ]hh:mm:ss[.f…]` with no zone, or `Z` for an instant: microseconds since 1970. */
export const plainTimestampOfField = (
  buf: Uint8Array,
  s: number,
  e: number,
  order: number,
  zoned: boolean
): number | undefined => {
  let end = e - s
  if (end < 19 || order !== ORDER_YMD) return undefined
  if (zoned && buf[e - 1] === 90) end--
  const t = buf[s + 10]
  if ((t !== 84 && t !== SPACE) || buf[s + 13] !== 58 || buf[s + 16] !== 58) return undefined
  const days = isoDays(buf, s)
  const hour = digitsAt(buf, s + 11, 2)
  const minute = digitsAt(buf, s + 14, 2)
  const second = digitsAt(buf, s + 17, 2)
  if (days === undefined || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return undefined
  let micros = 0
  if (end !== 19) {
    if (end <= 20 || end > 26 || buf[s + 19] !== DOT) return undefined
    micros = digitsAt(buf, s + 20, end - 20)
    if (micros < 0) return undefined
    for (let d = end - 20; d < 6; d++) micros *= 10
  }
  const seconds = days * 86400 + hour * 3600 + minute * 60 + second
  // Within about ±285 years of 1970 the microseconds are a safe integer.
  if (seconds <= -9_007_199_253 || seconds >= 9_007_199_253) return undefined
  return seconds * 1_000_000 + micros
}
