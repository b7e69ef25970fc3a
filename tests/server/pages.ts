import type { Srv } from './context';
import type { Ctx } from './http';
export async function handlePages(_srv: Srv, _ctx: Ctx, _p: string): Promise<boolean> {
  return false;
}
