/**
 * Text grammars shared by type inference and coercion, so that a type inferred for a column is
 * exactly the set of values the coercion accepts (an import with the inferred schema cannot fail).
 *
 * Scanners avoid regular expressions and allocations: results of the last scan are left in
 * module-level scratch variables (single-threaded, read right after the call).
 */

/** Null tokens of text formats (CSV), compared after trimming spaces. */
export const isNullToken = (s: string): boolean => {
  const n = s.length
  if (n === 0) return true
  if (n > 6) return false
  const first = s.charCodeAt(0)
  if (first === 32 || s.charCodeAt(n - 1) === 32 || first === 9) {
    const t = s.trim()
    return t.length === 0 || isNullToken(t)
  }
  return s === "NULL" || s === "null" || s === "NA" || s === "N/A"
}

// ---------------------------------------------------------------------------------------------
// Numbers

export const NUM_NONE = 0
export const NUM_INTEGER = 1
export const NUM_DECIMAL = 2
/** Exponent notation or NaN/Infinity: only DOUBLE holds it. */
export const NUM_FLOAT = 3

/** Digits before the decimal point (0 for "0.x"), after it, and significant digits of the last scan. */
export let scannedIntDigits = 0
export let scannedScale = 0
export let scannedSignificant = 0
/** Whether the last integer scanned fits a signed 64-bit integer. */
export let scannedInt64 = true

const INT64_MAX = "9223372036854775807"
const INT64_MIN_ABS = "9223372036854775808"

const isSpace = (c: number) => c === 32 || c === 9

/**
 * Classifies numeric text: `[+-]digits[.digits][e[+-]digits]`, no leading zeros (`007` is not a
 * number: keeping it as text keeps the data), no bare `.5` or `5.`; also `NaN`, `Infinity`.
 * Surrounding spaces are allowed.
 */
export const scanNumber = (s: string): number => {
  let i = 0
  let end = s.length
  while (i < end && isSpace(s.charCodeAt(i))) i++
  while (end > i && isSpace(s.charCodeAt(end - 1))) end--
  if (i >= end) return NUM_NONE
  let c = s.charCodeAt(i)
  let negative = false
  let signed = false
  if (c === 43 || c === 45) {
    negative = c === 45
    signed = true
    i++
    if (i >= end) return NUM_NONE
    c = s.charCodeAt(i)
  }
  if (c < 48 || c > 57) {
    const rest = s.slice(i, end)
    if (rest === "Infinity" || (rest === "NaN" && !signed)) {
      scannedIntDigits = 0
      scannedScale = 0
      scannedSignificant = 0
      return NUM_FLOAT
    }
    return NUM_NONE
  }
  const intStart = i
  while (i < end) {
    c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    i++
  }
  const intLen = i - intStart
  if (intLen > 1 && s.charCodeAt(intStart) === 48) return NUM_NONE
  const zeroInt = intLen === 1 && s.charCodeAt(intStart) === 48
  let scale = 0
  let significant = zeroInt ? 0 : intLen
  if (i < end && s.charCodeAt(i) === 46) {
    i++
    const fracStart = i
    while (i < end) {
      c = s.charCodeAt(i)
      if (c < 48 || c > 57) break
      i++
    }
    scale = i - fracStart
    if (scale === 0) return NUM_NONE
    if (significant === 0) {
      let k = fracStart
      while (k < i && s.charCodeAt(k) === 48) k++
      significant = i - k
    } else {
      significant += scale
    }
  }
  if (i < end) {
    c = s.charCodeAt(i)
    if (c !== 101 && c !== 69) return NUM_NONE
    i++
    if (i < end && (s.charCodeAt(i) === 43 || s.charCodeAt(i) === 45)) i++
    const expStart = i
    while (i < end) {
      c = s.charCodeAt(i)
      if (c < 48 || c > 57) return NUM_NONE
      i++
    }
    if (i === expStart) return NUM_NONE
    scannedIntDigits = zeroInt ? 0 : intLen
    scannedScale = scale
    scannedSignificant = significant
    return NUM_FLOAT
  }
  scannedIntDigits = zeroInt ? 0 : intLen
  scannedScale = scale
  scannedSignificant = significant
  if (scale > 0) return NUM_DECIMAL
  if (intLen < 19) scannedInt64 = true
  else if (intLen > 19) scannedInt64 = false
  else scannedInt64 = s.slice(intStart, intStart + 19) <= (negative ? INT64_MIN_ABS : INT64_MAX)
  return NUM_INTEGER
}

