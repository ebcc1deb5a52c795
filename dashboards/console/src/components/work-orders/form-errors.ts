import { reactive } from 'vue'
import { ApiError, showError } from '../../api/client.ts'

/**
 * The hub's errors beside a form's fields: `body.note` → `errors.note` (for `<el-form-item
 * :error>`); an error naming no field of the form is shown as a message.
 */
export function useFieldErrors(fields: readonly string[]) {
  const errors = reactive<Record<string, string>>({})
  return {
    errors,
    clear() {
      for (const key of Object.keys(errors)) delete errors[key]
    },
    show(error: unknown) {
      for (const key of Object.keys(errors)) delete errors[key]
      let placed = false
      if (error instanceof ApiError)
        for (const detail of error.details) {
          const name = detail.field.replace(/^(body|query|headers)\./, '').split('.')[0] ?? ''
          const key = fields.includes(name) ? name : fields.includes(detail.field) ? detail.field : undefined
          if (key) {
            errors[key] = detail.message
            placed = true
          }
        }
      if (!placed) showError(error)
    },
  }
}
