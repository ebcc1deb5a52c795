import type { EstateResource } from '../api/estate-resource.ts'

// Placeholder until the alarm-rule resource lands (being written now).
export const alarmResources: readonly EstateResource[] = []
