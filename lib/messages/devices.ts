/**
 * Device-approval commands (docs/device-approval.md §7). They exist on the `ui` channel (extension pages →
 * background) and, with the same names and shapes, on the `engine` channel (background → engine host); the
 * background forwards them unchanged, except `devices/badge`, which only the background handles (the engine
 * reports the number of pending approvals so the background can set the toolbar badge).
 *
 * Nothing here carries a secret: verification codes are public by design (they are compared by eye), the
 * recovery words never leave the engine.
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
import { KEEP_MODES, isMarkChoice, type KeepMode, type MarkChoice } from './accounts';

/** The new device's side, as its "Approve from another device" page shows it. */
export const NEW_DEVICE_STEPS = [
  'none',
  'waiting-for-answer',
  'confirm-code',
  'waiting-for-approval',
  'unlocking',
  'approved',
  'rejected',
  'expired',
  'cancelled',
  'failed',
] as const;
export type NewDeviceStep = (typeof NEW_DEVICE_STEPS)[number];

export interface ApprovalRequestView {
  step: NewDeviceStep;
  requestId: string | null;
  /** The 6-digit verification code ("123 456"), once both keys are known. */
  code: string | null;
  expiresAt: number | null;
  /** For rejected / failed: what happened, in words for the user. */
  message: string | null;
}

/** The trusted device's view of one request (popup list). */
export const PENDING_STEPS = [
  'new',
  'waiting-for-code',
  'confirm-code',
  'approved',
  'rejected',
  'failed',
] as const;
export type PendingStep = (typeof PENDING_STEPS)[number];

export interface PendingApproval {
  accountId: string;
  requestId: string;
  /** As the new device described itself (covered by the code, not authenticated before). */
  name: string;
  browser: string;
  createdAt: number;
  expiresAt: number;
  step: PendingStep;
  code: string | null;
  /** A device with the same name and browser was forgotten on this account. */
  forgottenMatch: boolean;
  message: string | null;
}

export interface DeviceView {
  deviceId: string;
  name: string;
  browser: string;
  approvedAt: number;
  lastSeen: number;
  forgotten: boolean;
  current: boolean;
}

export type DeviceCommands = {
  /** New device: publish a request and start waiting. `ttlSeconds` (≤ 600) only shortens the 10 minutes. */
  'devices/request-start': {
    payload: {
      accountId: string;
      name: string;
      browser: string;
      mode: KeepMode | null;
      mark: MarkChoice | null;
      ttlSeconds: number | null;
    };
    result: ApprovalRequestView;
  };
  /** New device: the current state (moves the exchange forward). */
  'devices/request-status': { payload: { accountId: string }; result: ApprovalRequestView };
  /** New device: the user saw the same code on both devices. */
  'devices/request-confirm': {
    payload: { accountId: string; requestId: string };
    result: ApprovalRequestView;
  };
  /** New device: the codes differ, or the user cancels. */
  'devices/request-reject': {
    payload: { accountId: string; requestId: string };
    result: ApprovalRequestView;
  };
  /** Trusted device: requests waiting for an answer on every unlocked account (`refresh`: list now). */
  'devices/pending': { payload: { refresh: boolean }; result: { requests: PendingApproval[] } };
  /** Trusted device: start the exchange for one request, so both devices can show the code. */
  'devices/answer': { payload: { accountId: string; requestId: string }; result: PendingApproval };
  /** Trusted device: the codes match; send the recovery words, sealed for the new device. */
  'devices/approve': { payload: { accountId: string; requestId: string }; result: { deviceId: string } };
  'devices/reject': {
    payload: { accountId: string; requestId: string; reason: 'user' | 'code-mismatch' };
    result: Empty;
  };
  'devices/list': { payload: { accountId: string }; result: { devices: DeviceView[] } };
  'devices/forget': { payload: { accountId: string; deviceId: string }; result: Empty };
};

/** Only on the ui channel; the background answers it (engine → background, toolbar badge). */
export type DeviceUiExtraCommands = {
  'devices/badge': { payload: { count: number }; result: Empty };
};

