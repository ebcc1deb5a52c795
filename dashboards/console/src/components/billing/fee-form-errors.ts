import { reactive, ref } from 'vue'
import { ApiError, errorText } from '../../api/client.ts'
import { useFieldErrors } from '../work-orders/form-errors.ts'

/**
 * A fee form's errors: the hub's field errors beside their fields (useFieldErrors), a band's
 * own error beside that band (`body.bands.1.price`), and a conflict (409: a code already used,
 * validity overlapping another assignment) also as a line at the top of the form, because it
 * is about other records, not about what was typed wrong. The form stays open either way.
 */
export function useFeeFormErrors(fields: readonly string[]) {
  const fieldErrors = useFieldErrors(fields)
  const conflict = ref('')
  const bandErrors = reactive<Record<number, string>>({})

  function clear() {
    fieldErrors.clear()
    conflict.value = ''
    for (const key of Object.keys(bandErrors)) delete bandErrors[Number(key)]
  }

  return {
    errors: fieldErrors.errors,
    bandErrors,
    conflict,
    clear,
    /** Errors found before sending (empty required fields): by field, and by band index. */
    local(found: Record<string, string>, bands: Record<number, string> = {}) {
      clear()
      Object.assign(fieldErrors.errors, found)
      Object.assign(bandErrors, bands)
    },
    show(error: unknown) {
      clear()
      fieldErrors.show(error)
      if (!(error instanceof ApiError)) return
      if (error.status === 409) conflict.value = errorText(error)
      let placedOnBand = false
      for (const detail of error.details) {
        const band = /^body\.bands\.(\d+)\./.exec(detail.field)
        if (band) {
          bandErrors[Number(band[1])] = detail.message
          placedOnBand = true
        }
      }
      // Shown beside its band: not a second time under the whole list.
      if (placedOnBand) delete fieldErrors.errors.bands
    },
  }
}
