//! A portable, branch-free exponential and hyperbolic tangent for `f32` and `f64`, which
//! [`Real::exp`](crate::Real::exp) and [`Real::tanh`](crate::Real::tanh) use.
//!
//! The C library's `exp`/`expf` is an opaque call, so a loop over it cannot vectorise. These
//! versions are straight-line arithmetic on the value and its bits (two compares become
//! selects, no table, no division), which the compiler inlines and vectorises with the loop
//! around it: the softmax and log-sum-exp kernels, `sig`, `softplus` and generated code's
//! `Real::exp` all get them.
//!
//! The method, for both types:
//!
//! 1. clamp `x` to `[LO, HI]`, a range a little wider than the one where `eˣ` is neither `0`
//!    nor `+∞` after rounding (so clamping changes no result; NaN passes through the clamp);
//! 2. `k = round(x/ln 2)`, by adding and subtracting `1.5·2ᵖ⁻¹` (`p` the precision), which
//!    also leaves `k` in the low bits of the sum, so no float-to-integer conversion is needed;
//! 3. Cody–Waite reduction `r = (x - k·ln2_hi) - k·ln2_lo`, where `ln2_hi` has enough trailing
//!    zero bits that `k·ln2_hi` and the first subtraction are exact; `|r| ≤ ln 2/2` (plus an
//!    ulp);
//! 4. `eʳ ≈ 1 + r + r²·P(r)`: for `f32` the minimax polynomial of degree 7 of Cephes' `expf`,
//!    for `f64` the Taylor polynomial of degree 13 (truncation error below 0.05 ulp);
//! 5. `eˣ = eʳ · 2^k₁ · 2^k₂` with `k₁ = ⌊k/2⌋`, `k₂ = k - k₁`, both powers built from their
//!    exponent bits. Splitting `2ᵏ` keeps both factors normal over the whole clamped range, so
//!    the first product is exact and the second rounds once: results near the top overflow to
//!    `+∞` and results in the subnormal range are rounded correctly from `eʳ·2ᵏ` (no flushing)
//!    down to `0`.
//!
//! Special values: `+∞ → +∞`, `-∞ → 0`, NaN → NaN, `±0 → 1` exactly.
//!
//! `tanh` ([`tanh_f32`], [`tanh_f64`]) is computed on `a = |x|` and given `x`'s sign at the
//! end (so `tanh(-0) = -0` and the function is exactly odd): below `a = 0.625`, where
//! `1 - 2/(e^{2a} + 1)` would cancel, an odd approximation `a + a·z·R(z)` with `z = a²` (the
//! polynomial of Cephes' `tanhf` for `f32`, the rational function of Cephes' `tanh` for
//! `f64`); above, `1 - 2/(e^{2a} + 1)` with the exponential above, which goes to `1` as
//! `e^{2a}` overflows. Both branches are computed and one is selected, so a loop over it
//! vectorises (glibc's `tanhf` is an opaque call through `expm1f`).
//!
//! Accuracy, measured by the tests below: `f32`, at most 1 ulp from the exact value (every
//! `f32` in range checked by an ignored exhaustive test, a dense sweep by default); `f64`, at
//! most 1 ulp from the standard library's `exp` (which is correctly rounded in practice).

