/**
 * Types of the Baton host SDK (`adapi.js` / `adapi.mjs`). The surface is Bright Pattern's
 * Agent Desktop client-side JavaScript API (names, argument order, shapes); Baton's own
 * additions are marked "Baton". docs/compatibility.md lists every method and event.
 */

/** Result error codes: Bright Pattern's, with Baton's additions 21 and 22. */
export declare enum ResultErrorCodes {
  not_enough_privileges = 1,
  not_logged_in = 2,
  invalid_args = 3,
  logged_without_phone = 4,
  banned = 5,
  api_not_answer = 6,
  invalid_request = 7,
  timeout = 8,
  no_chat_in_service = 9,
  empty_number = 10,
  no_service = 11,
  self_call = 12,
  no_interaction = 13,
  api_method_not_implemented = 14,
  not_suitable_state = 15,
  no_disposition = 16,
  object_not_found = 17,
  no_permissions_did_sms = 18,
  no_permissions_did_call = 19,
  no_channel_in_service = 20,
  /** Baton */
  payload_too_large = 21,
  /** Baton */
  rate_limited = 22,
  unknown_error = 99,
}

/** Server error codes, carried by `ON_SERVER_ERROR`. */
export declare enum ServerErrorCodes {
  forced_logout_by_other_client = 100,
  forced_logout_by_supervisor = 101,
  invalid_request = 102,
  phone_not_registered = 103,
  phone_not_in_dial_plan = 104,
  tenant_disabled = 105,
  destination_user_not_logged = 106,
  user_disabled_or_deleted = 107,
  user_already_logged_in = 108,
  invalid_credentials = 109,
  other_user_logged_with_phone = 110,
  invalid_token = 111,
  logged_users_limit_reached = 112,
  already_logged_in_with_the_same_session = 113,
  not_enough_privileges = 114,
  sip_server_error = 200,
  unknown_error = 300,
}

export interface ResultError {
  code: number;
  name: keyof typeof ResultErrorCodes | keyof typeof ServerErrorCodes;
  message?: string;
}

export type OperationResult<T = null> =
  | { status: 'success'; data: T }
  | { status: 'error'; error: ResultError };

type MaybePromise<T = void> = T | Promise<T>;

/** Milliseconds since the Unix epoch (UTC). */
export type EpochMs = number;

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export type AgentState = 'supervising' | 'ready' | 'not_ready' | 'busy' | 'after_call_work' | 'reserved' | 'ringing';
export type UserState = AgentState | 'offline';
export type InteractionState =
  | 'unknown' | 'queued' | 'ivr' | 'wrap_up' | 'wrap_up_hold' | 'delivered' | 'delivery_pending' | 'hold' | 'completed';
export type InteractionType = 'voice' | 'chat' | 'email';
export type ChatChannelType =
  | 'telegram' | 'line' | 'facebook' | 'web' | 'nexmo' | 'sms' | 'viber' | 'twitter' | 'wechat' | 'whatsapp' | 'ms_teams';
export type CallDirection = 'inbound' | 'outbound';
export type InteractionKind = 'unknown' | 'direct_call' | 'outbound' | 'scenario' | 'chat';
export type PhoneDevice =
  | 'phone_type_browser' | 'phone_type_external' | 'phone_type_hard_custom' | 'phone_type_hard_default'
  | 'phone_type_nailed' | 'phone_type_none' | 'phone_type_soft_secure' | 'phone_type_microsoft_teams'
  | 'phone_type_soft_unsecure';
export type DispositionType = 'SUCCESS' | 'FAILURE' | 'CONTINUE' | 'SPAM' | 'DO_NOT_CALL';
/** Where an interaction was started from; Baton sets `integration-api` on the ones the SDK starts. */
export type InteractionOrigination =
  | 'chat-center' | 'dialpad' | 'directory' | 'recent' | 'favorites' | 'workitem' | 'interaction'
  | 'contact-profile' | 'help' | 'conference' | 'auto' | 'integration-api' | 'internal-chat-page'
  | 'topbar' | 'supervisor-screen' | 'transfer-panel';

