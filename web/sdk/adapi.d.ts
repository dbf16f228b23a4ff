/**
 * Types of the Baton host SDK (`adapi.js` / `adapi.mjs`), shaped like Bright Pattern's
 * Agent Desktop client-side JavaScript API. See docs/protocol.md for the wire protocol.
 */

/** AdApi result error codes, with Baton's additions 21 and 22. */
export declare enum ResultErrorCodes {
  not_enough_privileges = 1,
  not_logged_in = 2,
  invalid_args = 3,
  api_not_answer = 6,
  invalid_request = 7,
  timeout = 8,
  no_service = 11,
  self_call = 12,
  no_interaction = 13,
  api_method_not_implemented = 14,
  not_suitable_state = 15,
  object_not_found = 17,
  payload_too_large = 21,
  rate_limited = 22,
  unknown_error = 99,
}

/** Server error codes, carried by `ON_SERVER_ERROR`. */
export declare enum ServerErrorCodes {
  forced_logout_by_other_client = 100,
  destination_user_not_logged = 106,
  invalid_credentials = 109,
  invalid_token = 111,
}

export interface ResultError {
  code: ResultErrorCodes | ServerErrorCodes | number;
  name: string;
  message: string;
}

export type OperationResult<T> =
  | { status: 'success'; data: T }
  | { status: 'error'; error: ResultError };

/** Milliseconds since the Unix epoch (UTC). */
export type EpochMs = number;

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type AgentState = 'ready' | 'not_ready' | 'after_call_work' | 'ringing' | 'busy';
export type SettableAgentState = 'ready' | 'not_ready' | 'after_call_work';
export type Channel = 'chat' | 'voice';
export type InteractionState = 'ringing' | 'connected' | 'hold' | 'wrap_up' | 'completed';

export interface Customer {
  name: string;
  phone?: string | null;
  email?: string | null;
}

export interface Party {
  id: string;
  type: 'agent' | 'customer';
  agentId?: string | null;
  name: string;
  state: string;
  role?: 'primary' | 'consult' | 'conference' | null;
}

export interface Note { agentId: string; text: string; at: EpochMs; }

export interface ChatMessage {
  from: 'customer' | 'agent' | 'system';
  partyId?: string | null;
  name: string;
  text: string;
  at: EpochMs;
}

export interface InteractionData {
  id: string;
  channel: Channel;
  state: InteractionState;
  serviceName: string;
  customer: Customer;
  parties: Party[];
  attachedData: Record<string, Json>;
  createdAt: EpochMs;
  notes: Note[];
  messages: ChatMessage[];
  /** Why it rings when that is not a first offer, else null. */
  reason: 'transfer_rejected' | 'transfer_timeout' | 'transfer_target_logged_out' | string | null;
}

export type TransferKind = 'blind' | 'consult' | 'transfer' | 'conference' | 'merge' | 'chat_invite' | 'queue';
export type TransferPhase = 'collecting' | 'offered' | 'accepted' | 'failed';
export type TransferOutcome =
  | 'provided' | 'none' | 'timeout' | 'error' | 'invalid' | 'too_large'
  | 'no_consumer' | 'delivered' | 'acknowledged';

/** Second argument of `ON_REQUEST_TRANSFER_DATA`. */
export interface TransferRequestMeta {
  transferId: string;
  kind: TransferKind;
  target: string;
}

/** Third argument of `ON_LOAD_TRANSFER_DATA`. */
export interface TransferMeta {
  transferId: string;
  kind: TransferKind;
  fromAgentId: string;
  fromAgentName: string;
  createdAt: EpochMs;
  /** True when the data is delivered again (widget reload, host loaded later). */
  replay: boolean;
}

export interface TransferOutcomeEntry {
  integrationKey: string;
  outcome: TransferOutcome;
  bytes: number;
}

/** Argument of `ON_TRANSFER_STATUS`. */
export interface TransferStatus {
  transferId: string;
  interactionId: string;
  kind: TransferKind;
  target: string;
  phase: TransferPhase;
  outcomes: TransferOutcomeEntry[];
}

