package clip

import "errors"

var (
	// ErrFormat reports a file that is not a checkpoint format Load knows, or
	// whose contents are inconsistent.
	ErrFormat = errors.New("clip: unknown or corrupt format")
	// ErrTruncated reports a file shorter than its own header says.
	ErrTruncated = errors.New("clip: truncated file")
)
