/**
 * Account commands (connect, key setup, unlock/lock, recovery words, settings). They exist on the `ui`
 * channel (extension pages → background) and, with the same names and shapes, on the `engine` channel
 * (background → engine host): the background forwards them unchanged.
 *
 * Some results carry secrets (the recovery words). They only travel between extension contexts, and only
 * the extension tabs that show them (setup, reveal) ask for them.
 */
import type { SpecOf } from './envelope';
import {
  arrayOf,
  isBoolean,
  isEmpty,
  isInteger,
  literal,
  objectOf,
  oneOf,
  stringOf,
  union,
  type Empty,
  type Guard,
} from './guards';
import { isServerOrigin } from './origin';

export const MARK_COLOURS = ['blue', 'teal', 'green', 'olive', 'orange', 'red', 'pink', 'purple'] as const;
export const MARK_SYMBOLS = ['star', 'heart', 'moon', 'leaf', 'bolt', 'drop', 'bell', 'anchor'] as const;
export type MarkColour = (typeof MARK_COLOURS)[number];
export type MarkSymbol = (typeof MARK_SYMBOLS)[number];

/** The personal security mark (ux.md, Principles 1): drawn in every Cipherfold surface. */
export interface MarkChoice {
  colour: MarkColour;
  symbol: MarkSymbol;
}

export const ACCOUNT_STATES = ['needs-keys', 'locked', 'unlocked'] as const;
export type AccountState = (typeof ACCOUNT_STATES)[number];
export const KEEP_MODES = ['remember', 'session'] as const;
export type KeepMode = (typeof KEEP_MODES)[number];

export interface AccountSummary {
  /** `${userId}@${origin}` (vault account id). */
  accountId: string;
  /** Server origin, e.g. https://cloud.example.org */
  origin: string;
  /** Base URL (may carry a sub-path such as /nextcloud). */
  serverUrl: string;
  /** Nextcloud user id. */
  userId: string;
  displayName: string;
  state: AccountState;
  /** Keys were just created here and the user has not yet confirmed the recovery words. */
  wordsPending: boolean;
  mode: KeepMode;
  mark: MarkChoice | null;
}

export interface StatusResult {
  accounts: AccountSummary[];
  /** True unless at least one account is unlocked. */
  locked: boolean;
}

/** 'local': this device has the keys; otherwise what the server has (protocol §9.1). */
export type KeyStateResult = { keys: 'local' | 'none' | 'complete' | 'certificate-only' };

const isAccountId = stringOf(600);
const isUrl = stringOf(2048);
const isWord = stringOf(32, /^[a-z]{2,16}$/);
export const isMarkChoice: Guard<MarkChoice> = objectOf({
  colour: oneOf(MARK_COLOURS),
  symbol: oneOf(MARK_SYMBOLS),
});
const isMarkOrNull = union(literal(null), isMarkChoice);
const isMode = oneOf(KEEP_MODES);
const isWords = (x: unknown): x is string[] => arrayOf(isWord, 12)(x) && x.length === 12;

export const isAccountSummary: Guard<AccountSummary> = objectOf({
  accountId: isAccountId,
  origin: isServerOrigin,
  serverUrl: isUrl,
  userId: stringOf(256),
  displayName: stringOf(512),
  state: oneOf(ACCOUNT_STATES),
  wordsPending: isBoolean,
  mode: isMode,
  mark: isMarkOrNull,
});
export const isStatusResult: Guard<StatusResult> = objectOf({
  accounts: arrayOf(isAccountSummary, 64),
  locked: isBoolean,
});

export type LoginPollResult = { status: 'pending' } | { status: 'connected'; accountId: string };

export interface AccountSettings {
  /** 0 = never. */
  autoLockSeconds: number;
  mode: KeepMode;
  mark: MarkChoice | null;
}

export type AccountCommands = {
  /** status.php: is this a Nextcloud that is installed and not in maintenance? */
  'accounts/check-server': {
    payload: { serverUrl: string };
    result: { serverUrl: string; origin: string; productName: string; version: string };
  };
  /** Login Flow v2, step 1. The page opens `loginUrl` in a new tab. */
  'accounts/login-start': { payload: { serverUrl: string }; result: { flowId: string; loginUrl: string } };
  /** Login Flow v2, one poll. On success the account is stored in the vault. */
  'accounts/login-poll': { payload: { flowId: string }; result: LoginPollResult };
  'accounts/login-cancel': { payload: { flowId: string }; result: Empty };
  /** Fallback: login name + app password (a login password is exchanged for an app password). */
  'accounts/connect-manual': {
    payload: { serverUrl: string; loginName: string; appPassword: string };
    result: { accountId: string };
  };
  'accounts/key-state': { payload: { accountId: string }; result: KeyStateResult };
  /** First device: creates and uploads keys, stores them here, returns the recovery words. */
  'accounts/setup-first': { payload: { accountId: string; mark: MarkChoice }; result: { words: string[] } };
  /** The words of a setup whose confirmation is still pending (resume after the tab was closed). */
  'accounts/pending-words': { payload: { accountId: string }; result: { words: string[] } };
  'accounts/confirm-words': { payload: { accountId: string; mode: KeepMode }; result: Empty };
  'accounts/unlock-words': {
    payload: { accountId: string; words: string[]; mode: KeepMode | null; mark: MarkChoice | null };
    result: { kdf: string; ms: number };
  };
  /** "Remember on this device": unlock with the key kept in this browser profile. */
  'accounts/unlock-stored': { payload: { accountId: string }; result: Empty };
  /** Locks one account, or all (`null`). */
  'accounts/lock': { payload: { accountId: string | null }; result: Empty };
  /** Re-confirms the Nextcloud login password, then returns the recovery words. */
  'accounts/reveal-words': { payload: { accountId: string; password: string }; result: { words: string[] } };
  'accounts/disconnect': {
    payload: { accountId: string; revoke: boolean };
    result: { origin: string; revoked: boolean; revokeError: string | null; originInUse: boolean };
  };
  'accounts/settings': { payload: { accountId: string }; result: AccountSettings };
  'accounts/set-auto-lock': { payload: { accountId: string; seconds: number }; result: Empty };
  'accounts/set-mode': { payload: { accountId: string; mode: KeepMode }; result: Empty };
  /** Sets the security mark for every account of this device. */
  'accounts/set-mark': { payload: { mark: MarkChoice }; result: Empty };
};

