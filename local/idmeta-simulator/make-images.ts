/**
 * Generates the simulator's reference selfies: small synthetic pictures (gradients and soft
 * shapes, no faces, nobody's likeness) whose SHA-256 values `registry.json` records.
 *
 *   npx tsx local/idmeta-simulator/make-images.ts
 *
 * The output is deterministic (no randomness), but the committed files are the reference: the
 * registry holds their hashes, so regenerate only on purpose and then copy the printed sha256
 * values into registry.json. The script says which registry entries no longer match.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';

type Rgb = readonly [number, number, number];

interface Blob {
  /** Centre and radius as fractions of the image size. */
  x: number;
  y: number;
  r: number;
  color: Rgb;
}

interface ImageSpec {
  file: string;
  from: Rgb;
  to: Rgb;
  /** Gradient direction in degrees. */
  angle: number;
  blobs: Blob[];
  /** Number of soft diagonal bands over the gradient (0 = none). */
  bands: number;
}

const SIZE = 320;
const JPEG_QUALITY = 75;

const SPECS: ImageSpec[] = [
  {
    file: 'p1-agus-hartanto.jpg',
    from: [28, 64, 120],
    to: [220, 180, 120],
    angle: 30,
    blobs: [
      { x: 0.5, y: 0.42, r: 0.22, color: [240, 200, 160] },
      { x: 0.5, y: 0.95, r: 0.4, color: [40, 60, 90] },
    ],
    bands: 0,
  },
  {
    file: 'p2-siti-wulandari.jpg',
    from: [120, 30, 80],
    to: [250, 210, 220],
    angle: 110,
    blobs: [
      { x: 0.45, y: 0.4, r: 0.25, color: [90, 150, 120] },
      { x: 0.7, y: 0.75, r: 0.18, color: [250, 240, 200] },
    ],
    bands: 3,
  },
  {
    file: 'p3-hendra-wijaya.jpg',
    from: [20, 90, 60],
    to: [200, 230, 140],
    angle: 200,
    blobs: [
      { x: 0.3, y: 0.3, r: 0.2, color: [230, 120, 60] },
      { x: 0.65, y: 0.6, r: 0.28, color: [60, 40, 30] },
    ],
    bands: 0,
  },
  {
    file: 'p4-ni-luh-sekarini.jpg',
    from: [250, 190, 80],
    to: [120, 40, 20],
    angle: 75,
    blobs: [{ x: 0.52, y: 0.48, r: 0.3, color: [255, 245, 230] }],
    bands: 5,
  },
  {
    file: 'p5-andi-saputra.jpg',
    from: [60, 60, 60],
    to: [180, 200, 230],
    angle: 150,
    blobs: [
      { x: 0.5, y: 0.38, r: 0.2, color: [200, 150, 110] },
      { x: 0.2, y: 0.8, r: 0.15, color: [250, 220, 60] },
      { x: 0.82, y: 0.2, r: 0.12, color: [30, 110, 200] },
    ],
    bands: 0,
  },
  {
    file: 'p5-andi-saputra.png',
    from: [180, 200, 230],
    to: [60, 60, 60],
    angle: 0,
    blobs: [
      { x: 0.5, y: 0.45, r: 0.24, color: [200, 150, 110] },
      { x: 0.85, y: 0.85, r: 0.12, color: [250, 220, 60] },
    ],
    bands: 0,
  },
  {
    file: 'p6-rina-kartikasari.png',
    from: [10, 30, 50],
    to: [90, 200, 210],
    angle: 260,
    blobs: [
      { x: 0.4, y: 0.55, r: 0.26, color: [250, 120, 150] },
      { x: 0.75, y: 0.3, r: 0.14, color: [255, 255, 255] },
    ],
    bands: 0,
  },
];

const clamp = (value: number): number => Math.max(0, Math.min(255, Math.round(value)));
const mix = (a: number, b: number, t: number): number => a + (b - a) * t;