/** Largest number of significant digits a plain decimal may have to be stored as DOUBLE unchanged. */
export const DOUBLE_SAFE_DIGITS = 15

/** INTEGER canonical value (safe number or bigint) from integer text, or undefined. */
export const parseIntegerText = (s: string): number | bigint | undefined => {
  if (scanNumber(s) !== NUM_INTEGER || !scannedInt64) return undefined
  const t = s.trim()
  if (scannedIntDigits < 16) return Number(t)
  const big = BigInt(t)
  return big >= -9007199254740991n && big <= 9007199254740991n ? Number(big) : big
}

/**
 * DECIMAL canonical text with exactly `scale` fraction digits, or undefined when the value does
 * not fit DECIMAL(precision, scale) without losing digits.
 */
export const decimalFromText = (s: string, precision: number, scale: number): string | undefined => {
  const kind = scanNumber(s)
  if (kind !== NUM_INTEGER && kind !== NUM_DECIMAL) return undefined
  let t = s.trim()
  let sign = ""
  const c = t.charCodeAt(0)
  if (c === 43 || c === 45) {
    if (c === 45) sign = "-"
    t = t.slice(1)
  }
  const dot = t.indexOf(".")
  let intPart = dot === -1 ? t : t.slice(0, dot)
  let frac = dot === -1 ? "" : t.slice(dot + 1)
  if (frac.length > scale) {
    // Extra fraction digits are only accepted when they are zeros (no rounding).
    for (let k = scale; k < frac.length; k++) if (frac.charCodeAt(k) !== 48) return undefined
    frac = frac.slice(0, scale)
  } else if (frac.length < scale) {
    frac = frac + "0".repeat(scale - frac.length)
  }
  if (intPart === "0") intPart = ""
  if (intPart.length > precision - scale) return undefined
  if (intPart === "" && /^0*$/.test(frac)) sign = ""
  return `${sign}${intPart === "" ? "0" : intPart}${scale > 0 ? "." + frac : ""}`
}

/** 10^0 … 10^15, exact as doubles. */
export const powersOfTen = Array.from({ length: 16 }, (_, k) => 10 ** k)

/**
 * The unscaled value of numeric text at `scale` (what DECIMAL(precision, scale) stores), under the
 * rules of decimalFromText; undefined when it does not fit. Values of up to 15 digits (nearly
 * all) are read digit by digit into an exact double without allocating; longer ones via BigInt.
 */
export const unscaledFromText = (s: string, precision: number, scale: number): number | bigint | undefined => {
  const kind = scanNumber(s)
  if (kind !== NUM_INTEGER && kind !== NUM_DECIMAL) return undefined
  if (scannedIntDigits > precision - scale) return undefined
  if (scannedIntDigits + scale > 15) {
    const text = decimalFromText(s, precision, scale)
    if (text === undefined) return undefined
    const unscaled = BigInt(text.replace(".", ""))
    return unscaled >= -9007199254740991n && unscaled <= 9007199254740991n ? Number(unscaled) : unscaled
  }
  let value = 0
  let negative = false
  let fraction = -1
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      if (fraction >= 0) {
        if (fraction >= scale) {
          // Extra fraction digits are only accepted when they are zeros (no rounding).
          if (c !== 48) return undefined
          continue
        }
        fraction++
      }
      value = value * 10 + (c - 48)
    } else if (c === 46) fraction = 0
    else if (c === 45) negative = true
  }
  const unscaled = value * powersOfTen[scale - Math.max(fraction, 0)]!
  return negative && unscaled !== 0 ? -unscaled : unscaled
}

