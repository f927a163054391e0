// Type declarations for live.js, the live-go browser client.

// ---------------------------------------------------------------- constants

/** Message type names (generated from the Go server). */
export declare const TYPES: Readonly<{
  COMPONENT_MOUNT: 'COMPONENT_MOUNT';
  COMPONENT_UNMOUNT: 'COMPONENT_UNMOUNT';
  COMPONENT_REHYDRATE: 'COMPONENT_REHYDRATE';
  CALL_ACTION: 'CALL_ACTION';
  PROPERTY_UPDATE: 'PROPERTY_UPDATE';
  AUTH: 'AUTH';
  ROOM_JOIN: 'ROOM_JOIN';
  ROOM_LEAVE: 'ROOM_LEAVE';
  ROOM_EMIT: 'ROOM_EMIT';
  ROOM_STATE_SET: 'ROOM_STATE_SET';
  ROOM_STATE_GET: 'ROOM_STATE_GET';
  FILE_UPLOAD_START: 'FILE_UPLOAD_START';
  FILE_UPLOAD_CHUNK: 'FILE_UPLOAD_CHUNK';
  FILE_UPLOAD_COMPLETE: 'FILE_UPLOAD_COMPLETE';
  PING: 'PING';
  CONNECTION_ESTABLISHED: 'CONNECTION_ESTABLISHED';
  AUTH_RESPONSE: 'AUTH_RESPONSE';
  MESSAGE_RESPONSE: 'MESSAGE_RESPONSE';
  ACTION_RESPONSE: 'ACTION_RESPONSE';
  COMPONENT_REHYDRATED: 'COMPONENT_REHYDRATED';
  STATE_UPDATE: 'STATE_UPDATE';
  STATE_DELTA: 'STATE_DELTA';
  STATE_REHYDRATED: 'STATE_REHYDRATED';
  STATE_SIGNATURE: 'STATE_SIGNATURE';
  ERROR: 'ERROR';
  BROADCAST: 'BROADCAST';
  ROOM_JOINED: 'ROOM_JOINED';
  ROOM_LEFT: 'ROOM_LEFT';
  ROOM_STATE: 'ROOM_STATE';
  ROOM_EVENT: 'ROOM_EVENT';
  ROOM_SYSTEM: 'ROOM_SYSTEM';
  FILE_UPLOAD_START_RESPONSE: 'FILE_UPLOAD_START_RESPONSE';
  FILE_UPLOAD_PROGRESS: 'FILE_UPLOAD_PROGRESS';
}>;

/** Reserved room event names. */
export declare const EVENTS: Readonly<{
  ROOM_JOINED: '$room:joined';
  STATE_UPDATE: '$state:update';
  SUB_JOIN: '$sub:join';
  SUB_LEAVE: '$sub:leave';
}>;

/** Close codes. */
export declare const CLOSE: Readonly<{
  NORMAL: 1000;
  GOING_AWAY: 1001;
  ABNORMAL: 1006;
  POLICY_VIOLATION: 1008;
  ORIGIN_REJECTED: 4003;
  CLIENT_AWAY: 4000;
}>;

/** Default HTTP paths. */
export declare const PATHS: Readonly<{ PREFIX: string; WS: string; SSE: string; HTTP: string }>;

/** Server limits the client respects. */
export declare const LIMITS: Readonly<{
  PROTOCOL_VERSION: number;
  MAX_MESSAGE_SIZE: number;
  MAX_JSON_DEPTH: number;
  DEFAULT_CHUNK_SIZE: number;
  MIN_UPLOAD_CHUNK_SIZE: number;
  MAX_UPLOAD_CHUNK_SIZE: number;
  MAX_ROOM_NAME_LENGTH: number;
  MAX_ROOMS_PER_CONNECTION: number;
  ROOM_ID_PATTERN: string;
  MAX_STATE_AGE_MS: number;
}>;

