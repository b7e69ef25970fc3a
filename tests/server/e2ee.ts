import type { Srv } from './context';
import type { Ctx } from './http';
import { ocsThrown } from './ocs';
export async function handleE2ee(_srv: Srv, ctx: Ctx, _v: 1 | 2, _rest: string): Promise<void> {
  ocsThrown(ctx, 501, 'not yet');
}
