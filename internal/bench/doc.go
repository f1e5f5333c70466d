// Package bench holds Liftoff's end-to-end benchmarks, each measured against
// a baseline run on the same machine in the same run and reported as a
// ratio: this machine is shared and noisy, absolute figures are not. Run them
// with `make bench`.
package bench
