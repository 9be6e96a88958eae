/**
 * The quantiles Spark's approximate actions take from Apache Commons Math: the standard normal's, Student's t's and
 * the Poisson's. Written here (no statistics package is a dependency) from the textbook methods: Wichura's AS 241
 * for the normal, bisection on the CDF (a regularized incomplete beta or gamma function, by Lentz's continued
 * fractions) for the others, which is what Commons Math does too, so both agree to well below the digits shown.
 */

/**
 * The standard normal distribution's quantile: the x with P(Z <= x) = p (Wichura's algorithm AS 241, about 16
 * digits). 0 and 1 give -Infinity and Infinity.
 *
 * @example
 * ```ts
 * normalQuantile(0.975); // 1.959963984540054
 * ```
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * horner(AS241.a, r)) / horner(AS241.b, r);
  }
  const r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  const x = r <= 5 ? horner(AS241.c, r - 1.6) / horner(AS241.d, r - 1.6) : horner(AS241.e, r - 5) / horner(AS241.f, r - 5);
  return q < 0 ? -x : x;
}

/** AS 241's coefficients (PPND16), lowest power first, as doubles. */
const AS241 = {
  a: [
    3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987, 67265.7709270087, 33430.57558358813,
    2509.0809287301227,
  ],
  b: [1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271, 28729.085735721943, 5226.495278852546],
  c: [
    1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684, 0.2417807251774506, 0.022723844989269184,
    0.0007745450142783414,
  ],
  d: [
    1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008, 0.015198666563616457, 0.0005475938084995345,
    1.0507500716444169e-9,
  ],
  e: [
    6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124, 0.0012426609473880784,
    0.000027115555687434876, 2.0103343992922881e-7,
  ],
  f: [
    1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133, 0.000018463183175100548, 1.421511758316446e-7,
    2.0442631033899397e-15,
  ],
} as const;

function horner(coefficients: readonly number[], x: number): number {
  let y = 0;
  for (let i = coefficients.length - 1; i >= 0; i--) y = y * x + coefficients[i]!;
  return y;
}

/**
 * Student's t distribution's quantile with `df` degrees of freedom (a positive integer, as Spark passes): the x with
 * P(T <= x) = p, found by bisection on the CDF to the last bit.
 *
 * @example
 * ```ts
 * studentTQuantile(0.975, 2); // 4.302652729...
 * ```
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p >= 0 && p <= 1) || !(df > 0)) return NaN;
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  if (p === 0.5) return 0;
  // Symmetric: find the upper quantile of the smaller tail and mirror it.
  const upper = p > 0.5 ? p : 1 - p;
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < upper) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-15 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < upper) lo = mid;
    else hi = mid;
  }
  const x = (lo + hi) / 2;
  return p > 0.5 ? x : -x;
}

/** P(T <= t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The Poisson distribution's quantile as Commons Math's `inverseCumulativeProbability` gives it: the smallest whole
 * x with P(X <= x) >= p (0 for p = 0, Infinity for p = 1, where Commons Math answers Integer.MAX_VALUE).
 *
 * @example
 * ```ts
 * poissonQuantile(0.025, 100); // 81
 * poissonQuantile(0.975, 100); // 120
 * ```
 */
export function poissonQuantile(p: number, mean: number): number {
  if (!(p >= 0 && p <= 1) || !(mean >= 0)) return NaN;
  if (p === 0 || mean === 0) return 0;
  if (p === 1) return Infinity;
  // Chebyshev's bounds bracket the answer (as Commons Math starts its search), then bisection on whole numbers.
  const sd = Math.sqrt(mean);
  const k = Math.sqrt((1 - p) / p);
  let lo = Math.max(-1, Math.floor(mean - k * sd) - 1);
  let hi = Math.ceil(mean + sd / Math.sqrt(p / (1 - p)) + 1);
  while (poissonCdf(hi, mean) < p) hi *= 2;
  if (lo >= 0 && poissonCdf(lo, mean) >= p) lo = -1;
  // Invariant: cdf(lo) < p <= cdf(hi), with cdf(-1) = 0.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (poissonCdf(mid, mean) >= p) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** P(X <= x) for a Poisson variable of mean `mean`: Q(x + 1, mean), the regularized upper incomplete gamma. */
export function poissonCdf(x: number, mean: number): number {
  if (x < 0) return 0;
  return regularizedGammaQ(Math.floor(x) + 1, mean);
}

const EPS = 1e-15;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000_000;

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 digits). */
function lnGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
    9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  const z = x - 1;
  let a = c[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(a, x) = Γ(a, x) / Γ(a): a series for P below x < a + 1, Lentz's continued fraction for Q above. */
function regularizedGammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const logFront = a * Math.log(x) - x - lnGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - Math.exp(logFront) * sum;
  }
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logFront) * h;
}

/** I_x(a, b), the regularized incomplete beta function, by its continued fraction (on the side that converges). */
function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x > (a + 1) / (a + b + 2)) return 1 - (front * betaFraction(1 - x, b, a)) / b;
  return (front * betaFraction(x, a, b)) / a;
}

function betaFraction(x: number, a: number, b: number): number {
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m < MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return h;
}
