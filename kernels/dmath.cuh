// dmath.cuh is the CUDA twin of package backend/dmath: the same algorithms,
// the same constants and the same sequence of correctly rounded operations,
// so that a kernel's exp, log, tanh, sigmoid, softplus, sin/cos and pow give
// the bits the Go code gives. Read it side by side with backend/dmath/*.go;
// every function here names its Go original, and the statements follow the
// Go statements one to one (Go's a + b + c is (a + b) + c; x += y is
// x = x + (y)).
//
// Every floating-point operation is an explicit __d*_rn intrinsic, which
// nvcc never contracts into an FMA; the other operations used are exact
// (comparisons, fabs, copysign, floor, trunc, bit casts, conversions of
// integers below 2^53, integer arithmetic). Go's untyped constant
// expressions (sqrt2/2-1, sqrt2-1) are exact in float64 and written as such.
//
// The float32 entry points (exp32, …) evaluate in double and round once, as
// dmath's float32.go does.
//
// The public functions are __noinline__: a kernel calls them from many
// unrolled places, and inlining each copy would multiply the PTX (and the
// driver's JIT time at module load) for no gain; their helpers inline.
#ifndef RATESIM_DMATH_CUH
#define RATESIM_DMATH_CUH

#include "arith.cuh"

namespace rs {
namespace dm {

// ---- bit helpers ------------------------------------------------------

__device__ __forceinline__ u64 f64bits(double x) { return (u64)__double_as_longlong(x); }
__device__ __forceinline__ double f64frombits(u64 b) { return __longlong_as_double((i64)b); }
// Go's math.Inf(1), math.Inf(-1) and math.NaN() (0x7FF8000000000001).
__device__ __forceinline__ double inf() { return f64frombits(0x7FF0000000000000ULL); }
__device__ __forceinline__ double neginf() { return f64frombits(0xFFF0000000000000ULL); }
// On the device the NaN comes from inline PTX: nvcc 11.8 numbers the
// registers of several identical NaN constants differently from run to run,
// which made the committed PTX irreproducible; an asm operand is opaque to it.
#ifdef __CUDA_ARCH__
__device__ __forceinline__ double nanv() {
	double r;
	asm("mov.b64 %0, 0x7FF8000000000001;" : "=d"(r));
	return r;
}
#else
__device__ __forceinline__ double nanv() { return f64frombits(0x7FF8000000000001ULL); }
#endif
__device__ __forceinline__ bool isInf(double x) { return fabs(x) == inf(); }

constexpr double maxFloat64 = 0x1.fffffffffffffp+1023;

// ---- dd.go --------------------------------------------------------------

__device__ __forceinline__ void twoSum(double a, double b, double &s, double &e) {
	s = __dadd_rn(a, b);
	double bb = __dsub_rn(s, a);
	e = __dadd_rn(__dsub_rn(a, __dsub_rn(s, bb)), __dsub_rn(b, bb));
}

__device__ __forceinline__ void fastTwoSum(double a, double b, double &s, double &e) {
	s = __dadd_rn(a, b);
	e = __dsub_rn(b, __dsub_rn(s, a));
}

constexpr double splitter = 0x1p27 + 1;

__device__ __forceinline__ void split(double a, double &hi, double &lo) {
	double c = __dmul_rn(splitter, a);
	hi = __dsub_rn(c, __dsub_rn(c, a));
	lo = __dsub_rn(a, hi);
}

__device__ __forceinline__ void twoProd(double a, double b, double &p, double &e) {
	p = __dmul_rn(a, b);
	double ah, al, bh, bl;
	split(a, ah, al);
	split(b, bh, bl);
	e = __dadd_rn(__dadd_rn(__dadd_rn(__dsub_rn(__dmul_rn(ah, bh), p), __dmul_rn(ah, bl)), __dmul_rn(al, bh)),
	              __dmul_rn(al, bl));
}

__device__ __forceinline__ void ddMul(double ah, double al, double bh, double bl, double &h, double &l) {
	double p, e;
	twoProd(ah, bh, p, e);
	e = __dadd_rn(e, __dadd_rn(__dmul_rn(ah, bl), __dmul_rn(al, bh)));
	fastTwoSum(p, e, h, l);
}

__device__ __forceinline__ void ddMulD(double ah, double al, double b, double &h, double &l) {
	double p, e;
	twoProd(ah, b, p, e);
	e = __dadd_rn(e, __dmul_rn(al, b));
	fastTwoSum(p, e, h, l);
}

__device__ __forceinline__ void ddAdd(double ah, double al, double bh, double bl, double &h, double &l) {
	double s, e;
	twoSum(ah, bh, s, e);
	e = __dadd_rn(e, __dadd_rn(al, bl));
	fastTwoSum(s, e, h, l);
}

__device__ __forceinline__ double ddDiv(double nh, double nl, double dh, double dl) {
	double q = __ddiv_rn(nh, dh);
	double p, pe;
	twoProd(q, dh, p, pe);
	double r = __dsub_rn(__dadd_rn(__dsub_rn(__dsub_rn(nh, p), pe), nl), __dmul_rn(q, dl));
	return __dadd_rn(q, __ddiv_rn(r, dh));
}

// pow2 is Go's Float64frombits(uint64(k+1023) << 52), bit for bit also
// outside -1022…1023 (the shift is done unsigned, as Go does it).
__device__ __forceinline__ double pow2(int k) {
	return f64frombits((u64)(i64)(k + 1023) << 52);
}

__device__ __forceinline__ double ldexp(double y, int k) {
	if (k > 1023) {
		return __dmul_rn(__dmul_rn(y, 0x1p1023), pow2(k - 1023));
	}
	if (k < -1022) {
		return __dmul_rn(__dmul_rn(y, pow2(k + 64)), 0x1p-64);
	}
	return __dmul_rn(y, pow2(k));
}

// ---- exp.go -------------------------------------------------------------

constexpr double ln2Hi = 0x1.62e42fefa38p-01;
constexpr double ln2Lo = 0x1.ef35793c7673p-45;
constexpr double invLn2 = 0x1.71547652b82fep+00;
constexpr double expHuge = 710.0;
constexpr double expTiny = -746.0;

constexpr double e3 = 0x1.5555555555555p-03;
constexpr double e4 = 0x1.5555555555555p-05;
constexpr double e5 = 0x1.1111111111111p-07;
constexpr double e6 = 0x1.6c16c16c16c17p-10;
constexpr double e7 = 0x1.a01a01a01a01ap-13;
constexpr double e8 = 0x1.a01a01a01a01ap-16;
constexpr double e9 = 0x1.71de3a556c734p-19;
constexpr double e10 = 0x1.27e4fb7789f5cp-22;
constexpr double e11 = 0x1.ae64567f544e4p-26;
constexpr double e12 = 0x1.1eed8eff8d898p-29;
constexpr double e13 = 0x1.6124613a86d09p-33;
constexpr double e14 = 0x1.93974a8c07c9dp-37;

__device__ __forceinline__ void expCore(double xh, double xl, int &k, double &eh, double &el) {
	double kf = floor(__dadd_rn(__dmul_rn(xh, invLn2), 0.5));
	k = (int)kf;
	double t = __dsub_rn(xh, __dmul_rn(kf, ln2Hi));
	double rh, rl;
	twoSum(t, -__dmul_rn(kf, ln2Lo), rh, rl);
	twoSum(rh, __dadd_rn(rl, xl), rh, rl);

	double zh, zl;
	twoProd(rh, rh, zh, zl);
	double hh = __dmul_rn(zh, 0.5);
	double hl = __dadd_rn(__dmul_rn(zl, 0.5), __dmul_rn(rh, rl));

	double p = e14;
	p = __dadd_rn(__dmul_rn(p, rh), e13);
	p = __dadd_rn(__dmul_rn(p, rh), e12);
	p = __dadd_rn(__dmul_rn(p, rh), e11);
	p = __dadd_rn(__dmul_rn(p, rh), e10);
	p = __dadd_rn(__dmul_rn(p, rh), e9);
	p = __dadd_rn(__dmul_rn(p, rh), e8);
	p = __dadd_rn(__dmul_rn(p, rh), e7);
	p = __dadd_rn(__dmul_rn(p, rh), e6);
	p = __dadd_rn(__dmul_rn(p, rh), e5);
	p = __dadd_rn(__dmul_rn(p, rh), e4);
	p = __dadd_rn(__dmul_rn(p, rh), e3);
	double tail = __dmul_rn(__dmul_rn(zh, rh), p);

	double s, e;
	twoSum(rh, hh, s, e);
	double lo = __dadd_rn(e, __dadd_rn(rl, __dadd_rn(hl, tail)));
	fastTwoSum(s, lo, eh, el);
}

__device__ __forceinline__ void expDD(double x, double &h, double &l) {
	int k;
	double eh, el, s, t;
	expCore(x, 0, k, eh, el);
	fastTwoSum(1, eh, s, t);
	double sc = pow2(k);
	h = __dmul_rn(s, sc);
	l = __dmul_rn(__dadd_rn(t, el), sc);
}

__device__ __noinline__ double exp(double x) {
	if (x != x) {
		return x;
	}
	if (x > expHuge) {
		return inf();
	}
	if (x < expTiny) {
		return 0;
	}
	int k;
	double eh, el, s, t;
	expCore(x, 0, k, eh, el);
	fastTwoSum(1, eh, s, t);
	return ldexp(__dadd_rn(s, __dadd_rn(t, el)), k);
}

__device__ __forceinline__ void expm1Parts(double x, int &k, double &hi, double &lo) {
	double eh, el;
	expCore(x, 0, k, eh, el);
	if (k == 0) {
		hi = eh;
		lo = el;
		return;
	}
	if (k > 0 && k <= 53) {
		double s, t;
		twoSum(__dsub_rn(1, pow2(-k)), eh, s, t);
		hi = s;
		lo = __dadd_rn(t, el);
		return;
	}
	if (k > 53) {
		double s, t;
		twoSum(1, eh, s, t);
		hi = s;
		lo = __dadd_rn(t, el);
		if (k < 120) {
			lo = __dsub_rn(lo, pow2(-k));
		}
		return;
	}
	if (k >= -53) {
		double sc = pow2(k);
		double s, t;
		twoSum(__dsub_rn(sc, 1), __dmul_rn(eh, sc), s, t);
		hi = s;
		lo = __dadd_rn(t, __dmul_rn(el, sc));
		k = 0;
		return;
	}
	hi = -1;
	lo = __dmul_rn(pow2(k), __dadd_rn(1, eh));
	k = 0;
}

__device__ __noinline__ double expm1(double x) {
	if (x != x) {
		return x;
	}
	if (x > expHuge) {
		return inf();
	}
	if (x < -40) {
		return -1;
	}
	if (fabs(x) < 0x1p-54) {
		return x;
	}
	int k;
	double hi, lo;
	expm1Parts(x, k, hi, lo);
	return ldexp(__dadd_rn(hi, lo), k);
}

// ---- log.go -------------------------------------------------------------

constexpr double sqrt2 = 0x1.6a09e667f3bcdp+00;
constexpr u64 fracMask = (1ULL << 52) - 1;
constexpr u64 oneBits = 0x3ffULL << 52;
constexpr double minNormal = 0x1p-1022;

constexpr double ld3h = 0x1.5555555555555p-01;
constexpr double ld3l = 0x1.5555555555555p-55;
constexpr double ld5h = 0x1.999999999999ap-02;
constexpr double ld5l = -0x1.999999999999ap-56;
constexpr double ld7 = 0x1.2492492492492p-02;
constexpr double ld9 = 0x1.c71c71c71c71cp-03;
constexpr double ld11 = 0x1.745d1745d1746p-03;
constexpr double ld13 = 0x1.3b13b13b13b14p-03;
constexpr double ld15 = 0x1.1111111111111p-03;
constexpr double ld17 = 0x1.e1e1e1e1e1e1ep-04;
constexpr double ld19 = 0x1.af286bca1af28p-04;
constexpr double ld21 = 0x1.8618618618618p-04;
constexpr double ld23 = 0x1.642c8590b2164p-04;
constexpr double ld25 = 0x1.47ae147ae147bp-04;
constexpr double ld27 = 0x1.2f684bda12f68p-04;

__device__ __forceinline__ void logReduce(double xh, double xl, int &e, double &sh, double &sl) {
	e = 0;
	if (xh < minNormal) {
		xh = __dmul_rn(xh, 0x1p54);
		xl = __dmul_rn(xl, 0x1p54);
		e = -54;
	}
	u64 b = f64bits(xh);
	int ex = (int)(b >> 52) - 1023;
	e += ex;
	double m = f64frombits((b & fracMask) | oneBits);
	double ml = ldexp(xl, -ex);
	if (m > sqrt2) {
		m = __dmul_rn(m, 0.5);
		ml = __dmul_rn(ml, 0.5);
		e++;
	}
	double fh, fl, dh, dl;
	twoSum(__dsub_rn(m, 1), ml, fh, fl);
	twoSum(2, fh, dh, dl);
	dl = __dadd_rn(dl, fl);
	double inv = __ddiv_rn(1, dh);
	sh = __dmul_rn(fh, inv);
	double p, pe;
	twoProd(sh, dh, p, pe);
	sl = __dmul_rn(__dsub_rn(__dadd_rn(__dsub_rn(__dsub_rn(fh, p), pe), fl), __dmul_rn(sh, dl)), inv);
	fastTwoSum(sh, sl, sh, sl);
}

__device__ __forceinline__ void logMid(double xh, double xl, double &h, double &l) {
	int e;
	double sh, sl;
	logReduce(xh, xl, e, sh, sl);
	double z = __dmul_rn(sh, sh);
	double q = ld21;
	q = __dadd_rn(__dmul_rn(q, z), ld19);
	q = __dadd_rn(__dmul_rn(q, z), ld17);
	q = __dadd_rn(__dmul_rn(q, z), ld15);
	q = __dadd_rn(__dmul_rn(q, z), ld13);
	q = __dadd_rn(__dmul_rn(q, z), ld11);
	q = __dadd_rn(__dmul_rn(q, z), ld9);
	q = __dadd_rn(__dmul_rn(q, z), ld7);
	q = __dadd_rn(__dmul_rn(q, z), ld5h);
	q = __dadd_rn(__dmul_rn(q, z), ld3h);
	double tail = __dmul_rn(__dmul_rn(sh, z), q);
	double lh, ll;
	fastTwoSum(__dmul_rn(2, sh), __dadd_rn(__dmul_rn(2, sl), tail), lh, ll);
	double ek = (double)e;
	double s, t;
	twoSum(__dmul_rn(ek, ln2Hi), lh, s, t);
	fastTwoSum(s, __dadd_rn(t, __dadd_rn(ll, __dmul_rn(ek, ln2Lo))), h, l);
}

__device__ __noinline__ double log(double x) {
	if (x != x || x == inf()) {
		return x;
	}
	if (x < 0) {
		return nanv();
	}
	if (x == 0) {
		return neginf();
	}
	double h, l;
	logMid(x, 0, h, l);
	return __dadd_rn(h, l);
}

__device__ __noinline__ double log1p(double x) {
	if (x != x || x == inf()) {
		return x;
	}
	if (x < -1) {
		return nanv();
	}
	if (x == -1) {
		return neginf();
	}
	if (fabs(x) < 0x1p-54) {
		return x;
	}
	double u, c, h, l;
	twoSum(1, x, u, c);
	logMid(u, c, h, l);
	return __dadd_rn(h, l);
}

__device__ __forceinline__ void logDD(double xh, double xl, double &rh, double &rl) {
	int e;
	double sh, sl;
	logReduce(xh, xl, e, sh, sl);
	double zh, zl;
	twoProd(sh, sh, zh, zl);
	zl = __dadd_rn(zl, __dmul_rn(__dmul_rn(2, sh), sl));
	fastTwoSum(zh, zl, zh, zl);

	double t = ld27;
	t = __dadd_rn(__dmul_rn(t, zh), ld25);
	t = __dadd_rn(__dmul_rn(t, zh), ld23);
	t = __dadd_rn(__dmul_rn(t, zh), ld21);
	t = __dadd_rn(__dmul_rn(t, zh), ld19);
	t = __dadd_rn(__dmul_rn(t, zh), ld17);
	t = __dadd_rn(__dmul_rn(t, zh), ld15);
	t = __dadd_rn(__dmul_rn(t, zh), ld13);
	t = __dadd_rn(__dmul_rn(t, zh), ld11);
	t = __dadd_rn(__dmul_rn(t, zh), ld9);
	double a = __dadd_rn(__dmul_rn(t, zh), ld7);
	double bh, bl, qh, ql, lh, ll;
	ddMulD(zh, zl, a, bh, bl);
	ddAdd(ld5h, ld5l, bh, bl, bh, bl);
	ddMul(zh, zl, bh, bl, qh, ql);
	ddAdd(ld3h, ld3l, qh, ql, qh, ql);
	ddMul(zh, zl, qh, ql, qh, ql);
	ddMul(sh, sl, qh, ql, qh, ql);
	ddAdd(__dmul_rn(2, sh), __dmul_rn(2, sl), qh, ql, lh, ll);

	double ek = (double)e;
	ddAdd(__dmul_rn(ek, ln2Hi), __dmul_rn(ek, ln2Lo), lh, ll, rh, rl);
}

// ---- trig.go ------------------------------------------------------------

constexpr double pio2a = 0x1.921fb544p+00;
constexpr double pio2b = 0x1.0b4611a6p-34;
constexpr double pio2c = 0x1.3198a2ep-69;
constexpr double pio2d = 0x1.b839a252049c1p-104;
constexpr double pio2H = 0x1.921fb54442d18p+00;
constexpr double pio2L = 0x1.1a62633145c07p-54;
constexpr double piH = 0x1.921fb54442d18p+01;
constexpr double piL = 0x1.1a62633145c07p-53;
constexpr double twoOverPi = 0x1.45f306dc9c883p-01;
constexpr double pio4 = 0x1.921fb54442d18p-01;
constexpr double trigBig = 0x1p19;

__constant__ u64 twoOverPiBits[20] = {
    0x0000000000000000ULL,
    0xa2f9836e4e441529ULL, 0xfc2757d1f534ddc0ULL, 0xdb6295993c439041ULL, 0xfe5163abdebbc561ULL,
    0xb7246e3a424dd2e0ULL, 0x06492eea09d1921cULL, 0xfe1deb1cb129a73eULL, 0xe88235f52ebb4484ULL,
    0xe99c7026b45f7e41ULL, 0x3991d639835339f4ULL, 0x9c845f8bbdf9283bULL, 0x1ff897ffde05980fULL,
    0xef2f118b5a0a6d1fULL, 0x6d367ecf27cb09b7ULL, 0x4f463f669e5fea2dULL, 0x7527bac7ebe5f17bULL,
    0x3d0739f78a5292eaULL, 0x6bfb5fb11f8d5d08ULL, 0x56033046fc7b6babULL,
};

// Go's math/bits.Mul64, Add64 and Sub64.
__device__ __forceinline__ void mul64(u64 x, u64 y, u64 &hi, u64 &lo) {
	hi = __umul64hi(x, y);
	lo = x * y;
}
__device__ __forceinline__ u64 add64(u64 x, u64 y, u64 carry, u64 &carryOut) {
	u64 sum = x + y + carry;
	carryOut = ((x & y) | ((x | y) & ~sum)) >> 63;
	return sum;
}
__device__ __forceinline__ u64 sub64(u64 x, u64 y, u64 borrow, u64 &borrowOut) {
	u64 diff = x - y - borrow;
	borrowOut = ((~x & y) | (~(x ^ y) & diff)) >> 63;
	return diff;
}

__device__ __forceinline__ void payneHanek(double a, int &n, double &rh, double &rl) {
	u64 b = f64bits(a);
	int q = (int)(b >> 52) - 1075;
	u64 m = (b & fracMask) | (1ULL << 52);
	int g = q + 62;
	int w = g >> 6;
	unsigned sh = (unsigned)(g & 63);
	u64 w0 = twoOverPiBits[w] << sh | (twoOverPiBits[w + 1] >> 1) >> (63 - sh);
	u64 w1 = twoOverPiBits[w + 1] << sh | (twoOverPiBits[w + 2] >> 1) >> (63 - sh);
	u64 w2 = twoOverPiBits[w + 2] << sh | (twoOverPiBits[w + 3] >> 1) >> (63 - sh);

	u64 h2, z2, h1, l1, h0, l0, c;
	mul64(m, w2, h2, z2);
	mul64(m, w1, h1, l1);
	mul64(m, w0, h0, l0);
	(void)h0;
	u64 z1 = add64(l1, h2, 0, c);
	u64 z0 = l0 + h1 + c;

	n = (int)(z0 >> 62);
	z0 &= (1ULL << 62) - 1;
	bool neg = false;
	if (z0 >= 1ULL << 61) {
		n = (n + 1) & 3;
		u64 br;
		z2 = sub64(0, z2, 0, br);
		z1 = sub64(0, z1, br, br);
		z0 = sub64(0, z0, br, br);
		z0 &= (1ULL << 62) - 1;
		neg = true;
	}

	int s = 0;
	if (z0 == 0) {
		z0 = z1;
		z1 = z2;
		z2 = 0;
		s += 64;
	}
	if (z0 == 0) {
		z0 = z1;
		z1 = z2;
		s += 64;
	}
	if (z0 == 0) {
		rh = 0;
		rl = 0;
		return;
	}
	unsigned lz = (unsigned)__clzll((i64)z0);
	if (lz > 0) {
		z0 = z0 << lz | z1 >> (64 - lz);
		z1 = z1 << lz | z2 >> (64 - lz);
	}
	s += (int)lz;

	u64 hi = z0 >> 11;
	u64 lo = (z0 & ((1ULL << 11) - 1)) << 42 | z1 >> 22;
	double fh = __dmul_rn(__ull2double_rn(hi), pow2(-51 - s));
	double fl = __dmul_rn(__ull2double_rn(lo), pow2(-104 - s));

	twoProd(fh, pio2H, rh, rl);
	rl = __dadd_rn(rl, __dadd_rn(__dmul_rn(fh, pio2L), __dmul_rn(fl, pio2H)));
	fastTwoSum(rh, rl, rh, rl);
	if (neg) {
		rh = -rh;
		rl = -rl;
	}
}

__device__ __forceinline__ void trigReduce(double a, int &n, double &rh, double &rl) {
	if (a <= pio4) {
		n = 0;
		rh = a;
		rl = 0;
		return;
	}
	if (a >= trigBig) {
		payneHanek(a, n, rh, rl);
		return;
	}
	double nf = floor(__dadd_rn(__dmul_rn(a, twoOverPi), 0.5));
	double t = __dsub_rn(a, __dmul_rn(nf, pio2a));
	double e, e2;
	twoSum(t, -__dmul_rn(nf, pio2b), t, e);
	twoSum(t, -__dmul_rn(nf, pio2c), t, e2);
	e = __dsub_rn(__dadd_rn(e, e2), __dmul_rn(nf, pio2d));
	twoSum(t, e, rh, rl);
	n = (int)nf & 3;
}

constexpr double s3 = -0x1.5555555555555p-03;
constexpr double s5 = 0x1.1111111111111p-07;
constexpr double s7 = -0x1.a01a01a01a01ap-13;
constexpr double s9 = 0x1.71de3a556c734p-19;
constexpr double s11 = -0x1.ae64567f544e4p-26;
constexpr double s13 = 0x1.6124613a86d09p-33;
constexpr double s15 = -0x1.ae7f3e733b81fp-41;
constexpr double s17 = 0x1.952c77030ad4ap-49;

constexpr double c4 = 0x1.5555555555555p-05;
constexpr double c6 = -0x1.6c16c16c16c17p-10;
constexpr double c8 = 0x1.a01a01a01a01ap-16;
constexpr double c10 = -0x1.27e4fb7789f5cp-22;
constexpr double c12 = 0x1.1eed8eff8d898p-29;
constexpr double c14 = -0x1.93974a8c07c9dp-37;
constexpr double c16 = 0x1.ae7f3e733b81fp-45;
constexpr double c18 = -0x1.6827863b97d97p-53;

__device__ __forceinline__ double sinKernel(double rh, double rl) {
	double z = __dmul_rn(rh, rh);
	double p = s17;
	p = __dadd_rn(__dmul_rn(p, z), s15);
	p = __dadd_rn(__dmul_rn(p, z), s13);
	p = __dadd_rn(__dmul_rn(p, z), s11);
	p = __dadd_rn(__dmul_rn(p, z), s9);
	p = __dadd_rn(__dmul_rn(p, z), s7);
	p = __dadd_rn(__dmul_rn(p, z), s5);
	p = __dadd_rn(__dmul_rn(p, z), s3);
	double v = __dmul_rn(z, rh);
	return __dadd_rn(rh, __dadd_rn(__dmul_rn(v, p), __dmul_rn(rl, __dsub_rn(1, __dmul_rn(0.5, z)))));
}

__device__ __forceinline__ double cosKernel(double rh, double rl) {
	double zh, zl;
	twoProd(rh, rh, zh, zl);
	double hz = __dmul_rn(0.5, zh);
	double w = __dsub_rn(1, hz);
	double p = c18;
	p = __dadd_rn(__dmul_rn(p, zh), c16);
	p = __dadd_rn(__dmul_rn(p, zh), c14);
	p = __dadd_rn(__dmul_rn(p, zh), c12);
	p = __dadd_rn(__dmul_rn(p, zh), c10);
	p = __dadd_rn(__dmul_rn(p, zh), c8);
	p = __dadd_rn(__dmul_rn(p, zh), c6);
	p = __dadd_rn(__dmul_rn(p, zh), c4);
	double tail = __dmul_rn(__dmul_rn(zh, zh), p);
	double corr = __dadd_rn(__dsub_rn(__dsub_rn(1, w), hz),
	                        __dsub_rn(tail, __dadd_rn(__dmul_rn(0.5, zl), __dmul_rn(rh, rl))));
	return __dadd_rn(w, corr);
}

__device__ __forceinline__ double sinCosQuadrant(int n, double rh, double rl, bool wantCos) {
	if (wantCos) {
		n++;
	}
	switch (n & 3) {
	case 0:
		return sinKernel(rh, rl);
	case 1:
		return cosKernel(rh, rl);
	case 2:
		return -sinKernel(rh, rl);
	}
	return -cosKernel(rh, rl);
}

__device__ __noinline__ double sin(double x) {
	double a = fabs(x);
	if (a < 0x1p-27) {
		return x;
	}
	if (!(a <= maxFloat64)) {
		return nanv();
	}
	int n;
	double rh, rl;
	trigReduce(a, n, rh, rl);
	double r = sinCosQuadrant(n, rh, rl, false);
	if (x < 0) {
		r = -r;
	}
	return r;
}

__device__ __noinline__ double cos(double x) {
	double a = fabs(x);
	if (a < 0x1p-27) {
		return 1;
	}
	if (!(a <= maxFloat64)) {
		return nanv();
	}
	int n;
	double rh, rl;
	trigReduce(a, n, rh, rl);
	return sinCosQuadrant(n, rh, rl, true);
}

__device__ __forceinline__ void halfReduce(double a, int &n, double &f) {
	if (a >= 0x1p53) {
		n = 0;
		f = 0;
		return;
	}
	if (a >= 0x1p51) {
		n = (int)((u64)__dmul_rn(2, a) & 3);
		f = 0;
		return;
	}
	double nf = floor(__dadd_rn(__dmul_rn(2, a), 0.5));
	n = (int)((u64)nf & 3);
	f = __dsub_rn(a, __dmul_rn(0.5, nf));
}

__device__ __noinline__ double sinpi(double x) {
	double a = fabs(x);
	if (!(a <= maxFloat64)) {
		return nanv();
	}
	if (a == 0) {
		return x;
	}
	if (a < 0x1p-30) {
		double y = __dmul_rn(x, 0x1p200);
		double p, e;
		twoProd(y, piH, p, e);
		return __dmul_rn(__dadd_rn(p, __dadd_rn(e, __dmul_rn(y, piL))), 0x1p-200);
	}
	int n;
	double f;
	halfReduce(a, n, f);
	if (f == 0 && (n & 1) == 0) {
		return copysign(0.0, x);
	}
	double rh, rl;
	twoProd(f, piH, rh, rl);
	rl = __dadd_rn(rl, __dmul_rn(f, piL));
	double r = sinCosQuadrant(n, rh, rl, false);
	if (x < 0) {
		r = -r;
	}
	return r;
}

__device__ __noinline__ double cospi(double x) {
	double a = fabs(x);
	if (!(a <= maxFloat64)) {
		return nanv();
	}
	int n;
	double f;
	halfReduce(a, n, f);
	if (f == 0 && (n & 1) == 1) {
		return 0;
	}
	double rh, rl;
	twoProd(f, piH, rh, rl);
	rl = __dadd_rn(rl, __dmul_rn(f, piL));
	return sinCosQuadrant(n, rh, rl, true);
}

// ---- activation.go ------------------------------------------------------

constexpr double third = 0x1.5555555555555p-02;

__device__ __noinline__ double tanh(double x) {
	double a = fabs(x);
	if (x != x) {
		return x;
	}
	if (a > 22) {
		return copysign(1.0, x);
	}
	if (a < 0x1p-28) {
		return x;
	}
	int k;
	double hi, lo;
	expm1Parts(__dmul_rn(2, a), k, hi, lo);
	double sc = pow2(k);
	double th = __dmul_rn(hi, sc), tl = __dmul_rn(lo, sc);
	double dh, dl;
	twoSum(2, th, dh, dl);
	dl = __dadd_rn(dl, tl);
	return copysign(ddDiv(th, tl, dh, dl), x);
}

__device__ __noinline__ double sigmoid(double x) {
	if (x != x) {
		return x;
	}
	if (x > 40) {
		return 1;
	}
	if (x < -40) {
		return exp(x);
	}
	double eh, el, dh, dl;
	expDD(-fabs(x), eh, el);
	fastTwoSum(1, eh, dh, dl);
	dl = __dadd_rn(dl, el);
	if (x >= 0) {
		return ddDiv(1, 0, dh, dl);
	}
	return ddDiv(eh, el, dh, dl);
}

__device__ __noinline__ double softplus(double x) {
	if (x != x) {
		return x;
	}
	if (x > 34) {
		return x;
	}
	if (x < -40) {
		return exp(x);
	}
	double eh, el, lh, ll;
	expDD(-fabs(x), eh, el);
	if (eh < 0x1p-20) {
		double e2 = __dmul_rn(eh, eh);
		lh = eh;
		ll = __dadd_rn(el, __dadd_rn(__dmul_rn(e2, -0.5), __dmul_rn(__dmul_rn(e2, eh), third)));
	} else {
		double uh, ul;
		fastTwoSum(1, eh, uh, ul);
		logMid(uh, __dadd_rn(ul, el), lh, ll);
	}
	if (x > 0) {
		double s, t;
		twoSum(x, lh, s, t);
		return __dadd_rn(s, __dadd_rn(t, ll));
	}
	return __dadd_rn(lh, ll);
}

// ---- pow.go -------------------------------------------------------------

__device__ __forceinline__ bool isOddInt(double y) {
	if (fabs(y) >= 0x1p53) {
		return false;
	}
	double t = trunc(y);
	return t == y && ((i64)t & 1) == 1;
}

__device__ __noinline__ double pow(double x, double y) {
	if (y == 0 || x == 1) {
		return 1;
	}
	if (y != y || x != x) {
		return nanv();
	}
	if (y == 1) {
		return x;
	}
	if (x == 0) {
		if (y < 0) {
			if (isOddInt(y)) {
				return copysign(inf(), x);
			}
			return inf();
		}
		if (isOddInt(y)) {
			return x;
		}
		return 0;
	}
	if (isInf(y)) {
		if (x == -1) {
			return 1;
		}
		if ((fabs(x) < 1) == (y > 0)) {
			return 0;
		}
		return inf();
	}
	if (isInf(x)) {
		if (x > 0) {
			if (y > 0) {
				return inf();
			}
			return 0;
		}
		bool odd = isOddInt(y);
		if (y > 0 && odd) {
			return neginf();
		}
		if (y > 0) {
			return inf();
		}
		if (odd) {
			return copysign(0.0, -1.0);
		}
		return 0;
	}

	bool neg = false;
	if (x < 0) {
		if (trunc(y) != y) {
			return nanv();
		}
		neg = isOddInt(y);
		x = -x;
	}
	if (fabs(y) >= 0x1p64) {
		if (x == 1) {
			return 1;
		}
		if ((x > 1) == (y > 0)) {
			return inf();
		}
		return 0;
	}

	double lh, ll, ph, pe, pl;
	logDD(x, 0, lh, ll);
	twoProd(y, lh, ph, pe);
	fastTwoSum(ph, __dadd_rn(pe, __dmul_rn(y, ll)), ph, pl);
	double r;
	if (ph > expHuge) {
		r = inf();
	} else if (ph < expTiny) {
		r = 0;
	} else {
		int k;
		double eh, el, s, t;
		expCore(ph, pl, k, eh, el);
		fastTwoSum(1, eh, s, t);
		r = ldexp(__dadd_rn(s, __dadd_rn(t, el)), k);
	}
	if (neg) {
		r = -r;
	}
	return r;
}

// ---- float32.go ---------------------------------------------------------

__device__ __forceinline__ float exp32(float x) { return __double2float_rn(exp((double)x)); }
__device__ __forceinline__ float expm1_32(float x) { return __double2float_rn(expm1((double)x)); }
__device__ __forceinline__ float log32(float x) { return __double2float_rn(log((double)x)); }
__device__ __forceinline__ float log1p32(float x) { return __double2float_rn(log1p((double)x)); }
__device__ __forceinline__ float tanh32(float x) { return __double2float_rn(tanh((double)x)); }
__device__ __forceinline__ float sigmoid32(float x) { return __double2float_rn(sigmoid((double)x)); }
__device__ __forceinline__ float softplus32(float x) { return __double2float_rn(softplus((double)x)); }
__device__ __forceinline__ float sin32(float x) { return __double2float_rn(sin((double)x)); }
__device__ __forceinline__ float cos32(float x) { return __double2float_rn(cos((double)x)); }
__device__ __forceinline__ float sinpi32(float x) { return __double2float_rn(sinpi((double)x)); }
__device__ __forceinline__ float cospi32(float x) { return __double2float_rn(cospi((double)x)); }
__device__ __forceinline__ float pow32(float x, float y) { return __double2float_rn(pow((double)x, (double)y)); }

} // namespace dm
} // namespace rs

#endif
