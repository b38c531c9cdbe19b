//go:build !unix

package engine

// cpuTime is unknown here: the cpu-ns/ref metric reads 0.
func cpuTime() int64 { return 0 }
