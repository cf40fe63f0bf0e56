// The chat backend's client SDK: typed HTTP calls and a live WebSocket session for browsers and
// Node.js 20+ (no Node-only imports). See docs/protocol.md for the protocol it implements.
export { type BackoffOptions, backoffDelay } from './backoff.js';
export { ChatClient, type ClientOptions } from './client.js';
export { Emitter } from './emitter.js';
export { ChatApiError } from './errors.js';
export { ChatHttp, type HttpOptions, type PageRequest, type RequestOptions } from './http.js';
export { type Accepted, ConversationOrder } from './ordering.js';
export {
  ChatSession,
  type SessionEvents,
  type SessionOptions,
  type SessionState,
  type SocketFactory,
  type SocketLike,
} from './session.js';
export type * from './types.js';
