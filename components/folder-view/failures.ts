/**
 * The full-stop explanations the folder view shows when a folder cannot be trusted or opened
 * (ux.md catalogue shape: what happened, what it may mean, what you can do). Words, not jargon;
 * the engine's own message is the "technical detail" one click away.
 */
import { VAULT_LOCKED_MESSAGE, type ReplyErrorKind } from '@/lib/messages';

export interface Failure {
  /** `verification` = full stop (do not trust what the server sent); `locked` = retry; others = error. */
  tone: 'verification' | 'vault-locked' | 'folder-locked' | 'error';
  kind: ReplyErrorKind;
  title: string;
  meaning: string;
  action: string;
  detail: string;
}

const VERIFICATION: Partial<Record<ReplyErrorKind, Omit<Failure, 'tone' | 'kind' | 'detail'>>> = {
  signature: {
    title: "This folder's contents were signed by someone who isn't a member.",
    meaning:
      'The server may have been tampered with, or someone changed the folder without being allowed to.',
    action: 'Nothing was shown or changed. Ask the folder owner to check the member list.',
  },
  certificate: {
    title: "A member's identity could not be confirmed.",
    meaning:
      "The server may have replaced someone's certificate to read along, or a certificate expired or changed since you first saw it.",
    action: 'Nothing was shown or changed. Check with the member in person, or contact your administrator.',
  },
  'key-checksum': {
    title: "This folder's key is not one its members agreed on.",
    meaning: 'The server may be trying to make your device use a key it knows.',
    action:
      'Nothing was shown or changed. Do not add files here; tell the folder owner and your administrator.',
  },
  counter: {
    title: 'This folder was turned back to an older version.',
    meaning:
      'The server may be replaying old contents, for example to bring back a deleted file or hide a new one.',
    action: 'Nothing was shown or changed. Try again later; if it stays like this, tell the folder owner.',
  },
  'missing-file': {
    title: 'Something listed in this folder is missing on the server.',
    meaning: 'It may have been deleted on the server, or by someone outside the folder.',
    action: 'Go back to the parent folder and reload. Tell the folder owner if items keep disappearing.',
  },
  metadata: {
    title: "This folder's encrypted index cannot be read.",
    meaning: 'It may be damaged, or written by a newer app version that Cipherfold does not understand yet.',
    action: 'Nothing was changed. Update Cipherfold; if that does not help, ask the folder owner.',
  },
  tag: {
    title: 'A file failed its integrity check.',
    meaning: 'The file was changed on the server after it was encrypted, or the download was damaged.',
    action:
      'Nothing was saved. Try again; if it fails again, ask the person who added the file to upload it again.',
  },
};

export function describeFailure(kind: ReplyErrorKind, message: string): Failure {
  const v = VERIFICATION[kind];
  if (v) return { tone: 'verification', kind, detail: message, ...v };
  if (kind === 'locked' && message === VAULT_LOCKED_MESSAGE) {
    return {
      tone: 'vault-locked',
      kind,
      title: 'Cipherfold is locked.',
      meaning: 'Encrypted folders stay closed until you unlock Cipherfold with your recovery words.',
      action:
        'Click the Cipherfold icon in the browser toolbar and unlock there — never type your recovery words into a web page.',
      detail: message,
    };
  }
  if (kind === 'locked') {
    return {
      tone: 'folder-locked',
      kind,
      title: 'Another device is changing this folder right now.',
      meaning: 'Another client holds the folder lock while it saves its changes.',
      action: 'Nothing was changed. Try again in a few seconds.',
      detail: message,
    };
  }
  return { tone: 'error', kind, title: message, meaning: '', action: '', detail: '' };
}
