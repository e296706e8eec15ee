// Package dtype names the element types that checkpoint files store and
// converts little-endian bytes of each type to float32.
//
// Conversion is exact for float32 and for the half-precision types (float16,
// bfloat16 and their infinities, NaNs and subnormals all have float32
// equivalents). float64 and the integer types are rounded to the nearest
// float32. Bytes are read as little-endian whatever the host order.
package dtype
