/**
 * The last N event ids seen per controller, for de-duplication. Controllers retry until
 * they get a 2xx, so a reply lost on the way back makes them send the same event again;
 * the window only needs to outlast a controller's retry backlog, not all history.
 */
export class RecentEventIds {
  readonly #capacity: number
  // A Set iterates in insertion order, so its first value is the oldest id: a FIFO for free.
  readonly #byController = new Map<string, Set<string>>()

  constructor(capacityPerController: number) {
    if (!Number.isInteger(capacityPerController) || capacityPerController < 1) {
      throw new RangeError(`dedupWindow must be a positive integer, not ${capacityPerController}`)
    }
    this.#capacity = capacityPerController
  }

  has(controllerId: string, eventId: string): boolean {
    return this.#byController.get(controllerId)?.has(eventId) ?? false
  }

  add(controllerId: string, eventId: string): void {
    let ids = this.#byController.get(controllerId)
    if (!ids) {
      ids = new Set()
      this.#byController.set(controllerId, ids)
    }
    ids.add(eventId)
    if (ids.size > this.#capacity) {
      const oldest = ids.values().next().value
      if (oldest !== undefined) ids.delete(oldest)
    }
  }

  /** Forget an id whose delivery failed, so the controller's retry is delivered. */
  delete(controllerId: string, eventId: string): void {
    this.#byController.get(controllerId)?.delete(eventId)
  }
}
