/**
 * Unix cron (5 fields: minute hour day-of-month month day-of-week, UTC) → Quartz cron as Airbyte
 * takes it (`seconds minutes hours day-of-month month day-of-week`).
 *
 * Differences handled:
 * - Quartz has a seconds field: always `0`.
 * - Quartz wants `?` in exactly one of day-of-month / day-of-week; Unix cron has no `?` and
 *   treats two restricted day fields as "either matches", which Quartz cannot express.
 * - Day-of-week numbering: Unix 0-7 (0 and 7 = Sunday, 1 = Monday), Quartz 1-7 (1 = Sunday).
 *   Days are written by name (`MON-FRI`) so the result needs no numbering at all.
 * - Airbyte runs a connection at most once an hour, so the minute field must name one minute.
 *
 * Pure: no Effect, no I/O.
 */

export type CronConversion =
  | { readonly ok: true; readonly quartz: string }
  | { readonly ok: false; readonly reason: string }

interface FieldSpec {
  readonly name: string
  readonly min: number
  readonly max: number
  readonly names?: ReadonlyArray<string>
}

const monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
const dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

const minuteSpec: FieldSpec = { name: "minute", min: 0, max: 59 }
const hourSpec: FieldSpec = { name: "hour", min: 0, max: 23 }
const dayOfMonthSpec: FieldSpec = { name: "day-of-month", min: 1, max: 31 }
const monthSpec: FieldSpec = { name: "month", min: 1, max: 12, names: monthNames }
// 7 is accepted as a second Sunday, as in Vixie cron.
const dayOfWeekSpec: FieldSpec = { name: "day-of-week", min: 0, max: 7, names: dayNames }

class FieldError {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

const parseValue = (text: string, spec: FieldSpec): number => {
  if (/^\d+$/.test(text)) {
    const value = Number(text)
    if (value < spec.min || value > spec.max) {
      throw new FieldError(`${spec.name} value ${value} is outside ${spec.min}-${spec.max}`)
    }
    return value
  }
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1
  if (index < 0) throw new FieldError(`${spec.name} value "${text}" is not a number or a known name`)
  // Month names are 1-based, day names 0-based (SUN = 0).
  return spec === monthSpec ? index + 1 : index
}

/** Expands one field to the set of values it matches, refusing anything Unix cron does not know. */
const expandField = (field: string, spec: FieldSpec): ReadonlyArray<number> => {
  if (field.length === 0 || field.length > 100) throw new FieldError(`${spec.name} field is empty or too long`)
  const values = new Set<number>()
  for (const part of field.split(",")) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(part)
    if (match === null) throw new FieldError(`${spec.name} field part "${part}" is not valid cron syntax`)
    const [, range, stepText] = match
    const step = stepText === undefined ? 1 : Number(stepText)
    if (step < 1 || step > spec.max + 1) throw new FieldError(`${spec.name} step ${stepText} is out of range`)
    let from: number
    let to: number
    if (range === "*") {
      from = spec.min
      to = spec.max
    } else if (range!.includes("-")) {
      const bounds = range!.split("-")
      if (bounds.length !== 2) throw new FieldError(`${spec.name} range "${range}" is not valid`)
      from = parseValue(bounds[0]!, spec)
      to = parseValue(bounds[1]!, spec)
      if (from > to) throw new FieldError(`${spec.name} range "${range}" runs backwards`)
    } else {
      from = parseValue(range!, spec)
      // `5/15` means "from 5 to the end, every 15", as in Vixie cron and Quartz.
      to = stepText === undefined ? from : spec.max
    }
    for (let value = from; value <= to; value += step) values.add(value)
  }
  return [...values].sort((a, b) => a - b)
}

const isUnrestricted = (field: string) => field === "*" || field === "?"

/** Writes day-of-week values as Quartz day names, collapsing runs into ranges (`MON-FRI`). */
const quartzDaysOfWeek = (days: ReadonlyArray<number>): string => {
  const set = [...new Set(days.map((day) => day % 7))].sort((a, b) => a - b)
  if (set.length === 7) return "*"
  const parts: Array<string> = []
  let start = 0
  while (start < set.length) {
    let end = start
    while (end + 1 < set.length && set[end + 1] === set[end]! + 1) end++
    const first = dayNames[set[start]!]!
    const last = dayNames[set[end]!]!
    parts.push(end === start ? first : end === start + 1 ? `${first},${last}` : `${first}-${last}`)
    start = end + 1
  }
  return parts.join(",")
}

/** Normalises a field Quartz reads the same way as Unix cron (month names upper-cased). */
const passThrough = (field: string) => field.toUpperCase()

export const unixCronToQuartz = (expression: string): CronConversion => {
  const fields = expression.trim().split(/\s+/)
  if (fields.length !== 5) {
    return {
      ok: false,
      reason: `syncSchedule must be a 5-field cron expression (minute hour day-of-month month day-of-week), got "${expression}"`
    }
  }
  const [minute, hour, dayOfMonth, month, dayOfWeek] = fields as [string, string, string, string, string]
  try {
    const minutes = expandField(minute, minuteSpec)
    if (minutes.length !== 1) {
      return {
        ok: false,
        reason: `syncSchedule "${expression}" runs ${minutes.length} times an hour; Airbyte runs a connection at most once an hour, so the minute field must name a single minute`
      }
    }
    expandField(hour, hourSpec)
    expandField(month, monthSpec)
    const days = isUnrestricted(dayOfMonth) ? null : expandField(dayOfMonth, dayOfMonthSpec)
    const weekdays = isUnrestricted(dayOfWeek) ? null : expandField(dayOfWeek, dayOfWeekSpec)
    if (days !== null && weekdays !== null) {
      return {
        ok: false,
        reason: `syncSchedule "${expression}" restricts both day-of-month and day-of-week (meaning either one); Airbyte's schedules cannot express that, restrict only one of them`
      }
    }
    const quartzDayOfMonth = days === null ? (weekdays === null ? "*" : "?") : passThrough(dayOfMonth)
    const quartzDayOfWeek = weekdays === null ? "?" : quartzDaysOfWeek(weekdays)
    // A restricted day-of-week that covers every day is the same as none.
    const [dom, dow] = quartzDayOfWeek === "*" ? ["*", "?"] : [quartzDayOfMonth, quartzDayOfWeek]
    return { ok: true, quartz: ["0", String(minutes[0]), passThrough(hour), dom, passThrough(month), dow].join(" ") }
  } catch (error) {
    if (error instanceof FieldError) return { ok: false, reason: `Invalid syncSchedule "${expression}": ${error.reason}` }
    throw error
  }
}
