import type { Srv } from './context';
import type { Ctx } from './http';
export async function handleSharing(_srv: Srv, _ctx: Ctx, _rest: string): Promise<boolean> {
  return false;
}