const isAccountId = stringOf(600);
const isRequestId = stringOf(22, /^[A-Za-z0-9_-]{22}$/);
const isDeviceId = stringOf(64, /^[A-Za-z0-9_-]{1,64}$/);
const isCode = stringOf(7, /^\d{3} \d{3}$/);
const isTime = (x: unknown): x is number => isInteger(x) && x >= 0;
const isMessage = union(literal(null), stringOf(2000));
const nullable = <T>(g: Guard<T>) => union(literal(null), g);

export const isApprovalRequestView: Guard<ApprovalRequestView> = objectOf({
  step: oneOf(NEW_DEVICE_STEPS),
  requestId: nullable(isRequestId),
  code: nullable(isCode),
  expiresAt: nullable(isTime),
  message: isMessage,
});

export const isPendingApproval: Guard<PendingApproval> = objectOf({
  accountId: isAccountId,
  requestId: isRequestId,
  name: stringOf(100),
  browser: stringOf(100),
  createdAt: isTime,
  expiresAt: isTime,
  step: oneOf(PENDING_STEPS),
  code: nullable(isCode),
  forgottenMatch: isBoolean,
  message: isMessage,
});

export const isDeviceView: Guard<DeviceView> = objectOf({
  deviceId: isDeviceId,
  name: stringOf(100),
  browser: stringOf(100),
  approvedAt: isTime,
  lastSeen: isTime,
  forgotten: isBoolean,
  current: isBoolean,
});

const ids = objectOf({ accountId: isAccountId, requestId: isRequestId });

export const deviceCommandSpecs: SpecOf<DeviceCommands> = {
  'devices/request-start': {
    payload: objectOf({
      accountId: isAccountId,
      name: stringOf(100, /\S/),
      browser: stringOf(100),
      mode: nullable(oneOf(KEEP_MODES)),
      mark: nullable(isMarkChoice),
      ttlSeconds: nullable((x: unknown): x is number => isInteger(x) && x >= 1 && x <= 600),
    }),
    result: isApprovalRequestView,
  },
  'devices/request-status': { payload: objectOf({ accountId: isAccountId }), result: isApprovalRequestView },
  'devices/request-confirm': { payload: ids, result: isApprovalRequestView },
  'devices/request-reject': { payload: ids, result: isApprovalRequestView },
  'devices/pending': {
    payload: objectOf({ refresh: isBoolean }),
    result: objectOf({ requests: arrayOf(isPendingApproval, 256) }),
  },
  'devices/answer': { payload: ids, result: isPendingApproval },
  'devices/approve': { payload: ids, result: objectOf({ deviceId: isDeviceId }) },
  'devices/reject': {
    payload: objectOf({
      accountId: isAccountId,
      requestId: isRequestId,
      reason: oneOf(['user', 'code-mismatch'] as const),
    }),
    result: isEmpty,
  },
  'devices/list': {
    payload: objectOf({ accountId: isAccountId }),
    result: objectOf({ devices: arrayOf(isDeviceView, 1000) }),
  },
  'devices/forget': { payload: objectOf({ accountId: isAccountId, deviceId: isDeviceId }), result: isEmpty },
};

export const deviceUiExtraSpec: SpecOf<DeviceUiExtraCommands> = {
  'devices/badge': {
    payload: objectOf({ count: (x: unknown): x is number => isInteger(x) && x >= 0 && x <= 9999 }),
    result: isEmpty,
  },
};

export type DeviceCommand = keyof DeviceCommands;
export function isDeviceCommand(cmd: string): cmd is DeviceCommand {
  return Object.prototype.hasOwnProperty.call(deviceCommandSpecs, cmd);
}

/**
 * Commands that approve, reject, answer or forget: accepted only from Cipherfold's own top-level pages
 * (popup, approve tab, options), never from the folder view that sits inside the Nextcloud page.
 */
export const DEVICE_CHROME_ONLY: ReadonlySet<string> = new Set([
  'devices/answer',
  'devices/approve',
  'devices/reject',
  'devices/forget',
  'devices/request-start',
  'devices/request-confirm',
  'devices/request-reject',
]);
export const DEVICE_CHROME_PAGES = ['/popup.html', '/approve.html', '/options.html'] as const;
