import type { Kysely } from 'kysely'
import { localDate } from '../metering/cutoff.ts'
import { DEFAULT_TIME_ZONE } from '../metering/meter-read-inputs.ts'
import type { Database } from '../store/database-schema.ts'

/*
 * `dueDays` (a fee item's 缴费期限) means one thing: the days a payer has to pay a line from the
 * day it is billed. A bill run bills a month when the month ends, so its charges are due
 * `dueDays` after the period (the first day of the next month + dueDays). A line billed after
 * that date has passed (a run approved late, a correction, an adjustment) is due `dueDays` after
 * the day it is issued: nothing is overdue, and draws a late fee, on the day it is issued.
 */

/** What `dueDays` means, for every schema and page that shows it (docs/billing.md says the same). */
export const DUE_DAYS_MEANING =
  'days to pay a line from when it is billed: a bill run’s charge is due dueDays after its period ends (the first day of the next month); a line issued after that date has passed (a late run, a correction, an adjustment) is due dueDays after the day it is issued; 0 to 365, default 15'

/** The due date of a line that would be due on `billedDue`, issued on `today` (both local dates). */
export function dueDateOf(billedDue: string, today: string, dueDays: number): string {
  return billedDue >= today ? billedDue : addDays(today, dueDays)
}

/** The estate's local calendar date now: due dates and as-of dates are the estate's days. */
export async function estateToday(
  db: Kysely<Database>,
  estateId: string,
  now: Date = new Date(),
): Promise<string> {
  const estate = await db
    .selectFrom('orgNodes')
    .select('timezone')
    .where('id', '=', estateId)
    .executeTakeFirstOrThrow()
  return localDate(now.getTime(), estate.timezone ?? DEFAULT_TIME_ZONE)
}

/** 'YYYY-MM-DD' plus days (UTC calendar arithmetic). */
export function addDays(date: string, days: number): string {
  const ms = Date.parse(`${date}T00:00:00Z`) + days * 86_400_000
  return new Date(ms).toISOString().slice(0, 10)
}
