// The page's icons (the ◈ of the top bar, white on the accent colour), drawn with Node's built-ins only:
// www/icons/icon-192.png, icon-512.png (purpose "any": a rounded square), icon-maskable-512.png
// (full bleed, the mark inside the maskable safe zone, a circle of 40% of the size) and icon.svg
// (the favicon, the same shapes). Usage: node gen/make-icons.mjs   (the outputs are committed)
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../www/icons');
const ACCENT = [0xc2, 0x41, 0x0c]; // --accent of styles.css (light)
const WHITE = [0xff, 0xff, 0xff];

// The design on a 512-unit square: a rounded background, a diamond ring and a filled diamond inside.
const DESIGN = { radius: 96, ringOuter: 176, ringWidth: 36, core: 80 };

/** Which colour a point (x, y in 512 units, centre 256, 256) has: null (transparent), ACCENT or WHITE. */
function shade(x, y, { rounded, scale }) {
  const { radius, ringOuter, ringWidth, core } = DESIGN;
  if (rounded) {
    // Rounded square over the whole canvas: outside when beyond a corner's quarter circle.
    const cx = Math.min(Math.max(x, radius), 512 - radius);
    const cy = Math.min(Math.max(y, radius), 512 - radius);
    if ((x - cx) ** 2 + (y - cy) ** 2 > radius * radius) return null;
  }
  const d = (Math.abs(x - 256) + Math.abs(y - 256)) / scale; // the diamond "radius" of the point
  if (d <= core || (d <= ringOuter && d >= ringOuter - ringWidth)) return WHITE;
  return ACCENT;
}

/** RGBA pixels of the icon at `size`, 4x4 samples per pixel. */
function draw(size, opts) {
  const px = Buffer.alloc(size * size * 4);
  const n = 4;
  for (let j = 0; j < size; j++) {
    for (let i = 0; i < size; i++) {
      let r = 0, g = 0, b = 0, a = 0;
      for (let sj = 0; sj < n; sj++) {
        for (let si = 0; si < n; si++) {
          const c = shade(((i + (si + 0.5) / n) * 512) / size, ((j + (sj + 0.5) / n) * 512) / size, opts);
          if (!c) continue;
          r += c[0]; g += c[1]; b += c[2]; a += 1;
        }
      }
      const o = (j * size + i) * 4;
      if (a) {
        px[o] = Math.round(r / a);
        px[o + 1] = Math.round(g / a);
        px[o + 2] = Math.round(b / a);
      }
      px[o + 3] = Math.round((a / (n * n)) * 255);
    }
  }
  return px;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}
/** A PNG file (8-bit RGBA, no interlace, filter 0 on every row). */
function png(size, rgba) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let j = 0; j < size; j++) rgba.copy(raw, j * (size * 4 + 1) + 1, j * size * 4, (j + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function svg() {
  const { radius, ringOuter, ringWidth, core } = DESIGN;
  const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
  const diamond = (r) => `M256 ${256 - r}L${256 + r} 256L256 ${256 + r}L${256 - r} 256Z`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">` +
    `<rect width="512" height="512" rx="${radius}" fill="${hex(ACCENT)}"/>` +
    `<path fill="${hex(WHITE)}" fill-rule="evenodd" d="${diamond(ringOuter)}${diamond(ringOuter - ringWidth)}${diamond(core)}"/>` +
    `</svg>\n`
  );
}

fs.mkdirSync(OUT, { recursive: true });
const icons = [
  ['icon-192.png', 192, { rounded: true, scale: 1 }],
  ['icon-512.png', 512, { rounded: true, scale: 1 }],
  // Safe zone: a centred circle of radius 0.4 * size (204.8 units); the ring's tips reach 176 * 0.75 = 132.
  ['icon-maskable-512.png', 512, { rounded: false, scale: 0.75 }],
];
for (const [name, size, opts] of icons) {
  const file = path.join(OUT, name);
  fs.writeFileSync(file, png(size, draw(size, opts)));
  console.log(`${file}: ${fs.statSync(file).size} bytes`);
}
fs.writeFileSync(path.join(OUT, 'icon.svg'), svg());
console.log(`${path.join(OUT, 'icon.svg')}: ${fs.statSync(path.join(OUT, 'icon.svg')).size} bytes`);
