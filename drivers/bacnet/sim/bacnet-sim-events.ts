/**
 * Event notification parameters (§13.8.1 / §13.9.1) for a simulator object whose Event_State
 * changed: out-of-range (§13.3.6) for analog objects, change-of-state (§13.3.2) for binary and
 * multi-state ones. The timestamp is a date-time: the library's decoder accepts no other choice.
 */
import {
  type EventNotifyDataParams,
  EventState,
  EventType,
  NotifyType,
  ObjectType,
  PropertyStates,
  TimeStamp,
} from '@bacnet-js/client'
import { isAnalog, type SimObject, statusFlags } from './bacnet-sim-object-table.ts'

export function buildEventNotification(
  o: SimObject,
  deviceInstance: number,
  fromState: number,
  toState: number,
  message?: string,
): EventNotifyDataParams {
  const flags = statusFlags(o).value as EventNotifyDataParams['outOfRangeStatusFlags']
  const common = {
    processId: 0,
    initiatingObjectId: { type: ObjectType.DEVICE, instance: deviceInstance },
    eventObjectId: { type: o.type, instance: o.instance },
    timeStamp: { type: TimeStamp.DATETIME, value: new Date() },
    notificationClass: 1,
    priority: toState === EventState.NORMAL ? 200 : 100,
    notifyType: NotifyType.ALARM,
    ackRequired: false,
    fromState,
    toState,
    ...(message ? { messageText: message } : {}),
  }
  if (isAnalog(o)) {
    return {
      ...common,
      eventType: EventType.OUT_OF_RANGE,
      outOfRangeExceedingValue: Number(o.value),
      outOfRangeStatusFlags: flags,
      outOfRangeDeadband: 0,
      outOfRangeExceededLimit: Number(o.value),
    }
  }
  return {
    ...common,
    eventType: EventType.CHANGE_OF_STATE,
    changeOfStateNewState: {
      type: typeof o.value === 'boolean' ? PropertyStates.BINARY_VALUE : PropertyStates.STATE,
      state: Number(o.value),
    },
    changeOfStateStatusFlags: flags,
  }
}
