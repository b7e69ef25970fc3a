/** The shared server context handed to every module. */
import type { Adversary } from './adversary';
import type { ServerKeys } from './certs';
import type { Store } from './storage';

export type Flavour = 'main' | 'nc31';

export interface SessionRec {
  uid: string;
  requestToken: string;
}

export interface LoginFlowRec {
  pollToken: string;
  loginToken: string;
  created: number;
  /** user who logged in inside the flow (before granting) */
  user?: string;
  result?: { server: string; loginName: string; appPassword: string };
}

export interface HostileState {
  enabled: boolean;
  reports: unknown[];
}

export interface Srv {
  store: Store;
  flavour: Flavour;
  apiVersion: string;
  certHash: 'SHA-256' | 'SHA-1';
  keys: ServerKeys;
  sessions: Map<string, SessionRec>;
  flows: Map<string, LoginFlowRec>;
  hostile: HostileState;
  adversary: Adversary;
  /** per-IP anonymous server-key calls (timestamps, ms) */
  anonServerKey: Map<string, number[]>;
  /** chunked uploads: `${uid}/${uploadId}` → destination + chunks */
  uploads: Map<string, { destination?: string; chunks: Map<string, Buffer> }>;
  url: string;
  log?: (line: string) => void;
}