const isSeconds = (x: unknown): x is number => isInteger(x) && x >= 0 && x <= 7 * 24 * 3600;
const isFlowId = stringOf(64, /^[A-Za-z0-9_-]{8,64}$/);
const isLoginPollResult: Guard<LoginPollResult> = union(
  objectOf({ status: literal('pending') }),
  objectOf({ status: literal('connected'), accountId: isAccountId }),
);
const words = objectOf({ words: isWords });

export const accountCommandSpecs: SpecOf<AccountCommands> = {
  'accounts/check-server': {
    payload: objectOf({ serverUrl: isUrl }),
    result: objectOf({
      serverUrl: isUrl,
      origin: isServerOrigin,
      productName: stringOf(128),
      version: stringOf(64),
    }),
  },
  'accounts/login-start': {
    payload: objectOf({ serverUrl: isUrl }),
    result: objectOf({ flowId: isFlowId, loginUrl: isUrl }),
  },
  'accounts/login-poll': { payload: objectOf({ flowId: isFlowId }), result: isLoginPollResult },
  'accounts/login-cancel': { payload: objectOf({ flowId: isFlowId }), result: isEmpty },
  'accounts/connect-manual': {
    payload: objectOf({ serverUrl: isUrl, loginName: stringOf(256), appPassword: stringOf(1024) }),
    result: objectOf({ accountId: isAccountId }),
  },
  'accounts/key-state': {
    payload: objectOf({ accountId: isAccountId }),
    result: objectOf({ keys: oneOf(['local', 'none', 'complete', 'certificate-only'] as const) }),
  },
  'accounts/setup-first': {
    payload: objectOf({ accountId: isAccountId, mark: isMarkChoice }),
    result: words,
  },
  'accounts/pending-words': { payload: objectOf({ accountId: isAccountId }), result: words },
  'accounts/confirm-words': { payload: objectOf({ accountId: isAccountId, mode: isMode }), result: isEmpty },
  'accounts/unlock-words': {
    payload: objectOf({
      accountId: isAccountId,
      words: isWords,
      mode: union(literal(null), isMode),
      mark: isMarkOrNull,
    }),
    result: objectOf({ kdf: stringOf(64), ms: isInteger }),
  },
  'accounts/unlock-stored': { payload: objectOf({ accountId: isAccountId }), result: isEmpty },
  'accounts/lock': { payload: objectOf({ accountId: union(literal(null), isAccountId) }), result: isEmpty },
  'accounts/reveal-words': {
    payload: objectOf({ accountId: isAccountId, password: stringOf(1024) }),
    result: words,
  },
  'accounts/disconnect': {
    payload: objectOf({ accountId: isAccountId, revoke: isBoolean }),
    result: objectOf({
      origin: isServerOrigin,
      revoked: isBoolean,
      revokeError: union(literal(null), stringOf(2000)),
      originInUse: isBoolean,
    }),
  },
  'accounts/settings': {
    payload: objectOf({ accountId: isAccountId }),
    result: objectOf({ autoLockSeconds: isSeconds, mode: isMode, mark: isMarkOrNull }),
  },
  'accounts/set-auto-lock': {
    payload: objectOf({ accountId: isAccountId, seconds: isSeconds }),
    result: isEmpty,
  },
  'accounts/set-mode': { payload: objectOf({ accountId: isAccountId, mode: isMode }), result: isEmpty },
  'accounts/set-mark': { payload: objectOf({ mark: isMarkChoice }), result: isEmpty },
};

export type AccountCommand = keyof AccountCommands;
export const ACCOUNT_COMMANDS = Object.keys(accountCommandSpecs) as AccountCommand[];
export function isAccountCommand(cmd: string): cmd is AccountCommand {
  return Object.prototype.hasOwnProperty.call(accountCommandSpecs, cmd);
}
