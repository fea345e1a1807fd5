import { describe, expect, it } from "vitest"
import { ColumnInference } from "../../packages/adapters/src/formats/values/inference.ts"

// Large CSV files are profiled in parts whose column inferences are merged: whatever the cut,
// the merge must infer what one pass over all the values does.

const columns: Record<string, ReadonlyArray<string>> = {
  "integers, then decimals": ["1", "", "22", "-3", "4.5", "NULL", "66.125"],
  "decimals, then exponents": ["1.5", "2.25", "1e3", "7"],
  "dates, then timestamps": ["2024-01-02", "", "2024-01-03 04:05:06", "2024-02-01"],
  "day-first dates": ["01/02/2024", "13/02/2024", "", "28/02/2024"],
  "ambiguous dates with both separators": ["01/02/2024", "03.04.2024", "05/06/2024"],
  "zoned and naive timestamps": ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05"],
  "booleans, then text": ["true", "false", "", "maybe"],
  "numbers, then dates": ["1", "2", "2024-01-01"],
  "nulls only at first": ["", "NULL", "N/A", "5", "6"],
  "nulls only": ["", "NA", ""],
  "many distinct samples": ["a", "b", "a", "c", "d", "e", "f", "g"],
  "huge integers": ["1", "92233720368547758070", "3"]
}

describe("merged column inference", () => {
  for (const [name, values] of Object.entries(columns)) {
    it(`${name}: every cut infers what one pass does`, () => {
      const whole = new ColumnInference(true)
      whole.observeAll(values, values.length)
      const expected = whole.result(values.length)
      for (let cut = 0; cut <= values.length; cut++) {
        const first = new ColumnInference(true)
        first.observeAll(values.slice(0, cut), cut)
        const second = new ColumnInference(true)
        second.observeAll(values.slice(cut), values.length - cut)
        const merged = ColumnInference.fromState(first.state())
        merged.absorb(second.state())
        expect(merged.result(values.length), `cut after ${cut}`).toEqual(expected)
      }
    })
  }
})