/** Client defaults. */
export declare const CLIENT: Readonly<{
  REQUEST_TIMEOUT_MS: number;
  AUTH_TIMEOUT_MS: number;
  ROOM_TIMEOUT_MS: number;
  REHYDRATE_TIMEOUT_MS: number;
  HEARTBEAT_MS: number;
  RECONNECT_BASE_MS: number;
  RECONNECT_CAP_MS: number;
  SSE_OPEN_TIMEOUT_MS: number;
  UNROUTED_PER_COMPONENT: number;
  UNROUTED_COMPONENTS: number;
  UNROUTED_TTL_MS: number;
  MSGPACK_MAX_DEPTH: number;
  STORAGE_PREFIX: string;
  STORAGE_TTL_MS: number;
  REHYDRATE_TTL_MS: number;
  SESSION_HEADER: string;
  REHYDRATION_REQUIRED: string;
}>;

// -------------------------------------------------------------------- types

/** A decoded JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A component or room state object. */
export type State = Record<string, any>;

/** A server message (one JSON object of a text frame). */
export interface ServerMessage {
  type: string;
  componentId?: string;
  requestId?: string;
  success?: boolean;
  result?: any;
  error?: string;
  payload?: any;
  /** live-go extension: per-component state sequence number. */
  seq?: number;
  [key: string]: any;
}

/** Signed state as issued by the server (spec §3.1). */
export interface SignedState {
  data: string;
  signature: string;
  timestamp: number;
  version: number;
  componentId: string;
  nonce?: string;
  compressed?: boolean;
  encrypted?: boolean;
}

/** The value stored in localStorage under `fluxstack_component_<name>`. */
export interface PersistedEntry {
  componentName: string;
  signedState: SignedState;
  room?: string;
  userId?: string;
  lastUpdate: number;
}

/** Minimal Storage interface (localStorage). */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** Transport URLs. */
export interface Endpoints {
  url: string;
  sse: string;
  http: string;
}

/** Callbacks a transport reports to. */
export interface TransportHandlers {
  open(): void;
  message(data: string | Uint8Array): void;
  close(code: number, reason: string): void;
}

/** A started transport. */
export interface Transport {
  name?: string;
  send(data: string | Uint8Array): void;
  /** final: the client is done for good (WebSocket: close with 1000, the server ends its components at once); otherwise it means to come back (close with CLIENT_AWAY 4000: they are kept for a resume). */
  close(final?: boolean): void;
}

/** Injected environment handed to transport factories. */
export interface TransportEnv {
  WebSocket?: typeof WebSocket;
  fetch?: typeof fetch;
  storage: StorageLike | null;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  now(): number;
  random(): number;
}

/** Creates a transport; it must call handlers.close once unless close() was called. */
export type TransportFactory = (endpoints: Endpoints, handlers: TransportHandlers, env: TransportEnv) => Transport;

export type TransportName = 'websocket' | 'sse' | 'http';

/** Options of connect(). Every field is optional. */
export interface ConnectOptions {
  /** WebSocket URL (ws, wss, http(s) or a path). Default ws(s)://<location.host>/api/live/ws. */
  url?: string;
  /** SSE endpoint. Default: url with http(s) scheme and final /ws replaced by /sse. */
  sseUrl?: string;
  /** Long-poll endpoint. Default: url with final /ws replaced by /http. */
  httpUrl?: string;
  /** Transport or fallback chain. Default 'websocket'; 'auto' = websocket → sse → http. */
  transport?: TransportName | 'auto' | TransportFactory | Array<TransportName | TransportFactory>;
  /** Credentials sent as AUTH after each CONNECTION_ESTABLISHED. */
  auth?: Record<string, unknown>;
  /** Connect immediately. Default true. */
  autoConnect?: boolean;
  /** First reconnect delay in ms. Default 1000. */
  reconnectInterval?: number;
  /** Backoff ceiling in ms. Default 16000. */
  maxReconnectDelay?: number;
  /** Random extra delay as a fraction of the delay (0–1). Default 0.2. */
  reconnectJitter?: number;
  /** Give up after this many consecutive failed attempts. Default Infinity (0 = Infinity). */
  maxReconnectAttempts?: number;
  /** PING interval in ms (0 disables). Default 30000. */
  heartbeatInterval?: number;
  /** Default request timeout in ms. Default 10000. */
  requestTimeout?: number;
  /** Persist signed states in storage (spec §3.9). Default true. */
  persist?: boolean;
  /** Storage to persist to. Default globalThis.localStorage (none outside browsers). */
  storage?: StorageLike | null;
  WebSocket?: typeof WebSocket;
  fetch?: typeof fetch;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  clearTimeout?: (id: unknown) => void;
  now?: () => number;
  random?: () => number;
  /** Target of the `online` listener; null disables it. Default globalThis.window. */
  window?: { addEventListener(t: string, fn: () => void): void; removeEventListener(t: string, fn: () => void): void } | null;
  /** Target of the `visibilitychange` listener; null disables it. Default globalThis.document. */
  document?: { visibilityState?: string; addEventListener(t: string, fn: () => void): void; removeEventListener(t: string, fn: () => void): void } | null;
  /** Location used to derive the default URL. Default globalThis.location. */
  location?: { protocol: string; host: string } | null;
}