/** DOUBLE from numeric text (any numeric grammar), or undefined. */
export const parseDoubleText = (s: string): number | undefined => {
  const kind = scanNumber(s)
  if (kind === NUM_NONE) return undefined
  return Number(s.trim())
}

/** BOOLEAN from text: `true`/`false` in any letter case. */
export const parseBooleanText = (s: string): boolean | undefined => {
  if (s.length < 4 || s.length > 12) return undefined
  const t = s.length === 4 || s.length === 5 ? s : s.trim()
  if (t.length !== 4 && t.length !== 5) return undefined
  const lower = t.toLowerCase()
  return lower === "true" ? true : lower === "false" ? false : undefined
}

// ---------------------------------------------------------------------------------------------
// Dates and timestamps

/** Orders of the date part: year-month-day, day-month-year, month-day-year. */
export const ORDER_YMD = 1
export const ORDER_DMY = 2
export const ORDER_MDY = 4
export type DateOrder = "ymd" | "dmy" | "mdy"
export const orderName = (bit: number): DateOrder => (bit === ORDER_YMD ? "ymd" : bit === ORDER_DMY ? "dmy" : "mdy")
export const orderBit = (order: DateOrder): number =>
  order === "ymd" ? ORDER_YMD : order === "dmy" ? ORDER_DMY : ORDER_MDY

/** Kinds of temporal text. */
export const TEMPORAL_NONE = 0
export const TEMPORAL_DATE = 1
export const TEMPORAL_NAIVE = 2
export const TEMPORAL_ZONED = 3

/** Results of the last `scanTemporal`. */
export let tOrders = 0
export let tSeparator = 0
let tYear = 0
let tA = 0 // month (ymd) or first number
let tB = 0 // day (ymd) or second number
let tSeconds = 0 // seconds of the day
let tMicros = 0
let tOffsetSeconds = 0

const daysInMonth = (year: number, month: number): number => {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

const validDate = (year: number, month: number, day: number): boolean =>
  year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month)

/**
 * Recognises dates `yyyy-mm-dd`, `dd-mm-yyyy`, `mm-dd-yyyy` (separators `-`, `/` or `.`, one or two
 * digit day and month), optionally followed by `T` or a space and `hh:mm[:ss[.fraction]]`, an
 * optional ` AM`/` PM`, and an optional zone (`Z`, `±hh`, `±hhmm`, `±hh:mm`, ` UTC`). Fractions
 * beyond microseconds must be zeros. Returns the kind; `tOrders` holds the date orders the value
 * can be read with (a value like 01-02-2000 allows both day-first and month-first).
 */