/** One leg of `getTransferHistory`. */
export interface TransferHistoryEntry {
  transferId: string;
  kind: TransferKind;
  fromAgentId: string;
  to: string;
  state: string;
  createdAt: EpochMs;
  outcomes: Array<TransferOutcomeEntry & { sha256: string | null }>;
}

export interface LoginInfo {
  agentId: string;
  username: string;
  displayName: string;
  extension: string | null;
  state: AgentState;
  notReadyReason: string | null;
}

export interface LoginState { loggedIn: boolean; agentId: string | null; username: string | null; }
export interface AgentStateInfo { state: AgentState; notReadyReason: string | null; }
export interface Team { id: string; name: string; }
export interface TeamMember { id: string; username: string; displayName: string; extension: string | null; state: AgentState; }
export interface Service { id: string; name: string; channels: Channel[]; }
export interface InteractionsState { activeInteractionId: string | null; interactions: InteractionData[]; }
export interface TransferStarted { transferId: string; }
export interface ServerError { code: number; name: string; message: string; }

/** Baton addition: argument of `ON_HOST_REFUSED`. */
export interface HostRefusal extends ServerError {
  integrationKey: string | null;
  /** This page's origin, as the widget saw it. */
  origin: string;
}

/** A transfer target: an agent's username, an agent's extension, or `service:<name>`. */
export type TransferTarget = string;

type MaybePromise<T> = T | Promise<T>;

/** Handler signature of each event. */
export interface EventHandlers {
  ON_LOGIN: (info: LoginInfo) => MaybePromise<void>;
  ON_LOGOUT: (reason: 'logout' | 'forced' | string) => MaybePromise<void>;
  ON_AGENT_STATE_CHANGE: (state: AgentStateInfo) => MaybePromise<void>;
  ON_NEW_INTERACTION: (interaction: InteractionData) => MaybePromise<void>;
  ON_INTERACTION_STATE_CHANGE: (interaction: InteractionData) => MaybePromise<void>;
  ON_INTERACTION_REMOVED: (interactionId: string) => MaybePromise<void>;
  ON_ACTIVE_INTERACTION_SWITCHED: (interactionId: string) => MaybePromise<void>;
  ON_CHAT_MESSAGE: (interactionId: string, message: ChatMessage) => MaybePromise<void>;
  /**
   * Return (or resolve with) the data to hand to the receiving agent's CRM. All handlers
   * run at once; the value of the last registered handler whose result is not `undefined`
   * wins. A throwing or rejecting handler counts as `undefined` and is logged.
   */
  ON_REQUEST_TRANSFER_DATA: (interactionId: string, meta: TransferRequestMeta) => MaybePromise<unknown>;
  /** The server is told the data was acknowledged when every handler has settled. */
  ON_LOAD_TRANSFER_DATA: (interactionId: string, data: Json, meta: TransferMeta) => MaybePromise<void>;
  ON_TRANSFER_STATUS: (status: TransferStatus) => MaybePromise<void>;
  ON_SERVER_ERROR: (error: ServerError) => MaybePromise<void>;
  /** Baton addition: the server refused this page's origin for the integration key. */
  ON_HOST_REFUSED: (refusal: HostRefusal) => MaybePromise<void>;
}

export type EventName = keyof EventHandlers;

export interface AdApiOptions {
  /** The integration key registered on the server for this CRM (its allowed origins are checked). */
  integrationKey?: string | null;
  /** Element (or selector) the widget iframe is inserted into. */
  mountRoot?: Element | string;
  /** An existing iframe (or selector) to use for the widget instead of creating one. */
  adcFrame?: HTMLIFrameElement | string;
  /** Run the widget in a hidden iframe. */
  standalone?: boolean;
  /** Do not show the widget's Accept / Reject pop-up for new interactions. */
  disableNewInteractionPopup?: boolean;
  /** Baton addition: the server's base URL; defaults to the origin this script was loaded from. */
  serverUrl?: string;
  /** Pre-fills the widget's login form (the password is always typed by the agent). */
  login?: { tenant?: string; username?: string };
}