export type ConnectionStatus = 'idle' | 'connecting' | 'open' | 'ready' | 'disconnected' | 'closed';

/** Observable connection state. */
export interface ConnectionState {
  status: ConnectionStatus;
  connected: boolean;
  connecting: boolean;
  /** Open, CONNECTION_ESTABLISHED received and AUTH (if any) done. */
  ready: boolean;
  transport: TransportName | 'custom' | null;
  connectionId: string | null;
  authenticated: boolean;
  session: Record<string, any> | null;
  error: string | null;
}

export interface AuthResult {
  authenticated: boolean;
  session: Record<string, any> | null;
  error?: string;
}

export interface RequestOptions {
  /** Timeout in ms. Default: the connection's requestTimeout. */
  timeout?: number;
  /** Resolve with the reply even when it reports failure. */
  raw?: boolean;
  /** Use this requestId instead of a fresh one. */
  requestId?: string;
}

export interface MountOptions {
  /** Mount room (payload.room). */
  room?: string;
  debugLabel?: string;
  /** Use the storage slot of this component name. Default true. */
  persist?: boolean;
  /** Rehydrate from a persisted signed state before mounting. Default true. */
  rehydrate?: boolean;
  /** Send payload.seq on reconnect to resume the same instance (live-go). Default true. */
  resume?: boolean;
}

export interface ConnectionEvents {
  state: (state: ConnectionState) => void;
  open: () => void;
  ready: () => void;
  close: (info: { code: number; reason: string }) => void;
  message: (msg: ServerMessage) => void;
  auth: (result: AuthResult) => void;
  error: (err: unknown) => void;
}

// ------------------------------------------------------------------ classes

/** Error type of every rejection produced by the client. */
export declare class LiveError extends Error {
  constructor(message: string, info?: { code?: number; reply?: ServerMessage; lost?: boolean; timeout?: boolean });
  /** Close code, for connection errors. */
  code?: number;
  /** The server reply that failed, if any. */
  reply?: ServerMessage;
  /** The connection dropped while the request was pending. */
  lost: boolean;
  /** The request timed out. */
  timeout: boolean;
}

/** Creates a connection (and connects unless autoConnect is false). */
export declare function connect(options?: ConnectOptions): LiveConnection;

