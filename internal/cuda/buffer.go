package cuda

// Ptr is a device address. Ptr 0 is the null pointer.
type Ptr uint64

// Add returns p advanced by n float32 elements.
func (p Ptr) Add(n int) Ptr { return p + Ptr(4*n) }

// Buffer is device memory holding Len float32 values.
type Buffer struct {
	Ptr Ptr
	Len int
}
