//go:build !unix

package decompose

import "time"

// cpuTime is unavailable here; benchmarks report 0 CPU seconds.
func cpuTime() time.Duration { return 0 }