export declare class LiveConnection {
  constructor(options?: ConnectOptions);
  readonly options: Readonly<Required<Pick<ConnectOptions, 'requestTimeout' | 'heartbeatInterval'>>> & ConnectOptions;
  readonly endpoints: Endpoints;
  readonly state: Readonly<ConnectionState>;
  readonly router: Router;
  on<K extends keyof ConnectionEvents>(event: K, fn: ConnectionEvents[K]): () => void;
  connect(): void;
  /** Closes without reconnecting until connect(); over WebSocket the server keeps the components for a resume. */
  disconnect(): void;
  reconnect(): void;
  /** Closes for good; pending requests reject, handles are unmounted locally. */
  close(): void;
  /** Reconnects now if not connected (what `online`/`visibilitychange` do). */
  reconnectNow(): void;
  /** Resolves when connected, established and authenticated (if credentials are set). */
  ready(): Promise<LiveConnection>;
  authenticate(credentials: Record<string, unknown> | null): Promise<AuthResult>;
  /** Sends a message (fire-and-forget). Throws LiveError('Not connected'). */
  send(msg: Record<string, unknown>): void;
  /** Sends msg with requestId + expectResponse and resolves with the reply. */
  request(msg: Record<string, unknown>, opts?: RequestOptions): Promise<ServerMessage>;
  /** Sends a binary frame and resolves with the reply carrying requestId. */
  requestBinary(bytes: Uint8Array, requestId: string, opts?: RequestOptions): Promise<ServerMessage>;
  mount<S extends State = State>(name: string, props?: Record<string, unknown>, opts?: MountOptions): Promise<ComponentHandle<S>>;
  room<S extends State = State>(componentId: string, roomId: string): RoomHandle<S>;
}

export type HandleStatus = 'mounting' | 'ready' | 'disconnected' | 'recovering' | 'error' | 'unmounted';

export interface CallOptions {
  timeout?: number;
  /** Key for exactly-once retries. Default: a fresh random key. */
  idempotencyKey?: string;
  /** Retry once with the same key after a resume. Default true. */
  retry?: boolean;
}

export interface UploadProgress {
  uploadId: string;
  chunkIndex: number;
  totalChunks: number;
  bytesUploaded: number;
  totalBytes: number;
  /** 0–100. */
  progress: number;
}

export interface UploadOptions {
  /** Bytes per chunk (1 … 1 MiB). Default 65536. */
  chunkSize?: number;
  /** Send binary chunk frames (default) or base64 JSON chunks (false). */
  binary?: boolean;
  filename?: string;
  /** MIME type. Default file.type or application/octet-stream. */
  type?: string;
  uploadId?: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
  timeout?: number;
}

export interface UploadResult {
  uploadId: string;
  filename: string;
  fileUrl?: string;
}

/** A mounted server component and its mirrored state. */
export declare class ComponentHandle<S extends State = State> {
  readonly connection: LiveConnection;
  readonly name: string;
  readonly props: Record<string, unknown>;
  /** Current server-assigned id (changes after a rehydrate or re-mount). */
  readonly id: string | null;
  /** Current state; replaced (never mutated) on every change. */
  readonly state: S;
  /** Newest signed state received. */
  readonly signedState: SignedState | null;
  /** Last state sequence number (live-go servers only). */
  readonly seq: number | undefined;
  readonly status: HandleStatus;
  readonly error: unknown;
  /** The last recovery resumed the same server instance. */
  readonly resumed: boolean;
  call<R = any>(action: string, payload?: unknown, opts?: CallOptions): Promise<R>;
  /** Fire-and-forget action call. Throws LiveError('Not connected'). */
  fire(action: string, payload?: unknown): void;
  /** PROPERTY_UPDATE. */
  set<K extends keyof S & string>(property: K, value: S[K], opts?: { timeout?: number }): Promise<void>;
  /** Messages routed to this component by type (custom emits, 'ERROR', 'BROADCAST', 'STATE_DELTA', …). */
  on(event: string, fn: (payload: any, msg: ServerMessage) => void): () => void;
  onChange(fn: (state: S, delta: Partial<S> | null) => void): () => void;
  onStatus(fn: (status: HandleStatus, error: unknown) => void): () => void;
  onBinary(fn: (payload: Uint8Array) => void): () => void;
  room<R extends State = State>(roomId: string): RoomHandle<R>;
  upload(file: Blob | ArrayBuffer | Uint8Array, opts?: UploadOptions): Promise<UploadResult>;
  /** COMPONENT_UNMOUNT; {forget: true} also deletes the persisted signed state. */
  unmount(opts?: { forget?: boolean }): Promise<void>;
}

