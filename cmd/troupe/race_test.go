//go:build race

package main

// raceEnabled reports a -race build, whose training runs too slowly for
// the multi-process MNIST test.
const raceEnabled = true
