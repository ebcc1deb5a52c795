/**
 * The gateway's public contract (docs/protocol.md, docs/architecture.md): the MQTT wire
 * (topics, batch/ack/status schemas), the device and point schemas both sides accept, the
 * reading/event vocabulary, and the YAML config loader both processes use. The hub imports
 * this index and nothing else of the gateway (except where it runs a gateway: CLI, demo).
 */

export {
  byteOrders,
  type DeviceEvent,
  type DeviceEventType,
  deviceEventTypes,
  type PointKind,
  type PointValue,
  pointKinds,
  type Quality,
  qualities,
  type Reading,
} from '../../drivers/driver-types.ts'
export { type Ack, AckSchema, encodeAck, MAX_ACK_BYTES, type ParsedAck, parseAck } from './ack-schema.ts'
export {
  encodeBatch,
  MAX_BATCH_BYTES,
  MAX_EVENT_PAYLOAD_KEYS,
  MAX_EVENTS,
  MAX_NAME_LENGTH,
  MAX_READINGS,
  MAX_REASON_LENGTH,
  MAX_STRING_VALUE_LENGTH,
  type ParsedBatch,
  parseBatch,
  SESSION_PATTERN,
  type UplinkBatch,
  UplinkBatchSchema,
  type WireEvent,
  WireEventSchema,
  type WireReading,
  WireReadingSchema,
} from './batch-schema.ts'
export {
  ConfigError,
  type ConfigRefinement,
  loadConfig,
  type Path,
  type Problem,
  schemaProblems,
} from './config-file/load-config.ts'
export { LogConfigSchema, LogLevelSchema } from './config-file/log-config.ts'
export {
  checkPointRecord,
  connectionSchemaOf,
  type DataType,
  type DeviceProtocol,
  dataTypes,
  describeProtocols,
  type PointRecord,
  type Problem as ProtocolProblem,
  type ProtocolDescription,
  pointAddressSchemaOf,
  protocolNames,
  registerProtocol,
  registerSpan,
} from './device-schemas.ts'
export {
  encodeStatus,
  type GatewayStatus,
  MAX_STATUS_BYTES,
  type ParsedStatus,
  parseStatus,
  StatusSchema,
} from './status-schema.ts'
export {
  ALL_BATCHES_FILTER,
  ackTopic,
  batchTopic,
  commandTopic,
  GATEWAY_ID_PATTERN,
  gatewayTopic,
  HUB_SHARED_BATCH_FILTER,
  isGatewayId,
  parseTopic,
  sharedBatchFilter,
  statusTopic,
  TOPIC_QOS,
  TOPIC_ROOT,
  type TopicKind,
  topicKinds,
} from './topics.ts'
export { fromWireEvent, fromWireReading, toWireEvent, toWireReading } from './wire-codec.ts'
