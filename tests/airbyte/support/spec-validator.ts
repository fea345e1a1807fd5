import { Ajv } from "ajv"
import { Ajv2020 } from "ajv/dist/2020.js"
import * as fs from "node:fs"
import { createRequire } from "node:module"

// js-yaml and ajv-formats come with Prism and ship no ESM types; load them the CommonJS way.
const require = createRequire(import.meta.url)
const yaml = require("js-yaml") as { safeLoad(text: string): unknown }
const addFormats = require("ajv-formats") as (ajv: unknown) => void

type Json = Record<string, unknown>

interface Operation {
  readonly requestBody?: { readonly content?: Record<string, { readonly schema?: Json }> }
  readonly responses?: Record<string, { readonly content?: Record<string, { readonly schema?: Json }> }>
}

/**
 * Validates request and response bodies against one OpenAPI document, by path template
 * (`/jobs/{jobId}`), method and status: the fake Airbyte server checks itself with it.
 */
export class SpecValidator {
  readonly #doc: Json
  readonly #ajv: Ajv | Ajv2020
  readonly #id: string
  readonly #cache = new Map<string, (data: unknown) => ReadonlyArray<string>>()

  constructor(file: string, id: string) {
    this.#doc = yaml.safeLoad(fs.readFileSync(file, "utf8")) as Json
    this.#id = id
    const openapi = String(this.#doc["openapi"] ?? "")
    const options = { strict: false, allErrors: true, validateSchema: false, logger: false as const }
    // OpenAPI 3.1 schemas are JSON Schema 2020-12; 3.0 ones are draft-04-like with `nullable`.
    this.#ajv = openapi.startsWith("3.1") ? new Ajv2020(options) : new Ajv(options)
    addFormats(this.#ajv)
    // Airbyte writes some formats in capitals (`UUID`) or uses ones ajv does not know.
    for (const format of ["UUID", "int64", "int32", "set", "float", "double"]) this.#ajv.addFormat(format, true)
    this.#ajv.addSchema({ ...this.#doc, $id: id }, id)
  }

  #operation(template: string, method: string): Operation {
    const paths = this.#doc["paths"] as Record<string, Record<string, Operation>>
    const operation = paths[template]?.[method.toLowerCase()]
    if (operation === undefined) throw new Error(`${method} ${template} is not in the spec ${this.#id}`)
    return operation
  }

  #validate(key: string, schema: Json | undefined, data: unknown): ReadonlyArray<string> {
    if (schema === undefined) return []
    let validate = this.#cache.get(key)
    if (validate === undefined) {
      const ref = schema["$ref"]
      const compiled = this.#ajv.compile(typeof ref === "string" ? { $ref: `${this.#id}${ref}` } : schema)
      validate = (value) =>
        compiled(value) ? [] : (compiled.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`)
      this.#cache.set(key, validate)
    }
    return validate(data)
  }

  /** Problems with a value checked against `#/components/schemas/<name>`. */
  component(name: string, data: unknown): ReadonlyArray<string> {
    return this.#validate(`component ${name}`, { $ref: `#/components/schemas/${name}` }, data)
  }

  /** Problems with a JSON request body; [] when valid or when the operation takes no JSON. */
  request(template: string, method: string, body: unknown): ReadonlyArray<string> {
    const schema = this.#operation(template, method).requestBody?.content?.["application/json"]?.schema
    return this.#validate(`req ${method} ${template}`, schema, body)
  }

  /** Problems with a JSON response body for a status the operation declares. */
  response(template: string, method: string, status: number, body: unknown): ReadonlyArray<string> {
    const responses = this.#operation(template, method).responses ?? {}
    const declared = responses[String(status)]
    if (declared === undefined) return [`status ${status} is not declared for ${method} ${template}`]
    const schema = declared.content?.["application/json"]?.schema
    return this.#validate(`res ${method} ${template} ${status}`, schema, body)
  }
}
