/**
 * NumPy's legacy global generator (`np.random.seed(s)` + `np.random.shuffle`), reproduced bit for
 * bit so that lt-bench can rebuild the exact CIFAR-LT images LDAM-DRW selects
 * (`imbalance_cifar.py`: `np.random.seed(rand_number=0)`, then one `np.random.shuffle` of each
 * class's indices in label order).
 *
 * This is not a source of fresh randomness (that is `Rng`); it replays a published split.
 * MT19937 as in numpy `mt19937.c` (`mt19937_seed` = Matsumoto–Nishimura `init_genrand`), and the
 * 1-D fast path of `RandomState.shuffle`: for i = n−1 … 1, j = random_interval(i) (mask rejection
 * on 32-bit draws), swap.
 */
export class NumpyLegacyRandom {
  private readonly mt = new Uint32Array(624);
  private pos = 624;

  constructor(seed: number) {
    if (!(Number.isInteger(seed) && seed >= 0 && seed <= 0xffffffff))
      throw new Error(`numpy seed must be an integer in 0..2^32-1, got ${seed}`);
    let s = seed >>> 0;
    for (let i = 0; i < 624; i++) {
      this.mt[i] = s;
      const x = (s ^ (s >>> 30)) >>> 0;
      // 1812433253 * x + i + 1 mod 2^32, with the product split to stay exact
      s = ((((x & 0xffff0000) >>> 16) * 1812433253) << 16) + (x & 0x0000ffff) * 1812433253 + i + 1;
      s >>>= 0;
    }
  }

  nextUint32(): number {
    const mt = this.mt;
    if (this.pos >= 624) {
      for (let i = 0; i < 624; i++) {
        const y = (mt[i] & 0x80000000) | (mt[(i + 1) % 624] & 0x7fffffff);
        mt[i] = mt[(i + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.pos = 0;
    }
    let y = mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** numpy `random_interval(max)` for max < 2^32: uniform in [0, max]. */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    do v = (this.nextUint32() & mask) >>> 0;
    while (v > max);
    return v;
  }

  /** `np.random.shuffle` of a 1-D array, in place. */
  shuffle<T extends { length: number; [i: number]: any }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