/// `eˣ` for `f32`, at most 1 ulp from the exact value over the whole range, with subnormal
/// results kept; see the [module documentation](self).
#[inline]
#[must_use]
pub fn exp_f32(x: f32) -> f32 {
    // e^89 overflows and e^-104 < 2^-150 underflows to 0 after rounding.
    const HI: f32 = 89.0;
    const LO: f32 = -104.0;
    // 1.5·2^23: adding it rounds to an integer, which ends up in the low mantissa bits.
    const ROUND: f32 = 12_582_912.0;
    const LN2_HI: f32 = 355.0 / 512.0; // 9 significant bits
    const LN2_LO: f32 = -2.121_944_4e-4; // ln 2 - LN2_HI, rounded
    // Cephes expf: eʳ ≈ 1 + r + r²·P(r) on [-ln 2/2, ln 2/2] (its coefficients 1.9875691500e-4,
    // 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
    // written as the shortest decimals of the same `f32`s).
    const P0: f32 = 1.987_569_1e-4;
    const P1: f32 = 1.398_199_9e-3;
    const P2: f32 = 8.333_452e-3;
    const P3: f32 = 4.166_579_6e-2;
    const P4: f32 = 1.666_666_6e-1;
    const P5: f32 = 0.5;

    // Comparisons rather than `min`/`max`, so that NaN goes through unchanged.
    let x = if x > HI { HI } else { x };
    let x = if x < LO { LO } else { x };
    let t = x * std::f32::consts::LOG2_E + ROUND;
    let kf = t - ROUND;
    let k = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let hi = x - kf * LN2_HI; // exact
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let q = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
    // 1 + r + r²·q, with r's rounding error kept out of the linear term.
    let p = 1.0 + (hi - (lo - q * (r * r)));
    let k1 = k >> 1;
    let k2 = k.wrapping_sub(k1);
    let s1 = f32::from_bits((k1.wrapping_add(127) as u32) << 23);
    let s2 = f32::from_bits((k2.wrapping_add(127) as u32) << 23);
    p * s1 * s2
}

/// `1/n!` for `n = 2..=13`, the Taylor coefficients [`exp_f64`] uses after `1 + r`.
const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `eˣ` for `f64`, at most 1 ulp from the correctly rounded value over the whole range, with
/// subnormal results kept; see the [module documentation](self).
#[inline]
#[must_use]
pub fn exp_f64(x: f64) -> f64 {
    // e^710 overflows and e^-746 < 2^-1075 underflows to 0 after rounding.
    const HI: f64 = 710.0;
    const LO: f64 = -746.0;
    // 1.5·2^52.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    // fdlibm's split of ln 2: LN2_HI has 32 trailing zero bits, so k·LN2_HI is exact.
    const LN2_HI: f64 = 6.931_471_803_691_238e-1;
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    const C: [f64; 12] = INV_FACT;

    let x = if x > HI { HI } else { x };
    let x = if x < LO { LO } else { x };
    let t = x * std::f64::consts::LOG2_E + ROUND;
    let kf = t - ROUND;
    let k = (t.to_bits() as i64).wrapping_sub(ROUND.to_bits() as i64);
    let hi = x - kf * LN2_HI; // exact
    let lo = kf * LN2_LO;
    let r = hi - lo;
    let q = C[11] * r + C[10];
    let q = q * r + C[9];
    let q = q * r + C[8];
    let q = q * r + C[7];
    let q = q * r + C[6];
    let q = q * r + C[5];
    let q = q * r + C[4];
    let q = q * r + C[3];
    let q = q * r + C[2];
    let q = q * r + C[1];
    let q = q * r + C[0];
    let p = 1.0 + (hi - (lo - q * (r * r)));
    let k1 = k >> 1;
    let k2 = k.wrapping_sub(k1);
    let s1 = f64::from_bits((k1.wrapping_add(1023) as u64) << 52);
    let s2 = f64::from_bits((k2.wrapping_add(1023) as u64) << 52);
    p * s1 * s2
}

/// Where [`tanh_f32`] and [`tanh_f64`] switch from the odd approximation to the exponential.
const TANH_SMALL: f64 = 0.625;

/// `tanh x` for `f32`, within 2 ulp of the exact value (see the [module documentation](self)).
#[inline]
#[must_use]
pub fn tanh_f32(x: f32) -> f32 {
    // Cephes tanhf on [0, 0.625]: tanh a ≈ a + a·z·P(z), z = a² (its coefficients
    // -5.70498872745e-3, 2.06390887954e-2, -5.37397155531e-2, 1.33314422036e-1,
    // -3.33332819422e-1, as the shortest decimals of the same `f32`s).
    const P0: f32 = -5.704_988_7e-3;
    const P1: f32 = 2.063_909e-2;
    const P2: f32 = -5.373_971_6e-2;
    const P3: f32 = 1.333_144_2e-1;
    const P4: f32 = -3.333_328e-1;
    let a = x.abs();
    let z = a * a;
    let small = a + a * z * ((((P0 * z + P1) * z + P2) * z + P3) * z + P4);
    let large = 1.0 - 2.0 / (exp_f32(a + a) + 1.0);
    let t = if a < TANH_SMALL as f32 { small } else { large };
    t.copysign(x)
}

