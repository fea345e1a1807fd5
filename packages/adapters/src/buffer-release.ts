// Freeing the memory of an ArrayBuffer as soon as its bytes are no longer needed.

/**
 * Frees an ArrayBuffer's memory now instead of at the next full collection (ES2024, Node 22: a
 * zero-length transfer detaches it). Until then V8 counts it as external memory, and enough of
 * that brings on a full collection. Nothing may use the buffer afterwards.
 */
export const freeBuffer = (buffer: ArrayBufferLike | undefined): void => {
  const owned = buffer as (ArrayBuffer & { readonly detached: boolean; transfer(length: number): ArrayBuffer }) | undefined
  if (owned instanceof ArrayBuffer && !owned.detached) owned.transfer(0)
}
