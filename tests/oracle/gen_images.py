"""Writes the image-decoding test cases: PNG and JPEG files made with PIL (or
by hand for 16-bit PNG) and PIL's own decode of each, as raw 8-bit pixels.
Usage: gen_images.py OUT_DIR. Writes OUT_DIR/cases.txt, one line per check:
  file min_w min_h channels w h tolerance expected_raw
"""
import os
import struct
import sys
import zlib

from PIL import Image

MODES = {1: "L", 3: "RGB", 4: "RGBA"}


def pattern(w, h, seed):
    """Smooth gradients plus a little structure: JPEG-friendly, not flat."""
    px = []
    for y in range(h):
        for x in range(w):
            r = (x * 255 // max(w - 1, 1) + seed) % 256
            g = (y * 255 // max(h - 1, 1) + 3 * seed) % 256
            b = ((x * y) // 3 + 7 * seed) % 256
            px.append((r, g, b))
    im = Image.new("RGB", (w, h))
    im.putdata(px)
    return im


def png16(path, w, h, gray):
    """A 16-bit gray or RGB PNG, written by hand (PIL cannot write RGB;16).
    Returns its samples, row-major, for the expected 8-bit values."""
    ch = 1 if gray else 3
    samples = [((i * 2654435761) >> 7) & 0xFFFF for i in range(w * h * ch)]
    raw = b""
    for y in range(h):
        row = samples[y * w * ch:(y + 1) * w * ch]
        raw += b"\0" + struct.pack(">%dH" % len(row), *row)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", w, h, 16, 0 if gray else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return samples, ch


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    lines = []

    def expect(fname, im, ch, tol=0, min_wh=(0, 0), tag="full"):
        raw = "%s.%s.c%d.raw" % (fname, tag, ch)
        conv = im.convert(MODES[ch])
        with open(os.path.join(out, raw), "wb") as f:
            f.write(conv.tobytes())
        lines.append("%s %d %d %d %d %d %d %s" % (fname, min_wh[0], min_wh[1], ch,
                                                  conv.size[0], conv.size[1], tol, raw))

    def add_pil(fname, im, **save):
        im.save(os.path.join(out, fname), **save)
        back = Image.open(os.path.join(out, fname))
        back.load()
        for ch in (1, 3, 4):
            expect(fname, back, ch)

    base = pattern(37, 23, 1)
    add_pil("gray8.png", base.convert("L"))
    add_pil("rgb8.png", base)
    rgba = base.copy()
    rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    add_pil("rgba8.png", rgba)
    add_pil("la8.png", rgba.convert("LA"))
    add_pil("pal.png", base.quantize(16))
    pal_t = base.quantize(16)
    pal_t.info["transparency"] = 3
    add_pil("pal_trns.png", pal_t, transparency=3)
    add_pil("bits1.png", base.convert("1"))

    # 16-bit: PIL's convert clips I;16 instead of scaling, so the expected
    # 8-bit values are the high bytes, computed here.
    for name, gray in (("gray16.png", True), ("rgb16.png", False)):
        samples, ch = png16(os.path.join(out, name), 19, 11, gray)
        hi = bytes(s >> 8 for s in samples)
        im = Image.frombytes("L" if gray else "RGB", (19, 11), hi)
        for want in (1, 3, 4):
            expect(name, im, want)

    add_pil("rgb420.jpg", pattern(64, 48, 2), quality=90)
    add_pil("rgb444.jpg", pattern(37, 23, 3), quality=95, subsampling=0)
    add_pil("gray.jpg", pattern(40, 30, 4).convert("L"), quality=90)
    add_pil("prog.jpg", pattern(50, 34, 5), quality=85, progressive=True)

    # Reduced-size decode: PIL's draft picks the same libjpeg scale (1/2,
    # 1/4, 1/8) that czoo picks for these minimum sizes.
    for (mw, mh), tag in (((32, 24), "s2"), ((16, 12), "s4"), ((5, 5), "s8"),
                          ((33, 1), "s5"), ((0, 0), "s1")):
        if tag == "s5":
            continue  # 5/8 has no PIL draft equivalent: size-only check in C
        im = Image.open(os.path.join(out, "rgb420.jpg"))
        if (mw, mh) != (0, 0):
            im.draft("RGB", (mw, mh))
        im.load()
        for ch in (1, 3):
            expect("rgb420.jpg", im, ch, min_wh=(mw, mh), tag=tag)

    # Only for the error tests: a CMYK JPEG.
    base.convert("CMYK").save(os.path.join(out, "cmyk.jpg"), quality=90)

    with open(os.path.join(out, "cases.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
