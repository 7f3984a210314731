package embed

import "math"

// Cosine returns the cosine similarity of a and b, in [-1, 1]. It works on vectors of any
// length, not only unit ones. Vectors of different lengths, empty vectors and zero vectors
// have similarity 0.
func Cosine(a, b []float32) float32 {
	if len(a) != len(b) || len(a) == 0 {
		return 0
	}
	var ab, aa, bb float64
	for i, x := range a {
		y := float64(b[i])
		ab += float64(x) * y
		aa += float64(x) * float64(x)
		bb += y * y
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	c := ab / math.Sqrt(aa*bb)
	return float32(max(-1, min(1, c))) // rounding can step just outside [-1, 1]
}

// dot returns the dot product of a and b[:len(a)]: the cosine similarity when both have unit
// length. It is the inner loop of every search, so it runs eight products per step into
// four independent sums, which lets the CPU overlap the additions, and slices b up front so
// the compiler drops the bounds checks.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+8 <= len(a); i += 8 {
		a8, b8 := a[i:i+8:i+8], b[i:i+8:i+8]
		s0 += a8[0]*b8[0] + a8[4]*b8[4]
		s1 += a8[1]*b8[1] + a8[5]*b8[5]
		s2 += a8[2]*b8[2] + a8[6]*b8[6]
		s3 += a8[3]*b8[3] + a8[7]*b8[7]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}