export interface LoginStateData {
  isLoggedIn: boolean;
  agentId?: string;
  username?: string;
  sessionId?: string;
  /** Baton */
  displayName?: string;
  /** Baton */
  tenant?: string;
}
export interface LoginData { username: string; password: string; tenant?: string; }
export interface AgentStateData { state: AgentState; reservedForIncomingInteraction: boolean; notReadyReason?: string; }
export interface ServiceData {
  id: string; name: string; useDispositions: boolean; requireDisposition: boolean;
  /** Baton */
  channels?: Array<'chat' | 'voice'>;
}
export interface DispositionTarget { service?: string; interactionId?: string; }
export interface DispositionData { id: string; code: string; name: string; type: DispositionType; }
export interface DIDNumber { id: string; number: string; isSMS: boolean; isVoice: boolean; }
export interface Team { id: string; displayName: string; isSupervised: boolean; usersCount?: number; }
export interface User {
  id: string; teamId: string; firstName: string; lastName: string;
  /** Baton: the agent's extension. */
  phone: string;
  state: UserState;
  /** Baton */
  username?: string;
  /** Baton */
  displayName?: string;
  /** Baton */
  extension?: string | null;
}
export interface CallParty { id: string; name: string; phone: string; userId?: string; }
export interface ChatParty {
  id: string; type: 'internal' | 'external'; name: string; userId?: string; contactId?: string; email?: string; phone?: string;
}
export type AttachedData = Record<string, string>;
export interface InteractionAssociatedObjectData {
  id: string; type: string; displayName: string; displayType: string; customFields: Record<string, string>;
}
export type InteractionAssociatedObject = InteractionAssociatedObjectData & { source: string };
export interface InteractionAssociatedObjectsData { list: InteractionAssociatedObject[]; selected: string[]; }

export interface InteractionData {
  interactionId: string;
  globalInteractionId?: string;
  state: InteractionState;
  type: InteractionType;
  callParties: CallParty[];
  callMuted: boolean;
  callRecording: boolean;
  chatParties: ChatParty[];
  attachedData: AttachedData;
  internal: boolean;
  interactionKind?: InteractionKind;
  phoneNumber?: string;
  email?: string;
  callDirection?: CallDirection;
  startTime?: EpochMs;
  endTime?: EpochMs;
  /** Milliseconds from startTime to endTime (or to now while it lasts). */
  duration?: number;
  description?: string;
  disposition?: string;
  service?: string;
  playbackUrl?: string;
  recordingUrl?: string;
  DNIS?: string;
  ANI?: string;
  origination?: InteractionOrigination;
  /** @deprecated in Bright Pattern's definition; always "" in Baton. */
  subject: string;
  /** @deprecated in Bright Pattern's definition. */
  associatedObjects: InteractionAssociatedObjectsData;
  /** Baton: the wire object this was mapped from (roles, customer, notes, chat transcript, …). */
  baton: BatonInteraction;
}

export type InteractionActivityData = Omit<InteractionData, 'baton'> & {
  contactName: string;
  formValues?: Record<string, string | boolean>;
};
export interface InteractionsState { activeInteractionId: string | null; interactions: InteractionData[]; }
export type InteractionScreen = Record<string, string | number | boolean | null | undefined>;
export type CustomTransferData = Record<string, string | number | boolean | undefined | null>;
export interface RescheduleData { numberToDial: string; fromTime: string; untilTime: string; timezoneCode?: string; }
export interface PhoneDeviceData { type: PhoneDevice; phone?: string; }
export interface ScreenRecordingState { allowed: boolean; active: boolean; muted: boolean; }
export interface ServerErrorData {
  code: number; name: keyof typeof ServerErrorCodes | keyof typeof ResultErrorCodes; timestamp: EpochMs; message?: string;
}
export interface PhoneCapabilities { canDial: boolean; canAnswer: boolean; canHold: boolean; canRetrieve: boolean; }
export interface PhoneData { phone: string; type: 'mobile' | 'business' | 'home' | 'fax' | 'other'; displayType?: string; }
export interface DialCandidate {
  id: string; displayName: string; phones: PhoneData[]; associatedObjects: InteractionAssociatedObjectData[];
  email?: string; avatarUrl?: string;
}
export type InitialObjects = InteractionAssociatedObjectData | InteractionAssociatedObjectData[];
export interface InitiateResult { id: string | null; error?: string; }
export type IntegrationConfig = any;

