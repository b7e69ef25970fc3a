import type { Srv } from './context';
import { send, type Ctx } from './http';
export async function handleDav(_srv: Srv, ctx: Ctx, _ok: boolean): Promise<void> {
  send(ctx, 501, 'not yet');
}
