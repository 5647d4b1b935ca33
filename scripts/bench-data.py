#!/usr/bin/python3
"""PIL side of the data-pipeline benchmark (scripts/bench-data.ts runs it, once per round).

Same work as the sharp side, single thread, images already in memory, torchvision's PIL path:
  decode:    Image.open(...).convert('RGB')                          (torchvision's pil_loader)
  pipeline:  decode + RandomResizedCrop params + crop, then resize to 224 bilinear (F.resized_crop)
             + horizontal flip (p 0.5) + the uint8 bytes
No draft() (JPEG reduced-scale decoding): torchvision does not use it, and neither does lt-bench by
default. Usage: bench-data.py <dir of .jpg> <seconds per stage>
Prints one JSON object: per stage, images per wall second and per CPU second of this process.
"""
import io, json, math, os, random, sys, time
import PIL
from PIL import Image


def rrc_params(w, h, rng, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)):
    """torchvision RandomResizedCrop.get_params (500x375 is inside the ratio range: no clamped fallback)."""
    area = w * h
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        cw = int(round(math.sqrt(target * aspect)))
        ch = int(round(math.sqrt(target / aspect)))
        if 0 < cw <= w and 0 < ch <= h:
            return rng.randint(0, w - cw), rng.randint(0, h - ch), cw, ch
    return 0, 0, w, h


def run(stage, blobs, seconds, rng):
    """Returns (images per wall second, images per CPU second)."""
    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        for b in blobs:
            img = Image.open(io.BytesIO(b)).convert('RGB')
            if stage == 'pipeline':
                left, top, cw, ch = rrc_params(img.width, img.height, rng)
                img = img.crop((left, top, left + cw, top + ch)).resize((224, 224), Image.BILINEAR)
                if rng.random() < 0.5:
                    img = img.transpose(Image.FLIP_LEFT_RIGHT)
                img.tobytes()
            n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return n / el, n / (time.process_time() - c0)


def main():
    d, seconds = sys.argv[1], float(sys.argv[2])
    blobs = [open(os.path.join(d, f), 'rb').read() for f in sorted(os.listdir(d)) if f.endswith('.jpg')]
    rng = random.Random(0)
    out = {'pil': PIL.__version__, 'images': len(blobs)}
    for stage in ('decode', 'pipeline'):
        run(stage, blobs[:5], 0.1, rng)  # warm-up
        wall, cpu = run(stage, blobs, seconds, rng)
        out[stage] = {'wall': round(wall, 1), 'perCpuSecond': round(cpu, 1)}
    print(json.dumps(out))


main()
