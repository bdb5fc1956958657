// mathcheck.cu evaluates one dmath function on an array, so that package
// gpu's tests can compare the device's bits with backend/dmath's (and the
// emulator's) on many arguments. Not used by runs.
#include "dmath.cuh"

namespace rs {

// Function numbers, as gpu's tests number them.
enum { fnExp, fnExpm1, fnLog, fnLog1p, fnTanh, fnSigmoid, fnSoftplus, fnSin, fnCos, fnSinPi, fnCosPi, fnPow };

__device__ __forceinline__ double eval64(i64 fn, double x, double y) {
	switch (fn) {
	case fnExp:
		return dm::exp(x);
	case fnExpm1:
		return dm::expm1(x);
	case fnLog:
		return dm::log(x);
	case fnLog1p:
		return dm::log1p(x);
	case fnTanh:
		return dm::tanh(x);
	case fnSigmoid:
		return dm::sigmoid(x);
	case fnSoftplus:
		return dm::softplus(x);
	case fnSin:
		return dm::sin(x);
	case fnCos:
		return dm::cos(x);
	case fnSinPi:
		return dm::sinpi(x);
	case fnCosPi:
		return dm::cospi(x);
	case fnPow:
		return dm::pow(x, y);
	}
	return dm::nanv();
}

__device__ __forceinline__ float eval32(i64 fn, float x, float y) {
	switch (fn) {
	case fnExp:
		return dm::exp32(x);
	case fnExpm1:
		return dm::expm1_32(x);
	case fnLog:
		return dm::log32(x);
	case fnLog1p:
		return dm::log1p32(x);
	case fnTanh:
		return dm::tanh32(x);
	case fnSigmoid:
		return dm::sigmoid32(x);
	case fnSoftplus:
		return dm::softplus32(x);
	case fnSin:
		return dm::sin32(x);
	case fnCos:
		return dm::cos32(x);
	case fnSinPi:
		return dm::sinpi32(x);
	case fnCosPi:
		return dm::cospi32(x);
	case fnPow:
		return dm::pow32(x, y);
	}
	return __double2float_rn(dm::nanv());
}

} // namespace rs

extern "C" __global__ void mathcheck_f64(rs::i64 fn, const double *x, const double *y, double *out, rs::i64 n) {
	const rs::i64 i = (rs::i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) {
		out[i] = rs::eval64(fn, x[i], y[i]);
	}
}

extern "C" __global__ void mathcheck_f32(rs::i64 fn, const float *x, const float *y, float *out, rs::i64 n) {
	const rs::i64 i = (rs::i64)blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) {
		out[i] = rs::eval32(fn, x[i], y[i]);
	}
}