export interface ExternalKBArticleData {
  id: string; title: string; keywords: string; answer: string; notes: string; language: string;
  createdByUser: string; lastEditedByUser: string; customFields: Record<string, string>;
}
export interface ExternalKBArticleItem { id: string; type: 'article'; title: string; text: string; }
export interface ExternalKBFolderItem { id: string; type: 'folder'; title: string; }
export type ExternalKBItemData = ExternalKBArticleItem | ExternalKBFolderItem;
export type ExternalKBSearchResultData = ExternalKBArticleItem;
export interface KBFolderOptions { language?: string; folderId?: string; }
export interface SearchRecordsQuery { text: string; types: string[]; }
export interface OpenRecordOptions { inNewTab: boolean; source: 'user' | 'scenario'; }
export interface RecordsValidationResult { valid: boolean; message?: string; }
export interface RecordInfoRequest { id: string; type: string; }
export interface ActivityRecordInfo { id: string | null; caseId?: string; contactId?: string; }
export interface WebScreenPop {
  action: 'OPEN_WEB_PAGE' | 'DISPLAY_TEXT'; url: string; content: string; label: string; popUponAnswer: boolean;
  keepPopupOpenAfterFinish: boolean; popup: boolean; secondaryUrls?: { [key: number]: { label?: string; url?: string } };
}
export type InteractionSummaryResult =
  | { interactionId: string; success: true; topics: Array<{ name: string; value: string }> }
  | { interactionId: string; success: false; errorCode: string };

export type MessageLogger = (message: string, data: any) => void;

// ---------------------------------------------------------------- Baton's wire shapes

/** Baton's wire channel. */
export type Channel = 'chat' | 'voice';

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

