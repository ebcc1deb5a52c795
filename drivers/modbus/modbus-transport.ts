/**
 * The seam between a bus (queue, retries, silence) and the bytes: one request out, one
 * reply back. The real implementation wraps modbus-serial; tests pass a fake.
 */

/** One Modbus request PDU (Modbus Application Protocol V1.1b3 §6). */
export type ModbusOperation =
  | { readonly functionCode: 1 | 2 | 3 | 4; readonly start: number; readonly count: number }
  | { readonly functionCode: 5; readonly start: number; readonly value: boolean }
  | { readonly functionCode: 6; readonly start: number; readonly value: number }
  | { readonly functionCode: 15; readonly start: number; readonly values: readonly boolean[] }
  | { readonly functionCode: 16; readonly start: number; readonly values: readonly number[] }

export interface OperationReply {
  /** FC3/FC4: the registers as unsigned 16-bit numbers. */
  readonly registers?: readonly number[]
  /** FC1/FC2: the bits, least significant first, padded to a whole number of bytes. */
  readonly bits?: readonly boolean[]
}

export interface ModbusTransport {
  /**
   * Sends one request to `unitId` and waits up to `timeoutMs` for its reply, connecting
   * first if needed. Rejects with a ModbusError. Callers never overlap two calls.
   */
  request(unitId: number, operation: ModbusOperation, timeoutMs: number): Promise<OperationReply>
  /** How many connections were established so far (1 after the first connect). */
  readonly connections: number
  close(): Promise<void>
}

/** Registers or coils an operation covers: what a request costs on the wire. */
export function operationCount(operation: ModbusOperation): number {
  switch (operation.functionCode) {
    case 5:
    case 6:
      return 1
    case 15:
    case 16:
      return operation.values.length
    default:
      return operation.count
  }
}

export function describeOperation(unitId: number, operation: ModbusOperation): string {
  return `unit ${unitId} FC${operation.functionCode} @${operation.start}×${operationCount(operation)}`
}
