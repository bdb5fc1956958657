package dmath

// The float32 functions evaluate the float64 algorithm on the exactly
// converted argument and round once to float32. The float64 result is within
// about 0.5 ulp of float64, i.e. 2^-29 ulp of float32, so the float32 result
// is the correctly rounded one except when the true value lies within that
// distance of a float32 rounding boundary (then it is off by at most 0.5 ulp
// plus 2^-29). One algorithm serves both precisions, which halves the code to
// transcribe and to keep identical; on the GPU the float32 entry points
// likewise run in double. Overflow to ±Inf, gradual underflow to float32
// subnormals and zero, −0, NaN and ±Inf all come out of the final
// float64→float32 conversion (round to nearest even, as __double2float_rn).

// Exp32 returns e^x.
func Exp32(x float32) float32 { return float32(Exp(float64(x))) }

// Expm1_32 returns e^x − 1.
func Expm1_32(x float32) float32 { return float32(Expm1(float64(x))) }

// Log32 returns the natural logarithm of x.
func Log32(x float32) float32 { return float32(Log(float64(x))) }

// Log1p32 returns log(1+x).
func Log1p32(x float32) float32 { return float32(Log1p(float64(x))) }

// Tanh32 returns the hyperbolic tangent of x.
func Tanh32(x float32) float32 { return float32(Tanh(float64(x))) }

// Sigmoid32 returns 1/(1+e^−x).
func Sigmoid32(x float32) float32 { return float32(Sigmoid(float64(x))) }

// Softplus32 returns log(1+e^x).
func Softplus32(x float32) float32 { return float32(Softplus(float64(x))) }

// Sin32 returns the sine of x (radians).
func Sin32(x float32) float32 { return float32(Sin(float64(x))) }

// Cos32 returns the cosine of x (radians).
func Cos32(x float32) float32 { return float32(Cos(float64(x))) }

// SinPi32 returns sin(π·x).
func SinPi32(x float32) float32 { return float32(SinPi(float64(x))) }

// CosPi32 returns cos(π·x).
func CosPi32(x float32) float32 { return float32(CosPi(float64(x))) }

// Pow32 returns x**y with the special cases of Pow.
func Pow32(x, y float32) float32 { return float32(Pow(float64(x), float64(y))) }
