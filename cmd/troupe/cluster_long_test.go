//go:build long

package main

import "testing"

// The int8 half of the compression acceptance test, which takes two more
// multi-process MNIST runs than CI has room for: int8 reaches 97.5 % with
// pushes at least 3.5 times smaller than none's.
func TestLaunchTrainsMNISTInt8(t *testing.T) {
	needMNIST(t)
	plain := launchMNIST(t, "none")
	q := launchMNIST(t, "int8")
	checkShrink(t, "int8", plain, q, 3.5)
}