export const scanTemporal = (s: string): number => {
  let i = 0
  let end = s.length
  while (i < end && isSpace(s.charCodeAt(i))) i++
  while (end > i && isSpace(s.charCodeAt(end - 1))) end--
  if (end - i < 8) return TEMPORAL_NONE
  // first number
  let n1 = 0
  const start = i
  while (i < end) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    n1 = n1 * 10 + (c - 48)
    i++
  }
  const len1 = i - start
  if (i >= end) return TEMPORAL_NONE
  const sep = s.charCodeAt(i)
  if (sep !== 45 && sep !== 47 && sep !== 46) return TEMPORAL_NONE
  i++
  let n2 = 0
  let k = i
  while (i < end && i - k < 3) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    n2 = n2 * 10 + (c - 48)
    i++
  }
  const len2 = i - k
  if (len2 < 1 || len2 > 2 || i >= end || s.charCodeAt(i) !== sep) return TEMPORAL_NONE
  i++
  let n3 = 0
  k = i
  while (i < end && i - k < 5) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    n3 = n3 * 10 + (c - 48)
    i++
  }
  const len3 = i - k
  let orders = 0
  if (len1 === 4) {
    if (len3 < 1 || len3 > 2 || !validDate(n1, n2, n3)) return TEMPORAL_NONE
    orders = ORDER_YMD
    tYear = n1
    tA = n2
    tB = n3
  } else if (len1 >= 1 && len1 <= 2 && len3 === 4) {
    if (validDate(n3, n2, n1)) orders |= ORDER_DMY
    if (validDate(n3, n1, n2)) orders |= ORDER_MDY
    if (orders === 0) return TEMPORAL_NONE
    tYear = n3
    tA = n1
    tB = n2
  } else {
    return TEMPORAL_NONE
  }
  tOrders = orders
  tSeparator = sep
  tSeconds = 0
  tMicros = 0
  tOffsetSeconds = 0
  if (i === end) return TEMPORAL_DATE
  const t = s.charCodeAt(i)
  if (t !== 84 && t !== 32) return TEMPORAL_NONE
  i++
  // hh:mm[:ss[.f]]
  let hour = 0
  k = i
  while (i < end && i - k < 3) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) break
    hour = hour * 10 + (c - 48)
    i++
  }
  if (i - k < 1 || i - k > 2 || i >= end || s.charCodeAt(i) !== 58) return TEMPORAL_NONE
  i++
  const minute = twoDigits(s, i, end)
  if (minute < 0 || minute > 59) return TEMPORAL_NONE
  i += 2
  let second = 0
  let micros = 0
  if (i < end && s.charCodeAt(i) === 58) {
    second = twoDigits(s, i + 1, end)
    if (second < 0 || second > 59) return TEMPORAL_NONE
    i += 3
    if (i < end && (s.charCodeAt(i) === 46 || s.charCodeAt(i) === 44)) {
      i++
      k = i
      while (i < end) {
        const c = s.charCodeAt(i)
        if (c < 48 || c > 57) break
        if (i - k < 6) micros = micros * 10 + (c - 48)
        else if (c !== 48) return TEMPORAL_NONE
        i++
      }
      const digits = i - k
      if (digits < 1 || digits > 9) return TEMPORAL_NONE
      for (let d = digits; d < 6; d++) micros *= 10
    }
  }
  // optional AM/PM
  let j = i
  while (j < end && s.charCodeAt(j) === 32) j++
  if (j + 2 <= end) {
    const a = s.charCodeAt(j) | 32
    const m = s.charCodeAt(j + 1) | 32
    if ((a === 97 || a === 112) && m === 109 && (j + 2 === end || !isLetter(s.charCodeAt(j + 2)))) {
      if (hour < 1 || hour > 12) return TEMPORAL_NONE
      if (a === 97) hour = hour === 12 ? 0 : hour
      else hour = hour === 12 ? 12 : hour + 12
      i = j + 2
    }
  }
  if (hour > 23) return TEMPORAL_NONE
  tSeconds = hour * 3600 + minute * 60 + second
  tMicros = micros
  if (i === end) return TEMPORAL_NAIVE
  // zone
  let z = s.charCodeAt(i)
  if (z === 32) {
    i++
    if (end - i === 3 && s.slice(i, end).toUpperCase() === "UTC") return TEMPORAL_ZONED
    return TEMPORAL_NONE
  }
  if (z === 90 || z === 122) return i + 1 === end ? TEMPORAL_ZONED : TEMPORAL_NONE
  if (z !== 43 && z !== 45) return TEMPORAL_NONE
  const sign = z === 45 ? -1 : 1
  i++
  const oh = twoDigits(s, i, end)
  if (oh < 0 || oh > 18) return TEMPORAL_NONE
  i += 2
  let om = 0
  if (i < end) {
    z = s.charCodeAt(i)
    if (z === 58) i++
    om = twoDigits(s, i, end)
    if (om < 0 || om > 59) return TEMPORAL_NONE
    i += 2
  }
  if (i !== end) return TEMPORAL_NONE
  tOffsetSeconds = sign * (oh * 3600 + om * 60)
  return TEMPORAL_ZONED
}

const isLetter = (c: number) => (c | 32) >= 97 && (c | 32) <= 122

