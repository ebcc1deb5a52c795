import type { EstateResource } from '../api/estate-resource.ts'

// Placeholder until the fee configuration resources land (being written now).
export const feeResources: readonly EstateResource[] = []