/** Baton's wire InteractionData (docs/protocol.md), available as `InteractionData.baton`. */
export interface BatonInteraction {
  id: string;
  channel: Channel;
  state: 'queued' | 'ringing' | 'connected' | 'hold' | 'wrap_up' | 'completed';
  serviceName: string;
  customer: Customer;
  parties: Party[];
  attachedData: Record<string, Json>;
  createdAt: EpochMs;
  notes: Note[];
  messages: ChatMessage[];
  /** Why it rings when that is not a first offer, else null. */
  reason: 'transfer_rejected' | 'transfer_timeout' | 'transfer_target_logged_out' | string | null;
  direction?: CallDirection;
  internal?: boolean;
  disposition?: string | null;
  dispositionId?: string | null;
  associatedObjects?: InteractionAssociatedObjectsData;
  activeScreen?: InteractionScreen | null;
  reschedule?: RescheduleData | null;
  completedAt?: EpochMs | null;
  ani?: string | null;
  dnis?: string | null;
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

/** Baton addition: argument of `ON_HOST_REFUSED`. */
export interface HostRefusal {
  code: number;
  name: string;
  message: string;
  integrationKey: string | null;
  /** This page's origin, as the widget saw it. */
  origin: string;
}

/** Baton: data of the hand-off methods. */
export interface TransferStarted { transferId: string; }

/** A transfer target: an agent's username, an agent's extension, or `service:<name>`. */
export type TransferTarget = string;

/** Handler signature of each event. */
export interface EventHandlers {
  ON_LOGIN: (loginState: LoginStateData) => MaybePromise;
  ON_LOGOUT: () => MaybePromise;
  ON_NEW_INTERACTION: (interaction: InteractionData) => MaybePromise;
  /** The last InteractionData the SDK saw, with state `completed`. */
  ON_INTERACTION_REMOVED: (interaction: InteractionData) => MaybePromise;
  ON_INTERACTION_STATE_CHANGE: (interaction: InteractionData) => MaybePromise;
  ON_ACTIVE_INTERACTION_SWITCHED: (interactionId: string | null) => MaybePromise;
  ON_AGENT_STATE_CHANGE: (state: AgentState, notReadyReason?: string) => MaybePromise;
  /**
   * Return (or resolve with) the data for the receiving agent's CRM. All handlers run; the
   * value of the last registered handler that returns neither `undefined` nor `null` wins.
   * A throwing or rejecting handler counts as no value and is logged. Baton adds `meta`.
   */
  ON_REQUEST_TRANSFER_DATA: (interactionId: string, meta: TransferRequestMeta) => MaybePromise<unknown>;
  /** The server is told the data was acknowledged when every handler has settled. Baton adds `meta`. */
  ON_LOAD_TRANSFER_DATA: (interactionId: string, data: Json, meta: TransferMeta) => MaybePromise;
  ON_GET_KNOWLEDGE_BASE_FOLDER: (options: KBFolderOptions) => MaybePromise<ExternalKBItemData[] | undefined>;
  ON_SEARCH_KNOWLEDGE_BASE: (query: string, language?: string, folderId?: string) => MaybePromise<ExternalKBSearchResultData[] | undefined>;
  ON_GET_KNOWLEDGE_BASE_ARTICLE: (articleId: string) => MaybePromise<ExternalKBArticleData | null | undefined>;
  ON_OPEN_RECORD: (record: InteractionAssociatedObjectData, interactionId?: string, options?: OpenRecordOptions) => MaybePromise;
  ON_SEARCH_RECORDS: (search: SearchRecordsQuery, interactionId?: string, inNewTab?: boolean) => MaybePromise;
  ON_SHOW_SCREEN: (screen: InteractionScreen, interactionId?: string) => MaybePromise;
  /** Never fired: Baton has no screen recording. */
  ON_SCREEN_RECORDING_STATE_CHANGE: (state: ScreenRecordingState) => MaybePromise;
  ON_WIDGET_MINIMIZED_CHANGE: (widgetMinimized: boolean) => MaybePromise;
  ON_SERVER_ERROR: (error: ServerErrorData) => MaybePromise;
  /** The browser phone: `true` once logged in; `false` with why when the microphone fails. */
  ON_SOFTPHONE_STATUS_CHANGE: (ready: boolean, error?: string) => MaybePromise;
  /** The browser's audio devices changed (one was plugged in or out) or the agent chose
   *  another microphone: the names of the microphone and speaker in use now. */
  ON_AUDIO_DEVICE_CHANGE: (inputDevice?: string, outputDevice?: string) => MaybePromise;
  /** Whether the browser phone can carry calls' audio (WebRTC, the microphone not refused,
   *  the server's media plane on); all four are equal in Baton. After the login and on a change. */
  ON_PHONE_CAPABILITIES_CHANGE: (caps: PhoneCapabilities) => MaybePromise;
  /** A call's audio crossed into poor quality (`true`: packet loss, jitter or round trip over
   *  the thresholds) or back to good (`false`); `callId` is the interaction id. */
  ON_CALL_AUDIO_QUALITY_ALERT: (callId: string, alert: boolean) => MaybePromise;
  /** Never fired: Baton does not summarise interactions. */
  ON_SUMMARY_GENERATION_STARTED: (interactionId: string) => MaybePromise;
  /** Never fired: Baton does not summarise interactions. */
  ON_SUMMARY_GENERATION_COMPLETED: (summary: InteractionSummaryResult) => MaybePromise;
  ON_WEB_SCREEN_POP_CUSTOM: (interactionId: string, webScreenPop: WebScreenPop) => MaybePromise<boolean | undefined>;
  ON_SAVE_ACTIVITY_RECORD: (activity: InteractionActivityData) => MaybePromise<ActivityRecordInfo | undefined | void>;
  ON_VALIDATE_ASSOCIATED_RECORDS: (interactionId: string, records: InteractionAssociatedObjectsData) => MaybePromise<RecordsValidationResult | undefined>;
  ON_REQUEST_RECORD_INFO: (payload: RecordInfoRequest) => MaybePromise<InteractionAssociatedObjectData | null | undefined>;
  ON_REQUEST_RECORD_ON_SCREEN: () => MaybePromise<InteractionAssociatedObjectData | null | undefined>;
  /** Baton: a chat message on one of the agent's interactions. */
  ON_CHAT_MESSAGE: (interactionId: string, message: ChatMessage) => MaybePromise;
  /** Baton: progress and per-integration outcome of a transfer this agent started. */
  ON_TRANSFER_STATUS: (status: TransferStatus) => MaybePromise;
  /** Baton: the server refused this page's origin for the integration key. */
  ON_HOST_REFUSED: (refusal: HostRefusal) => MaybePromise;
  /** Baton: someone else on a chat started or stopped typing (`partyId` `customer` for the customer). */
  ON_TYPING: (interactionId: string, typing: { partyId: string; name: string; typing: boolean }) => MaybePromise;
  /** A digit keyed by a party this agent hears on the call (`partyId` `customer` for the
   *  customer). Baton addition. */
  ON_DTMF: (interactionId: string, dtmf: { partyId: string; digit: string }) => MaybePromise;
}

export type EventName = keyof EventHandlers;

export interface InitOptions {
  /**
   * The integration key registered on the server for this CRM; its allowed origins are checked.
   * Optional as in Bright Pattern: without it the page speaks for the one integration of the
   * agent's tenant that lists its origin (refused when none or several do).
   */
  integrationKey?: string;
  /** An existing iframe (or selector) to use for the widget instead of creating one. */
  adcFrame?: HTMLIFrameElement | string;
  /** Element (or selector) the widget iframe is inserted into. */
  mountRoot?: Element | string;
  /** Run the widget in a hidden iframe; log in with `login()`. */
  standalone?: boolean;
  /** The widget shows no Accept / Reject pop-up for new interactions. */
  disableNewInteractionPopup?: boolean;
  /** Fill the panel's width instead of the widget's fixed 400 px (never narrower than 340 px). */
  adaptiveWidth?: boolean;
  /** Baton: the server's base URL; defaults to the origin this script was loaded from. */
  serverUrl?: string;
  /** Baton: the tenant `login()` uses when `loginData.tenant` is not given. */
  tenant?: string;
  /** Baton: pre-fills the widget's login form. */
  login?: { tenant?: string; username?: string };
  /** Baton: when ON_CALL_AUDIO_QUALITY_ALERT fires, over the server's `[media.quality]`. */
  callQualityThresholds?: CallQualityThresholds;
}

/** Baton: the limits of a call's audio quality (positive numbers; a missing one keeps the server's). */
export interface CallQualityThresholds {
  /** Received packets lost, in percent over the last five seconds (server default 5). */
  maxPacketLossPercent?: number;
  /** Inbound jitter in milliseconds (server default 30). */
  maxJitterMs?: number;
  /** Round trip to the server in milliseconds (server default 400). */
  maxRoundTripMs?: number;
}
/** Baton's earlier name of InitOptions. */
export type AdApiOptions = InitOptions;

export declare class AdApi {
  constructor(options?: InitOptions);
  static readonly EVENTS: { readonly [K in EventName]: K };
  static readonly ResultErrorCodes: typeof ResultErrorCodes;
  static readonly ServerErrorCodes: typeof ServerErrorCodes;
  /** Every request method: Bright Pattern's, then Baton's. */
  static readonly METHODS: readonly string[];
  static readonly BP_METHODS: readonly string[];
  static readonly BATON_METHODS: readonly string[];
  static readonly BP_EVENTS: readonly string[];
  static readonly BATON_EVENTS: readonly string[];
  static readonly VOICE_DEVICE_METHODS: readonly string[];
  /** Bright Pattern's message name of a method (`getDIDNumbersList` → `GET_DID_LIST`). */
  static messageName(method: string): string;

