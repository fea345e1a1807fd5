// Decimal text → the unscaled 128-bit integer Arrow's decimal128 stores (four little-endian 32-bit
// words per row), shared by the table writer and the readers that pack decimals themselves.

const twoPow32 = 4294967296
const powersOfTen = Array.from({ length: 16 }, (_, k) => 10 ** k)

/**
 * Decimal text → unscaled integer at the target scale; `fail` is called with what is wrong (it
 * must throw). Short values (≤ 15 digits, nearly all) are parsed char by char into a double,
 * exactly and without allocating; longer ones via BigInt.
 */
export const unscaledDecimal = (text: string, precision: number, scale: number, fail: (problem: string) => never): number | bigint => {
  const length = text.length
  let i = 0
  let negative = false
  const first = text.charCodeAt(0)
  if (first === 45 /* - */ || first === 43 /* + */) {
    negative = first === 45
    i = 1
  }
  let value = 0
  let integerDigits = 0
  let fractionDigits = 0
  let sawDigit = false
  let inFraction = false
  for (; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 48 && c <= 57) {
      sawDigit = true
      if (inFraction) {
        if (fractionDigits >= scale) {
          if (c !== 48) fail(`has more than ${scale} fractional digits`)
          continue
        }
        fractionDigits++
      } else {
        if (integerDigits === 0 && c === 48) continue // leading zero
        integerDigits++
      }
      value = value * 10 + (c - 48)
    } else if (c === 46 /* . */ && !inFraction) {
      inFraction = true
    } else {
      fail("is not a decimal number")
    }
  }
  if (!sawDigit) fail("is not a decimal number")
  if (integerDigits > precision - scale) fail(`does not fit decimal(${precision},${scale})`)
  if (integerDigits + scale <= 15) {
    const unscaled = value * powersOfTen[scale - fractionDigits]!
    return negative && unscaled !== 0 ? -unscaled : unscaled
  }
  // Long values: redo exactly with BigInt.
  const body = text.replace(/^[+-]/, "")
  const dot = body.indexOf(".")
  const integerPart = dot < 0 ? body : body.slice(0, dot)
  const fractionPart = dot < 0 ? "" : body.slice(dot + 1, dot + 1 + scale)
  const unscaled = BigInt((integerPart + fractionPart.padEnd(scale, "0")).replace(/^0+(?=\d)/, "") || "0")
  return negative ? -unscaled : unscaled
}

/** Writes a 128-bit two's complement value into 4 little-endian 32-bit words. */
export const writeDecimalWords = (words: Uint32Array, row: number, value: number | bigint): void => {
  const at = row * 4
  if (typeof value === "number") {
    words[at] = value >>> 0
    words[at + 1] = Math.floor(value / twoPow32) >>> 0
    const fill = value < 0 ? 0xffffffff : 0
    words[at + 2] = fill
    words[at + 3] = fill
    return
  }
  let v = BigInt.asUintN(128, value)
  for (let k = 0; k < 4; k++) {
    words[at + k] = Number(v & 0xffffffffn)
    v >>= 32n
  }
}
