/** A default name for this browser in device-approval requests ("Chromium on Linux"). Editable by the user. */
export function defaultDeviceName(ua: string = navigator.userAgent): { name: string; browser: string } {
  const browser = /Firefox\//.test(ua)
    ? 'Firefox'
    : /Edg\//.test(ua)
      ? 'Edge'
      : /Chromium\//.test(ua) || /HeadlessChrome\//.test(ua)
        ? 'Chromium'
        : /Chrome\//.test(ua)
          ? 'Chrome'
          : /Safari\//.test(ua)
            ? 'Safari'
            : 'Browser';
  const os = /Windows/.test(ua)
    ? 'Windows'
    : /Mac OS X|Macintosh/.test(ua)
      ? 'macOS'
      : /Android/.test(ua)
        ? 'Android'
        : /CrOS/.test(ua)
          ? 'ChromeOS'
          : /Linux/.test(ua)
            ? 'Linux'
            : 'another system';
  return { name: `${browser} on ${os}`, browser };
}

/** "in 9 min", "in 40 s", "expired". */
export function timeLeft(expiresAt: number, now = Date.now()): string {
  const s = Math.round((expiresAt - now) / 1000);
  if (s <= 0) return 'expired';
  return s >= 90 ? `in ${Math.round(s / 60)} min` : `in ${s} s`;
}

/** "just now", "3 min ago", "2 h ago", or a date. */
export function timeAgo(at: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(at).toLocaleDateString();
}