  readonly integrationKey: string | null;
  readonly serverUrl: string;
  readonly frame: HTMLIFrameElement;

  injectMessageLogger(callback: MessageLogger): void;
  on<E extends EventName>(event: E, handler: EventHandlers[E]): void;
  remove<E extends EventName>(event: E, handler?: EventHandlers[E]): void;
  /** Baton: alias of remove. */
  off<E extends EventName>(event: E, handler?: EventHandlers[E]): void;
  /** Baton: true once the widget is connected and the server accepted this page. */
  isReady(): boolean;
  /** Baton: the refusal, if the server refused this page. */
  getRefusal(): HostRefusal | null;
  /** Baton: removes the iframe it created and stops listening. */
  destroy(): void;

  getLoginState(): Promise<OperationResult<LoginStateData>>;
  login(loginData: LoginData, force?: boolean): Promise<OperationResult>;
  openLogin(): Promise<OperationResult>;
  logout(): Promise<OperationResult>;
  getAgentState(): Promise<OperationResult<AgentStateData>>;
  setAgentState(state: AgentState, notReadyReason?: string): Promise<OperationResult>;
  acceptInteraction(interactionId?: string): Promise<OperationResult>;
  rejectInteraction(interactionId?: string): Promise<OperationResult>;
  startCall(phonenumber: string, associatedObjects?: InitialObjects): Promise<OperationResult<InitiateResult>>;
  startChat(channel: ChatChannelType, address: string, associatedObjects?: InitialObjects): Promise<OperationResult<InitiateResult>>;
  /** Answers 14: Baton has no email channel yet. */
  startEmail(email: string, associatedObjects?: InitialObjects): Promise<OperationResult<InitiateResult>>;
  /** RFC 4733 events on the call's audio; no connected audio answers 15. */
  sendDtmf(dtmf: string, interactionId?: string): Promise<OperationResult>;
  consultCall(phone: TransferTarget): Promise<OperationResult<TransferStarted>>;
  blindTransfer(phone: TransferTarget, customTransferData?: CustomTransferData | Json, interactionId?: string): Promise<OperationResult<TransferStarted>>;
  transfer(customTransferData?: CustomTransferData | Json): Promise<OperationResult<TransferStarted>>;
  leaveInteraction(interactionId?: string): Promise<OperationResult>;
  completeInteraction(interactionId?: string): Promise<OperationResult>;
  leaveAndCompleteInteraction(disposition?: string, note?: string, interactionId?: string): Promise<OperationResult>;
  switchActiveInteraction(interactionId: string): Promise<OperationResult>;
  inviteToCallConference(phone: TransferTarget, customTransferData?: CustomTransferData | Json, interactionId?: string): Promise<OperationResult<TransferStarted>>;
  removeFromCallConference(partyId: string, interactionId?: string): Promise<OperationResult>;
  destroyCallConference(interactionId?: string): Promise<OperationResult>;
  mergeAllCallsIntoConference(customTransferData?: CustomTransferData | Json): Promise<OperationResult<TransferStarted>>;
  inviteToChatConference(partyId: string, interactionId?: string): Promise<OperationResult<TransferStarted>>;
  removeFromChatConference(partyId: string, interactionId?: string): Promise<OperationResult>;
  getTeams(): Promise<OperationResult<Team[]>>;
  getTeamMembers(teamId: string): Promise<OperationResult<User[]>>;
  getServicesList(): Promise<OperationResult<ServiceData[]>>;
  getService(): Promise<OperationResult<ServiceData | null>>;
  setService(service: string | null): Promise<OperationResult>;
  getDIDNumbersList(): Promise<OperationResult<DIDNumber[]>>;
  getDIDNumber(): Promise<OperationResult<DIDNumber | null>>;
  setDIDNumber(did: string | null): Promise<OperationResult>;
  getDispositionsList(target: DispositionTarget): Promise<OperationResult<DispositionData[]>>;
  setDisposition(disposition: string, interactionId?: string): Promise<OperationResult>;
  setRescheduleWindow(rescheduleData: RescheduleData, interactionId?: string): Promise<OperationResult>;
  addNote(note: string, interactionId?: string): Promise<OperationResult>;
  updateNote(note: string, interactionId?: string): Promise<OperationResult>;
  replaceNote(note: string, interactionId?: string): Promise<OperationResult>;
  getConfig(): Promise<OperationResult<IntegrationConfig>>;
  setVariable(key: string, value: string, interactionId?: string): Promise<OperationResult>;
  getVariables(keys: string[], interactionId?: string): Promise<OperationResult<Record<string, string>>>;
  addInteractionAssociatedObject(object: InteractionAssociatedObjectData, interactionId?: string): Promise<OperationResult>;
  setInteractionActiveScreen(screenData: InteractionScreen, interactionId?: string): Promise<OperationResult>;
  /** `['phone_type_browser']`: Baton's phone is the browser. */
  getPhoneDevicesList(): Promise<OperationResult<PhoneDevice[]>>;
  getPhoneDevice(): Promise<OperationResult<PhoneDeviceData>>;
  /** Only `phone_type_browser`; another type answers 3. */
  setPhoneDevice(phoneDevice: PhoneDeviceData): Promise<OperationResult>;
  setCallHold(state: boolean, interactionId?: string): Promise<OperationResult>;
  /** The server records each party of the call (docs/voice.md, "Recording"); 13 without a call, 15 without call audio. */
  setCallRecording(state: boolean, interactionId?: string): Promise<OperationResult>;
  /** The server stops forwarding this agent's audio on the call (docs/voice.md). */
  setCallMute(state: boolean, interactionId?: string): Promise<OperationResult>;
  /** Answers 14: no screen recording. */
  setScreenRecordingMute(state: boolean): Promise<OperationResult>;
  /** Answers 14: no screen recording. */
  getScreenRecordingState(): Promise<OperationResult<ScreenRecordingState>>;
  setWidgetMinimized(state: boolean): Promise<OperationResult>;
  sendChatMessage(message: string, interactionId?: string): Promise<OperationResult>;
  suggestChatMessage(message: string, allowOverwrite?: boolean, interactionId?: string): Promise<OperationResult>;
  getAgentNotReadyReasons(): Promise<OperationResult<string[]>>;
  activatePage(): Promise<OperationResult>;
  getInteractionsState(): Promise<OperationResult<InteractionsState>>;
  /** Pauses the call's recording; 15 when it is not being recorded. */
  setCallRecordingMute(state: boolean, interactionId?: string): Promise<OperationResult>;
  setDialCandidates(candidates: DialCandidate[]): Promise<OperationResult>;
  /** Baton: every transfer leg of the interaction and its data outcomes. */
  getTransferHistory(interactionId?: string): Promise<OperationResult<TransferHistoryEntry[]>>;
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
