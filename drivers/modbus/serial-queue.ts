/**
 * The Modbus bus's queue: the shared serial-line queue (serial/bus-queue.ts) with Modbus's
 * coded error. One per physical Modbus bus: modbus-serial keeps the unit id and (on serial
 * lines) the transaction id as state of the whole client, so two requests in flight on one
 * connection overwrite each other (FIELD-NOTES, Modbus), on TCP as on RS-485.
 */
import { BusQueue, type BusQueueOptions } from '../serial/bus-queue.ts'

export type SerialQueueOptions = Omit<BusQueueOptions, 'closedError'>

/** Thrown for tasks still waiting when the queue is closed. */
export class QueueClosedError extends Error {
  readonly code = 'EH_ERR_MODBUS_BUS_CLOSED'
  constructor() {
    super('bus closed')
    this.name = 'QueueClosedError'
  }
}

export class SerialQueue extends BusQueue {
  constructor(options: SerialQueueOptions = {}) {
    super({ ...options, closedError: () => new QueueClosedError() })
  }
}