const twoDigits = (s: string, i: number, end: number): number => {
  if (i + 2 > end) return -1
  const a = s.charCodeAt(i) - 48
  const b = s.charCodeAt(i + 1) - 48
  if (a < 0 || a > 9 || b < 0 || b > 9) return -1
  return a * 10 + b
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export const daysFromCivil = (year: number, month: number, day: number): number => {
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const mp = (month + 9) % 12
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
}

/** The date part of the last scan read with `order`, as days since the epoch; undefined if impossible. */
const scannedDays = (order: number): number | undefined => {
  if ((tOrders & order) === 0) return undefined
  if (order === ORDER_YMD) return daysFromCivil(tYear, tA, tB)
  if (order === ORDER_DMY) return daysFromCivil(tYear, tB, tA)
  return daysFromCivil(tYear, tA, tB)
}

/** DATE canonical value (days) from date text read with `order`; undefined if not a plain date. */
export const dateFromText = (s: string, order: number): number | undefined =>
  scanTemporal(s) === TEMPORAL_DATE ? scannedDays(order) : undefined

/**
 * TIMESTAMP / TIMESTAMP_TZ canonical value (microseconds) from temporal text read with `order`.
 * `zoned`: the target is an instant; naive values and dates are then read as UTC. Otherwise zoned
 * text is refused (an instant is not a wall-clock time).
 */
export const timestampFromText = (s: string, order: number, zoned: boolean): bigint | undefined => {
  const micros = timestampMicrosFromText(s, order, zoned)
  return micros === undefined ? undefined : BigInt(micros)
}

/** Largest |seconds| whose microseconds stay a safe integer (about ±285 years around 1970). */
const SAFE_MICROS_SECONDS = 9_007_199_253

/** As timestampFromText, but a number when the microseconds are a safe integer (no BigInt). */
export const timestampMicrosFromText = (s: string, order: number, zoned: boolean): number | bigint | undefined => {
  const kind = scanTemporal(s)
  if (kind === TEMPORAL_NONE) return undefined
  if (kind === TEMPORAL_ZONED && !zoned) return undefined
  const days = scannedDays(order)
  if (days === undefined) return undefined
  const seconds = days * 86400 + tSeconds - tOffsetSeconds
  if (seconds > -SAFE_MICROS_SECONDS && seconds < SAFE_MICROS_SECONDS) return seconds * 1_000_000 + tMicros
  return BigInt(seconds) * 1_000_000n + BigInt(tMicros)
}

// ---------------------------------------------------------------------------------------------
// Formatting canonical values (previews, samples, STRING targets)

const pad2 = (n: number) => (n < 10 ? "0" + n : String(n))

/** yyyy-mm-dd of days since the epoch (H. Hinnant's civil_from_days). */
export const formatDate = (days: number): string => {
  const z = days + 719468
  const era = Math.floor(z / 146097)
  const doe = z - era * 146097
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365)
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100))
  const mp = Math.floor((5 * doy + 2) / 153)
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1
  const month = mp < 10 ? mp + 3 : mp - 9
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0)
  return `${String(year).padStart(4, "0")}-${pad2(month)}-${pad2(day)}`
}

/** ISO text of microseconds since the epoch: `yyyy-mm-ddThh:mm:ss[.ffffff]` (+`Z` when zoned). */
export const formatTimestamp = (micros: bigint, zoned: boolean): string => {
  let seconds = micros / 1_000_000n
  let fraction = Number(micros % 1_000_000n)
  if (fraction < 0) {
    fraction += 1_000_000
    seconds -= 1n
  }
  const total = Number(seconds)
  const days = Math.floor(total / 86400)
  const rest = total - days * 86400
  const time = `${pad2(Math.floor(rest / 3600))}:${pad2(Math.floor((rest % 3600) / 60))}:${pad2(rest % 60)}`
  const frac = fraction === 0 ? "" : "." + String(fraction).padStart(6, "0").replace(/0+$/, "")
  return `${formatDate(days)}T${time}${frac}${zoned ? "Z" : ""}`
}
