"""Writes the tiny ImageFolder test_ds_sample reads: PNG and JPEG files of
several sizes and modes in three class folders, plus one corrupt JPEG."""
import os
import sys

from PIL import Image


def smooth(w, h, seed, mode):
    # Gradients with a per-image twist: smooth like photos, cheap to make.
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = ((x * 7 + seed * 31) % 256, (y * 5 + seed * 17) % 256,
                        ((x + y) * 3 + seed * 53) % 256)
    return img.convert(mode)


def main():
    root = sys.argv[1]
    specs = [  # class, name, w, h, mode, format
        ("a", "0.png", 40, 30, "RGB", "PNG"),
        ("a", "1.jpg", 64, 48, "RGB", "JPEG"),
        ("a", "2.png", 20, 33, "L", "PNG"),
        ("b", "3.jpg", 120, 90, "RGB", "JPEG"),
        ("b", "4.png", 31, 31, "RGBA", "PNG"),
        ("b", "5.jpg", 50, 70, "L", "JPEG"),
        ("c", "6.jpg", 200, 150, "RGB", "JPEG"),
        ("c", "7.png", 16, 16, "P", "PNG"),
        ("c", "8.jpg", 90, 60, "RGB", "JPEG"),
    ]
    for i, (cls, name, w, h, mode, fmt) in enumerate(specs):
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        smooth(w, h, i, mode).save(os.path.join(root, cls, name), fmt, quality=90)
    with open(os.path.join(root, "b", "bad.jpg"), "wb") as f:
        f.write(b"\xff\xd8\xff\xe0 this is not a jpeg")


if __name__ == "__main__":
    main()
