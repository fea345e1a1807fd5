import type { ColumnBatch } from "@ingest/domain"
import { parentPort } from "node:worker_threads"
import { lowerThreadPriority } from "../../threads.ts"
import { describeError } from "../errors.ts"
import { profileFile, readFile, scanCsvRange } from "../file-jobs.ts"
import { transferablesOf } from "../values/packing.ts"
import type { WorkerRequest, WorkerResponse } from "./protocol.ts"

/**
 * Parser worker thread: runs the jobs of file-jobs.ts for the main thread (see pool.ts).
 * Reads are flow-controlled: the worker sends at most `credits` batches ahead of the consumer.
 */
const port = parentPort
if (port === null) throw new Error("worker.ts must run in a worker thread")
lowerThreadPriority()

interface ActiveRead {
  credits: number
  cancelled: boolean
  wake: (() => void) | undefined
}

const reads = new Map<number, ActiveRead>()

const send = (message: WorkerResponse, transfer?: ReadonlyArray<ArrayBuffer>) => port.postMessage(message, transfer)

const sendError = (id: number, error: unknown) => {
  const { kind, message } = describeError(error)
  send({ id, type: "error", kind, message })
}

const waitForCredit = (state: ActiveRead): Promise<void> =>
  state.credits > 0 || state.cancelled ? Promise.resolve() : new Promise((resolve) => (state.wake = resolve))

const runRead = async (request: Extract<WorkerRequest, { op: "read" }>) => {
  const state: ActiveRead = { credits: request.credits, cancelled: false, wake: undefined }
  reads.set(request.id, state)
  try {
    const batches = readFile(request.request)
    for await (const batch of batches) {
      await waitForCredit(state)
      if (state.cancelled) break
      state.credits--
      // Packed columns move to the main thread: no copy, and nothing left here to collect.
      send({ id: request.id, type: "batch", batch: batch satisfies ColumnBatch }, transferablesOf(batch.columns))
    }
    send({ id: request.id, type: "done" })
  } catch (error) {
    sendError(request.id, error)
  } finally {
    reads.delete(request.id)
  }
}

port.on("message", (request: WorkerRequest) => {
  switch (request.op) {
    case "profile":
      profileFile(request.request).then(
        (profile) => send({ id: request.id, type: "profile", profile }),
        (error: unknown) => sendError(request.id, error)
      )
      return
    case "scan":
      scanCsvRange(request.request).then(
        (scan) => send({ id: request.id, type: "scan", scan }),
        (error: unknown) => sendError(request.id, error)
      )
      return
    case "read":
      void runRead(request)
      return
    case "pull":
    case "cancel": {
      const state = reads.get(request.id)
      if (state === undefined) return
      if (request.op === "pull") state.credits++
      else state.cancelled = true
      const wake = state.wake
      state.wake = undefined
      wake?.()
      return
    }
  }
})

// Tells the pool that loading is over, so start-up time does not count against a job's time cap.
send({ id: 0, type: "ready" })
