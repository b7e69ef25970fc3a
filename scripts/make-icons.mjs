// Draws the Cipherfold lock icon (a white padlock on a rounded blue square) into public/icon/{16,32,48,128}.png.
// No dependencies: rasterised with 8x8 supersampling and written as PNG with node:zlib.
// Run: node scripts/make-icons.mjs
import { Buffer } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../public/icon');
const BLUE = [0, 130, 201];
const WHITE = [255, 255, 255];

// Geometry in a 32x32 design space (same as components/LockMark.svelte).
const inRoundRect = (x, y, rx, ry, w, h, r) => {
  if (x < rx || y < ry || x > rx + w || y > ry + h) return false;
  const cx = Math.min(Math.max(x, rx + r), rx + w - r);
  const cy = Math.min(Math.max(y, ry + r), ry + h - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
};
function colourAt(x, y) {
  if (!inRoundRect(x, y, 0, 0, 32, 32, 8)) return null;
  // keyhole
  if ((x - 16) ** 2 + (y - 19.5) ** 2 <= 1.9 ** 2 || (Math.abs(x - 16) <= 0.8 && y >= 19.5 && y <= 22.3))
    return BLUE;
  if (inRoundRect(x, y, 8.5, 14, 15, 11, 2.5)) return WHITE;
  // shackle: arc of radius 5 around (16,11) for y<=11, straight legs down to y=14, stroke 2.6
  const half = 1.3;
  if (y <= 11) {
    const d = Math.hypot(x - 16, y - 11);
    if (Math.abs(d - 5) <= half) return WHITE;
  } else if (y <= 14.5 && (Math.abs(x - 11) <= half || Math.abs(x - 21) <= half)) return WHITE;
  return BLUE;
}

function render(size) {
  const ss = 8;
  const rgba = Buffer.alloc(size * size * 4);
  for (let py = 0; py < size; py++)
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let sy = 0; sy < ss; sy++)
        for (let sx = 0; sx < ss; sx++) {
          const c = colourAt(((px + (sx + 0.5) / ss) * 32) / size, ((py + (sy + 0.5) / ss) * 32) / size);
          if (c) {
            r += c[0];
            g += c[1];
            b += c[2];
            a++;
          }
        }
      const i = (py * size + px) * 4;
      if (a) {
        rgba[i] = Math.round(r / a);
        rgba[i + 1] = Math.round(g / a);
        rgba[i + 2] = Math.round(b / a);
      }
      rgba[i + 3] = Math.round((255 * a) / (ss * ss));
    }
  return rgba;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8;
  ihdr[9] = 6; // 8-bit RGBA
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

fs.mkdirSync(OUT, { recursive: true });
for (const size of [16, 32, 48, 128]) {
  fs.writeFileSync(path.join(OUT, `${size}.png`), png(size, render(size)));
  process.stdout.write(`public/icon/${size}.png\n`);
}
