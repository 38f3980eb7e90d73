#!/bin/sh
# Writes the seed corpus of the "tiff" fuzz target into seeds/: short fax
# pages (64 rows, so a run stays fast) in the layouts senders and fax
# libraries write: G3 1-D and 2-D (as spandsp receives), G4 (as faxgw
# writes), uncompressed, PackBits, LZW, several strips, LSB-first bit
# order, min-is-black, B4 width, resolution in lines per centimetre, two
# pages, and a grey page that is no fax. Needs python3 and libtiff-tools.
set -eu
cd "$(dirname "$0")"
out=seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An uncompressed 1-bit page: black bars like lines of text.
page() {  # page WIDTH ROWS PHOTOMETRIC XRES YRES UNIT FILE
    python3 - "$@" <<'PY'
import struct, sys
width, rows, photometric = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
xres, yres, unit, path = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
stride = width // 8
data = bytearray()
for y in range(rows):
    ink = (y // 4) % 3 == 1
    for x in range(stride):
        byte = 0xF3 if ink and (x // 6) % 4 != 3 else 0x00
        data.append(byte if photometric == 0 else byte ^ 0xFF)
entries = [(256, 4, 1, width), (257, 4, 1, rows), (258, 3, 1, 1), (259, 3, 1, 1),
           (262, 3, 1, photometric), (273, 4, 1, 0), (277, 3, 1, 1), (278, 4, 1, rows),
           (279, 4, 1, len(data)), (282, 5, 1, 0), (283, 5, 1, 0), (296, 3, 1, unit)]
ifd_at = 8
ifd_size = 2 + 12 * len(entries) + 4
rational_at = ifd_at + ifd_size
data_at = rational_at + 16
out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at))
out += struct.pack("<H", len(entries))
for tag, kind, count, value in entries:
    if tag == 273: value = data_at
    if tag == 282: value = rational_at
    if tag == 283: value = rational_at + 8
    if kind == 3:
        out += struct.pack("<HHIHH", tag, kind, count, value, 0)
    else:
        out += struct.pack("<HHII", tag, kind, count, value)
out += struct.pack("<I", 0)
out += struct.pack("<II", int(xres * 100), 100) + struct.pack("<II", int(yres * 100), 100)
out += data
open(path, "wb").write(out)
PY
}

page 1728 64 0 204 196 2 "$tmp/fine.tif"
page 1728 64 1 204 98 2 "$tmp/black.tif"
page 2048 64 0 204 196 2 "$tmp/b4.tif"
page 1728 64 0 80.31 77.17 3 "$tmp/cm.tif"

cp "$tmp/fine.tif" "$out/uncompressed.tif"
cp "$tmp/black.tif" "$out/min-is-black.tif"
tiffcp -c g3:1d "$tmp/fine.tif" "$out/g3-1d.tif"
tiffcp -c g3:2d:fill "$tmp/cm.tif" "$out/g3-2d-per-cm.tif"
tiffcp -c g4 "$tmp/fine.tif" "$out/g4.tif"
tiffcp -c g4 "$tmp/b4.tif" "$out/g4-b4.tif"
tiffcp -c packbits -r 16 "$tmp/fine.tif" "$out/packbits-strips.tif"
tiffcp -c lzw -f lsb2msb "$tmp/fine.tif" "$out/lzw-lsb-first.tif"
tiffcp -c g4 "$tmp/fine.tif" "$tmp/b4.tif" "$out/two-pages.tif"
# The corner of a scanned page, one 1-bit and one grey page: no fax.
tiffcrop -U px -z 1,1,64,16 -E top -c zip ../../../samples/docs/scan.tif "$out/not-a-fax.tif"
ls -l "$out"
