import type { ErrorDetail, Query } from '../../api/client.ts'
import type { ResourceName } from '../../api/hub.ts'

/** A choice in a select: the value sent to the hub and its label (already translated). */
export interface Option {
  readonly value: string | number | boolean
  readonly label: string
}

/** A record of a generic estate resource (docs/api.md, Resources). */
export type ResourceRow = Record<string, unknown> & { readonly id: string }

/** A field of the create/edit drawer; `label` is a catalogue key. */
export interface FieldDef {
  readonly key: string
  readonly label: string
  readonly type: 'text' | 'textarea' | 'integer' | 'decimal' | 'select' | 'switch' | 'date' | 'remote'
  readonly required?: boolean
  /** For `select`. */
  readonly options?: () => readonly Option[]
  /** For `remote`: another resource searched by `q` (a unit, a building, a parent meter). */
  readonly remote?: {
    readonly path: ResourceName
    readonly label: (row: ResourceRow) => string
    readonly query?: () => Query
  }
  /** Only when creating (the hub's PATCH does not take it). */
  readonly createOnly?: boolean
  /** Only when editing. */
  readonly editOnly?: boolean
  /** An emptied field is sent as null when editing (else left out). */
  readonly nullable?: boolean
  /** A catalogue key for a hint under the field. */
  readonly hint?: string
  readonly min?: number
  readonly max?: number
}

/** A column of the list (and a line of a phone card); `label` is a catalogue key. */
export interface ColumnDef {
  readonly key: string
  readonly label: string
  readonly format?: (row: ResourceRow) => string
  readonly width?: number
  readonly minWidth?: number
}

/** A filter beside the search box: equality on a list filter of the resource. */
export interface FilterDef {
  readonly key: string
  readonly label: string
  readonly options: () => readonly Option[]
}

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)

/**
 * The form field an error detail names: `body.code` → `code`, and a database check such as
 * `constraint.units_area_m2_check` → `areaM2`; undefined when it names none of them.
 */
export function fieldOf(detail: ErrorDetail, keys: readonly string[]): string | undefined {
  const name = detail.field.replace(/^body\./, '')
  if (keys.includes(name)) return name
  if (detail.field.startsWith('constraint.'))
    return keys.find((key) => detail.field.includes(`_${snake(key)}_`))
  return undefined
}