/** A room as seen from one component. */
export declare class RoomHandle<S extends State = State> {
  readonly connection: LiveConnection;
  readonly componentId: string;
  readonly id: string;
  readonly joined: boolean;
  readonly state: S;
  /** Member count from the last presence event. */
  readonly count: number | undefined;
  join(initialState?: Partial<S>): Promise<S>;
  leave(): Promise<void>;
  emit(event: string, data?: unknown): void;
  setState(updates: Partial<S>): void;
  fetchState(): Promise<S>;
  on(event: string, fn: (data: any, msg: ServerMessage) => void): () => void;
  /** 'sub:join' | 'sub:leave' ({subscriberId, count}), 'state:change' (state, changes), 'room:joined'. */
  onSystem(name: string, fn: (data: any, msg?: any) => void): () => void;
}

// ------------------------------------------------------- pure building blocks

/** Applies a delta by the protocol's merge rules; returns a new object. */
export declare function applyDelta<S extends State>(state: S, delta: Record<string, unknown>): S;

export declare function backoffDelay(
  attempt: number,
  opts?: { base?: number; cap?: number; jitter?: number; random?: () => number },
): number;

export declare function generateId(length?: number): string;
export declare function bytesToBase64(bytes: Uint8Array): string;
export declare function base64ToBytes(text: string): Uint8Array;

export declare function storageKey(name: string): string;
export declare function isSignedState(s: unknown): s is SignedState;
export declare function savePersisted(
  storage: StorageLike | null,
  name: string,
  entry: { signedState: SignedState; room?: string; userId?: string },
  now?: number,
): boolean;
export declare function loadPersisted(storage: StorageLike | null, name: string, now?: number, maxAge?: number): PersistedEntry | null;
export declare function loadRehydratable(storage: StorageLike | null, name: string, now?: number): PersistedEntry | null;
export declare function clearPersisted(storage: StorageLike | null, name: string): void;

export declare function decodeMsgpack(bytes: Uint8Array, maxDepth?: number): unknown;

export interface RoomFrame {
  kind: 2 | 3;
  componentId: string;
  roomId: string;
  event: string;
  payload: Uint8Array;
}
export declare function parseRoomFrame(bytes: Uint8Array): RoomFrame | null;
export declare function parseComponentFrame(bytes: Uint8Array): { componentId: string; payload: Uint8Array } | null;
export declare function roomFrameMessage(frame: RoomFrame, maxDepth?: number): ServerMessage | null;
export declare function encodeUploadChunk(header: Record<string, unknown>, data: Uint8Array): Uint8Array;

export declare class SseParser {
  constructor(onEvent: (event: string, data: string) => void, maxBytes?: number);
  push(chunk: string): void;
}

export declare class UnroutedBuffer {
  constructor(opts?: { perComponent?: number; maxComponents?: number; ttl?: number; now?: () => number });
  push(componentId: string, msg: ServerMessage): void;
  take(componentId: string): ServerMessage[];
  prune(): void;
  clear(): void;
  readonly size: number;
}

export declare class Router {
  constructor(opts?: { perComponent?: number; maxComponents?: number; ttl?: number; now?: () => number });
  readonly buffer: UnroutedBuffer;
  register(componentId: string, fn: (msg: ServerMessage) => void): void;
  unregister(componentId: string, fn?: (msg: ServerMessage) => void): void;
  expect(requestId: string, resolve: (msg: ServerMessage) => void, reject: (err: LiveError) => void, raw?: boolean): void;
  forget(requestId: string): void;
  rejectAll(err: Error): void;
  dispatch(msg: ServerMessage): void;
}

export declare function deriveEndpoints(
  opts?: { url?: string; sseUrl?: string; httpUrl?: string },
  location?: { protocol: string; host: string } | null,
): Endpoints;

/** Built-in transport factories. */
export declare const TRANSPORTS: Readonly<Record<TransportName, TransportFactory>>;
