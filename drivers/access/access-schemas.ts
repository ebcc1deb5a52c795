/** How an access controller is named and how its doors are addressed (via the registry). */
import { Type } from 'typebox'
import { strict } from '../contract/point-parts.ts'

export const accessConnection = Type.Object(
  { controllerId: Type.String({ minLength: 1, maxLength: 64 }) },
  strict,
)
export const accessAddress = Type.Object({ door: Type.String({ minLength: 1, maxLength: 64 }) }, strict)