export declare class AdApi {
  constructor(options?: AdApiOptions);
  static readonly EVENTS: { readonly [K in EventName]: K };
  static readonly ResultErrorCodes: typeof ResultErrorCodes;
  static readonly ServerErrorCodes: typeof ServerErrorCodes;
  static readonly METHODS: readonly string[];

  readonly integrationKey: string | null;
  readonly serverUrl: string;
  readonly frame: HTMLIFrameElement;

  on<E extends EventName>(event: E, handler: EventHandlers[E]): this;
  remove<E extends EventName>(event: E, handler?: EventHandlers[E]): this;
  off<E extends EventName>(event: E, handler?: EventHandlers[E]): this;

  /** Baton addition: true once the widget is connected and the server accepted this page. */
  isReady(): boolean;
  /** Baton addition: the refusal, if the server refused this page. */
  getRefusal(): HostRefusal | null;
  /** Baton addition: removes the iframe it created and stops listening. */
  destroy(): void;

  getLoginState(): Promise<OperationResult<LoginState>>;
  logout(): Promise<OperationResult<null>>;
  getAgentState(): Promise<OperationResult<AgentStateInfo>>;
  setAgentState(state: SettableAgentState, notReadyReason?: string | null): Promise<OperationResult<AgentStateInfo | null>>;
  getTeams(): Promise<OperationResult<Team[]>>;
  getTeamMembers(teamId: string): Promise<OperationResult<TeamMember[]>>;
  getServicesList(): Promise<OperationResult<Service[]>>;
  getInteractionsState(): Promise<OperationResult<InteractionsState>>;
  acceptInteraction(interactionId?: string | null): Promise<OperationResult<unknown>>;
  rejectInteraction(interactionId?: string | null): Promise<OperationResult<unknown>>;
  switchActiveInteraction(interactionId: string): Promise<OperationResult<unknown>>;
  sendChatMessage(text: string, interactionId?: string | null): Promise<OperationResult<unknown>>;
  setCallHold(hold: boolean, interactionId?: string | null): Promise<OperationResult<unknown>>;
  leaveInteraction(interactionId?: string | null): Promise<OperationResult<unknown>>;
  completeInteraction(interactionId?: string | null): Promise<OperationResult<unknown>>;
  addNote(text: string, interactionId?: string | null): Promise<OperationResult<unknown>>;
  getVariables(keys: string[], interactionId?: string | null): Promise<OperationResult<Record<string, Json>>>;
  setVariable(key: string, value: Json, interactionId?: string | null): Promise<OperationResult<unknown>>;
  blindTransfer(target: TransferTarget, customTransferData?: unknown, interactionId?: string | null): Promise<OperationResult<TransferStarted>>;
  consultCall(target: TransferTarget): Promise<OperationResult<TransferStarted>>;
  transfer(customTransferData?: unknown): Promise<OperationResult<TransferStarted>>;
  inviteToCallConference(target: TransferTarget, customTransferData?: unknown, interactionId?: string | null): Promise<OperationResult<TransferStarted>>;
  mergeAllCallsIntoConference(customTransferData?: unknown): Promise<OperationResult<TransferStarted>>;
  removeFromCallConference(partyId: string, interactionId?: string | null): Promise<OperationResult<unknown>>;
  inviteToChatConference(agentId: string, interactionId?: string | null): Promise<OperationResult<TransferStarted>>;
  removeFromChatConference(partyId: string, interactionId?: string | null): Promise<OperationResult<unknown>>;
  getTransferHistory(interactionId?: string | null): Promise<OperationResult<TransferHistoryEntry[]>>;
}

export declare const EVENTS: typeof AdApi.EVENTS;
export default AdApi;

declare global {
  interface Window {
    Baton: {
      AdApi: typeof AdApi;
      EVENTS: typeof AdApi.EVENTS;
      ResultErrorCodes: typeof ResultErrorCodes;
      ServerErrorCodes: typeof ServerErrorCodes;
      version: string;
    };
    brightpattern: { AdApi: typeof AdApi };
  }
}
