package main

import (
	"os"
	"strconv"
	"strings"
)

// The files that hold the container's memory limit, in cgroup v2 and v1.
const (
	cgroupV2MemoryMax   = "/sys/fs/cgroup/memory.max"
	cgroupV1MemoryLimit = "/sys/fs/cgroup/memory/memory.limit_in_bytes"
)

// softMemoryLimit is the GOMEMLIMIT serve sets when none is given: 80% of
// the container's memory, so that with GOGC=400 garbage cannot push the heap
// past what the container allows. It returns 0 when no limit is found
// (cgroup v1 writes a huge number for "no limit"). The first of files that
// exists decides.
func softMemoryLimit(files ...string) int64 {
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0 // "max", or v1's unlimited
		}
		return n / 5 * 4
	}
	return 0
}
