/** The E2EE "client supports E2EE" rule of protocol.md §2.4. */
import { header, type Ctx } from './http';

const ALLOW: { re: RegExp; min: [number, number, number] }[] = [
  { re: /^Mozilla\/5\.0 \(Android\) Nextcloud-android\/(\d+)\.(\d+)\.(\d+)/, min: [3, 13, 0] },
  { re: /^Mozilla\/5\.0 \([^)]*\) (?:mirall|csyncoC)\/(\d+)\.(\d+)\.(\d+)/, min: [3, 0, 0] },
  { re: /^Mozilla\/5\.0 \(iOS\) Nextcloud-iOS\/(\d+)\.(\d+)\.(\d+)/, min: [3, 0, 5] },
];

export function clientSupportsE2ee(ctx: Ctx): boolean {
  const ua = header(ctx, 'user-agent') ?? '';
  for (const { re, min } of ALLOW) {
    const m = re.exec(ua);
    if (!m) continue;
    const v = [Number(m[1]), Number(m[2]), Number(m[3])];
    for (let i = 0; i < 3; i++) {
      if (v[i]! > min[i]!) return true;
      if (v[i]! < min[i]!) return false;
    }
    return true;
  }
  return header(ctx, 'x-e2ee-supported') === 'true';
}

export function uaMessage(ctx: Ctx): string {
  return `Client "${header(ctx, 'user-agent') ?? ''}" is not allowed to access end-to-end encrypted content.`;
}