/// `tanh x` for `f64`, within 2 ulp of the standard library's (see the
/// [module documentation](self)).
#[inline]
#[must_use]
pub fn tanh_f64(x: f64) -> f64 {
    // Cephes tanh on [0, 0.625]: tanh a ≈ a + a·z·P(z)/Q(z), z = a², P of degree 2 and Q
    // monic of degree 3.
    const P: [f64; 3] = [
        -9.643_991_794_250_523e-1,
        -9.928_772_310_019_185e1,
        -1.614_687_684_417_084_5e3,
    ];
    const Q: [f64; 3] = [
        1.128_116_784_916_329_3e2,
        2.235_488_390_601_004_5e3,
        4.844_063_053_251_255e3,
    ];
    let a = x.abs();
    let z = a * a;
    let p = (P[0] * z + P[1]) * z + P[2];
    let q = ((z + Q[0]) * z + Q[1]) * z + Q[2];
    let small = a + a * z * (p / q);
    let large = 1.0 - 2.0 / (exp_f64(a + a) + 1.0);
    let t = if a < TANH_SMALL { small } else { large };
    t.copysign(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error of `got` in ulps of `f32` at the exact value `want` (given in `f64`, whose
    /// own error is far below an `f32` ulp). Overflow is exact when `want` rounds to `+∞`.
    fn ulps_f32(got: f32, want: f64) -> f64 {
        if want.is_nan() || got.is_nan() {
            return if want.is_nan() && got.is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if got.is_infinite() || want as f32 == f32::INFINITY {
            return if f64::from(got) == f64::from(want as f32) {
                0.0
            } else {
                f64::INFINITY
            };
        }
        let e = ((want.to_bits() >> 52) & 0x7ff) as i32 - 1023;
        let ulp = 2f64.powi(e.max(-126) - 23);
        (f64::from(got) - want).abs() / ulp
    }

    /// The distance of `got` from `want` in ulps of `f64` at `want`.
    fn ulps_f64(got: f64, want: f64) -> f64 {
        if want.is_nan() || got.is_nan() {
            return if want.is_nan() && got.is_nan() {
                0.0
            } else {
                f64::INFINITY
            };
        }
        if got.is_infinite() || want.is_infinite() {
            return if got == want { 0.0 } else { f64::INFINITY };
        }
        let ulp = want.abs().next_up() - want.abs();
        (got - want).abs() / ulp
    }

    fn worst_f32(xs: impl Iterator<Item = f32>) -> (f64, f32) {
        xs.map(|x| (ulps_f32(exp_f32(x), f64::from(x).exp()), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    }

    fn worst_f64(xs: impl Iterator<Item = f64>) -> (f64, f64) {
        xs.map(|x| (ulps_f64(exp_f64(x), x.exp()), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
    }

    /// Every `step`-th `f32` bit pattern in `[-104, 89]` (both signs), with the ends.
    fn f32_sweep(step: usize) -> impl Iterator<Item = f32> {
        let pos = (0..=89f32.to_bits()).step_by(step).map(f32::from_bits);
        let neg = (0..=104f32.to_bits())
            .step_by(step)
            .map(|b| -f32::from_bits(b));
        pos.chain(neg).chain([89.0, -104.0])
    }

    /// `n` points spread evenly in value over `[lo, hi]` and `n` spread evenly in bit
    /// pattern over `[0, hi]` and `[lo, 0]` (which covers tiny magnitudes).
    fn f64_sweep(n: u64, lo: f64, hi: f64) -> impl Iterator<Item = f64> {
        let even = (0..=n).map(move |i| lo + (hi - lo) * (i as f64 / n as f64));
        let pos = (0..=n).map(move |i| f64::from_bits(hi.to_bits() / n * i));
        let neg = (0..=n).map(move |i| -f64::from_bits((-lo).to_bits() / n * i));
        even.chain(pos).chain(neg)
    }

    fn f32_edges() -> Vec<f32> {
        let ln2 = std::f32::consts::LN_2;
        let mut v = vec![
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e-45,
            -1e-45,
            f32::EPSILON,
            -f32::EPSILON,
            1.0,
            -1.0,
            ln2 / 2.0,
            -ln2 / 2.0,
            88.722_83,     // ln(f32::MAX), rounded down
            88.722_84,     // just above: overflows
            f32::MAX.ln(), // the overflow threshold
            -87.336_55,    // ln(f32::MIN_POSITIVE)
            -103.278_93,   // ln(2^-149)
            -103.972_08,   // ln(2^-150): rounds to 0 or 2^-149
            -103.972_07,
            -150.0 * ln2,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
        ];
        for k in -150..=128 {
            let x = k as f32 * ln2;
            v.extend([x, x.next_up(), x.next_down()]);
            v.extend([x + ln2 / 2.0, x - ln2 / 2.0]);
        }
        v
    }

    #[test]
    fn exp_f32_special_values() {
        assert_eq!(exp_f32(0.0), 1.0);
        assert_eq!(exp_f32(-0.0), 1.0);
        assert_eq!(exp_f32(1e-30), 1.0);
        assert_eq!(exp_f32(-1e-30), 1.0);
        assert_eq!(exp_f32(f32::INFINITY), f32::INFINITY);
        assert_eq!(exp_f32(f32::MAX), f32::INFINITY);
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert_eq!(exp_f32(88.722_84), f32::INFINITY);
        assert!(exp_f32(88.722_83).is_finite());
        assert_eq!(exp_f32(f32::NEG_INFINITY).to_bits(), 0);
        assert_eq!(exp_f32(f32::MIN).to_bits(), 0);
        assert_eq!(exp_f32(-104.0).to_bits(), 0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert!(exp_f32(-f32::NAN).is_nan());
        // Subnormal results are kept, not flushed.
        assert_eq!(exp_f32(-103.0), f64::from(-103f32).exp() as f32);
        assert_eq!(exp_f32(-103.278_93), f32::from_bits(1));
        assert!(exp_f32(-90.0) > 0.0 && exp_f32(-90.0) < f32::MIN_POSITIVE);
        assert_eq!(exp_f32(1.0), std::f32::consts::E);
    }

    #[test]
    fn exp_f32_is_within_1_ulp() {
        let (ulps, x) = worst_f32(f32_edges().into_iter());
        assert!(ulps <= 1.0, "edges: {ulps} ulp at {x:e}");
        let (ulps, x) = worst_f32(f32_sweep(4099));
        assert!(ulps <= 1.0, "sweep: {ulps} ulp at {x:e}");
    }

    /// Every `f32` in `[-104, 89]`: `cargo test --release -p nnspec-runtime -- --ignored
    /// exhaustive --nocapture`.
    #[test]
    #[ignore = "about 2·10⁹ points; run in release"]
    fn exp_f32_exhaustive() {
        let (ulps, x) = worst_f32(f32_sweep(1));
        println!("exp_f32: max {ulps} ulp at {x:e}");
        assert!(ulps <= 1.0);
    }

    #[test]
    fn exp_f64_special_values() {
        assert_eq!(exp_f64(0.0), 1.0);
        assert_eq!(exp_f64(-0.0), 1.0);
        assert_eq!(exp_f64(1e-30), 1.0);
        assert_eq!(exp_f64(-1e-300), 1.0);
        assert_eq!(exp_f64(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_f64(f64::MAX), f64::INFINITY);
        assert_eq!(exp_f64(709.79), f64::INFINITY);
        assert!(exp_f64(709.78).is_finite());
        assert_eq!(exp_f64(f64::NEG_INFINITY).to_bits(), 0);
        assert_eq!(exp_f64(f64::MIN).to_bits(), 0);
        assert_eq!(exp_f64(-746.0).to_bits(), 0);
        assert_eq!(exp_f64(-745.2).to_bits(), 0);
        assert_eq!(exp_f64(-745.1), f64::from_bits(1));
        assert!(exp_f64(f64::NAN).is_nan());
        assert!(exp_f64(-f64::NAN).is_nan());
        assert!(exp_f64(-720.0) > 0.0 && exp_f64(-720.0) < f64::MIN_POSITIVE);
    }

    #[test]
    fn exp_f64_is_within_1_ulp_of_std() {
        let ln2 = std::f64::consts::LN_2;
        let mut edges = vec![
            0.0,
            -0.0,
            1e-30,
            -1e-30,
            1e-300,
            f64::EPSILON,
            -f64::EPSILON,
            f64::MAX.ln(),
            709.782_712_893_384,
            709.782_712_893_385,
            -708.396_418_532_264_1, // ln(f64::MIN_POSITIVE)
            -744.440_071_921_381,   // ln(2^-1074)
            -745.133_219_101_941_1, // ln(2^-1075)
            -745.133_219_101_941_2,
            710.0,
            -746.0,
        ];
        for k in -1075..=1024 {
            let x = f64::from(k) * ln2;
            edges.extend([x, x.next_up(), x.next_down()]);
            edges.extend([x + ln2 / 2.0, x - ln2 / 2.0]);
        }
        let (ulps, x) = worst_f64(edges.into_iter());
        assert!(ulps <= 1.0, "edges: {ulps} ulp at {x:e}");
        let (ulps, x) = worst_f64(f64_sweep(300_000, -746.0, 710.0));
        assert!(ulps <= 1.0, "sweep: {ulps} ulp at {x:e}");
        let (ulps, x) = worst_f64(f64_sweep(300_000, -1.0, 1.0));
        assert!(ulps <= 1.0, "near 0: {ulps} ulp at {x:e}");
    }

    #[test]
    #[ignore = "10⁸ points; run in release"]
    fn exp_f64_dense() {
        let (ulps, x) = worst_f64(f64_sweep(30_000_000, -746.0, 710.0));
        println!("exp_f64: max {ulps} ulp from std at {x:e}");
        assert!(ulps <= 1.0);
    }

    #[test]
    fn tanh_special_values() {
        assert_eq!(tanh_f32(0.0).to_bits(), 0f32.to_bits());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0f32).to_bits());
        assert_eq!(tanh_f64(-0.0).to_bits(), (-0f64).to_bits());
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert_eq!(tanh_f64(f64::INFINITY), 1.0);
        assert_eq!(tanh_f64(-1e300), -1.0);
        assert_eq!(tanh_f32(1e-30), 1e-30);
        assert_eq!(tanh_f64(-1e-300), -1e-300);
        assert!(tanh_f32(f32::NAN).is_nan() && tanh_f64(f64::NAN).is_nan());
    }

    #[test]
    fn tanh_f32_is_within_2_ulp() {
        let xs = f32_sweep(4099).chain([0.625, 0.625f32.next_down(), 9.0, 9.1, -20.0]);
        let (ulps, x) = xs
            .map(|x| (ulps_f32(tanh_f32(x), f64::from(x).tanh()), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        assert!(ulps <= 2.0, "{ulps} ulp at {x:e}");
    }

    #[test]
    fn tanh_f64_is_within_2_ulp_of_std() {
        let edges = [
            0.625,
            0.625f64.next_down(),
            0.625f64.next_up(),
            19.0,
            19.1,
            1e-8,
        ];
        let xs = f64_sweep(300_000, -30.0, 30.0)
            .chain(f64_sweep(300_000, -1.0, 1.0))
            .chain(edges);
        let (ulps, x) = xs
            .map(|x| (ulps_f64(tanh_f64(x), x.tanh()), x))
            .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
        assert!(ulps <= 2.0, "{ulps} ulp at {x:e}");
    }
}
