import type { Srv } from './context';
export function runRollbackJob(_srv: Srv, _olderThan: number): number[] {
  return [];
}
