import { useI18n } from 'vue-i18n'
import type { FeeAssignment, FeeItem, FeeStandard } from './fee-config.ts'
import { yuan } from './money.ts'

/** A decimal string without the zeros after `keep` places: '2.8000' → '2.80', '1.0000' → '1' (no float). */
export function trimmed(value: string, keep = 2) {
  const [whole, frac = ''] = value.split('.')
  let digits = frac
  while (digits.length > keep && digits.endsWith('0')) digits = digits.slice(0, -1)
  return digits ? `${whole}.${digits}` : (whole ?? value)
}

/** Prices have up to 4 places: the hub's digits, the zeros beyond the fen left out. */
export const priceOf = (price: string) => trimmed(price)

/** What an assignment's target is called: a building's code, a unit's code, a customer's name. */
export interface TargetNames {
  building(id: string): string | undefined
  unit(id: string): string | undefined
  customer(id: string): string | undefined
}

/** How the fee configuration reads on the page and in its forms (pages.feeItems.*). */
export function useFeeLabels() {
  const { t } = useI18n()

  function unitOf(item: FeeItem) {
    return item.meterKind ? t(`pages.feeItems.meterUnits.${item.meterKind}`) : ''
  }

  function priceText(item: FeeItem, s: FeeStandard): string {
    if (s.bands?.length) {
      let from = '0'
      const parts = s.bands.map((b) => {
        const text =
          b.upTo === null
            ? t('pages.feeItems.bandOpen', { from, price: priceOf(b.price), unit: unitOf(item) })
            : t('pages.feeItems.band', { from, to: b.upTo, price: priceOf(b.price), unit: unitOf(item) })
        from = b.upTo ?? from
        return text
      })
      return `${parts.join('；')}（${t(`pages.feeItems.tierBases.${s.tierBasis ?? 'period'}`)}）`
    }
    if (s.amount !== null) return t('pages.feeItems.perPeriod', { amount: yuan(s.amount) })
    if (s.price !== null) {
      if (item.kind === 'area') return t('pages.feeItems.perArea', { price: priceOf(s.price) })
      return t('pages.feeItems.perUse', { price: priceOf(s.price), unit: unitOf(item) || '—' })
    }
    return '—'
  }

  function validity(x: { validFrom: string; validTo: string | null }) {
    return x.validTo
      ? t('pages.feeItems.validRange', { from: x.validFrom, to: x.validTo })
      : t('pages.feeItems.validFrom', { from: x.validFrom })
  }

  function targetText(a: FeeAssignment, names: TargetNames) {
    switch (a.target) {
      case 'estate':
        return t('pages.feeItems.targets.estate')
      case 'building':
        return t('pages.feeItems.targets.building', { code: names.building(a.buildingId ?? '') ?? '—' })
      case 'use':
        return t('pages.feeItems.targets.use', { use: t(`pages.feeItems.uses.${a.unitUse ?? 'other'}`) })
      case 'unit': {
        const code = names.unit(a.unitId ?? '')
        return code ? t('pages.feeItems.targets.unitCode', { code }) : t('pages.feeItems.targets.unit')
      }
      default: {
        const name = names.customer(a.customerId ?? '')
        return name
          ? t('pages.feeItems.targets.customerName', { name })
          : t('pages.feeItems.targets.customer')
      }
    }
  }

  function lateFeeText(item: FeeItem) {
    if (/^0*(\.0*)?$/.test(item.lateFeeDailyRate)) return t('pages.feeItems.noLateFee')
    return t('pages.feeItems.lateFee', {
      rate: trimmed(item.lateFeeDailyRate, 0),
      grace: item.lateFeeGraceDays,
      cap: item.lateFeeCapRatio === null ? '—' : trimmed(item.lateFeeCapRatio, 0),
    })
  }

  return { t, unitOf, priceText, validity, targetText, lateFeeText }
}
