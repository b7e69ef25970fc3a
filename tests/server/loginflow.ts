import type { Srv } from './context';
import { send, type Ctx } from './http';
export function handleLoginFlow(_srv: Srv, ctx: Ctx, _p: string): void {
  send(ctx, 501, 'not yet');
}
