import type { EstateResource } from '../kernel/estate-resource.ts'
import { feeAssignmentResource } from './fee-assignment-resource.ts'
import { feeItemResource } from './fee-item-resource.ts'
import { feeStandardResource } from './fee-standard-resource.ts'

/** Fee configuration (issue 5): items, their standards, and whom the standards apply to. */
export const feeResources: readonly EstateResource[] = [
  feeItemResource,
  feeStandardResource,
  feeAssignmentResource,
]