/** RGB pixels, row by row, 3 bytes each. */
function render(spec: ImageSpec): Buffer {
  const pixels = Buffer.alloc(SIZE * SIZE * 3);
  const angle = (spec.angle * Math.PI) / 180;
  const dx = Math.cos(angle);
  const dy = Math.sin(angle);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const u = x / (SIZE - 1);
      const v = y / (SIZE - 1);
      // Projection onto the gradient direction, mapped to 0..1.
      const t = ((u - 0.5) * dx + (v - 0.5) * dy) / Math.SQRT2 + 0.5;
      let r = mix(spec.from[0], spec.to[0], t);
      let g = mix(spec.from[1], spec.to[1], t);
      let b = mix(spec.from[2], spec.to[2], t);
      if (spec.bands > 0) {
        const shade = 0.85 + 0.15 * Math.cos((u + v) * Math.PI * spec.bands);
        r *= shade;
        g *= shade;
        b *= shade;
      }
      for (const blob of spec.blobs) {
        const distance = Math.hypot(u - blob.x, v - blob.y);
        // Soft edge over 2% of the image so JPEG and PNG both stay small.
        const alpha = Math.max(0, Math.min(1, (blob.r - distance) / 0.02));
        r = mix(r, blob.color[0], alpha);
        g = mix(g, blob.color[1], alpha);
        b = mix(b, blob.color[2], alpha);
      }
      const offset = (y * SIZE + x) * 3;
      pixels[offset] = clamp(r);
      pixels[offset + 1] = clamp(g);
      pixels[offset + 2] = clamp(b);
    }
  }
  return pixels;
}

function encodeJpeg(rgb: Buffer): Buffer {
  const rgba = Buffer.alloc(SIZE * SIZE * 4);
  for (let i = 0; i < SIZE * SIZE; i++) {
    rgb.copy(rgba, i * 4, i * 3, i * 3 + 3);
    rgba[i * 4 + 3] = 255;
  }
  return jpeg.encode({ width: SIZE, height: SIZE, data: rgba }, JPEG_QUALITY).data;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = (CRC_TABLE[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** 8-bit truecolour PNG; every scanline uses the Sub filter, which suits gradients. */
function encodePng(rgb: Buffer): Buffer {
  const stride = SIZE * 3;
  const raw = Buffer.alloc((stride + 1) * SIZE);
  for (let y = 0; y < SIZE; y++) {
    const row = y * (stride + 1);
    raw[row] = 1;
    for (let i = 0; i < stride; i++) {
      const current = rgb[y * stride + i] ?? 0;
      const left = i >= 3 ? (rgb[y * stride + i - 3] ?? 0) : 0;
      raw[row + 1 + i] = (current - left) & 0xff;
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(SIZE, 0);
  header.writeUInt32BE(SIZE, 4);
  header.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function registryHashes(): Map<string, string> {
  const registry = JSON.parse(
    readFileSync(new URL('./registry.json', import.meta.url), 'utf8'),
  ) as { people: { reference_images: { file: string; sha256: string }[] }[] };
  return new Map(
    registry.people.flatMap((person) =>
      person.reference_images.map((image) => [image.file, image.sha256] as const),
    ),
  );
}

function main(): void {
  const dir = new URL('./images/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  let known = new Map<string, string>();
  try {
    known = registryHashes();
  } catch {
    console.warn('registry.json not readable; printing hashes only');
  }
  for (const spec of SPECS) {
    const pixels = render(spec);
    const bytes = spec.file.endsWith('.png') ? encodePng(pixels) : encodeJpeg(pixels);
    writeFileSync(new URL(spec.file, dir), bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const recorded = known.get(spec.file);
    const note =
      recorded === undefined ? 'not in registry' : recorded === sha256 ? 'ok' : 'REGISTRY DIFFERS';
    console.log(`${spec.file}\t${bytes.length} bytes\t${sha256}\t${note}`);
  }
  console.log(`written to ${fileURLToPath(dir)}`);
}

main();
