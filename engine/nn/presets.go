package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/troupe-ml/troupe/engine/spec"
)

// presets are the named architectures. Inputs are MNIST-shaped [1, 28, 28].
func presets() map[string]spec.Model {
	mnist := []int{1, 28, 28}
	return map[string]spec.Model{
		// LeNet-300-100 (LeCun et al. 1998).
		"mlp": {Input: mnist, Layers: []spec.Layer{
			{Type: spec.Flatten},
			{Type: spec.Linear, Out: 300}, {Type: spec.ReLU},
			{Type: spec.Linear, Out: 100}, {Type: spec.ReLU},
			{Type: spec.Linear, Out: 10},
		}},
		// The 784-800-10 network of Simard et al. (2003), their baseline
		// for distortions.
		"mlp800": {Input: mnist, Layers: []spec.Layer{
			{Type: spec.Flatten},
			{Type: spec.Linear, Out: 800}, {Type: spec.ReLU},
			{Type: spec.Linear, Out: 10},
		}},
		// A compact modern CNN for 28×28 inputs: a 3×3 convolution of 32
		// channels, 2×2 pooling, two 3×3 convolutions of 64 channels at
		// 14×14 and pooling again, each convolution with ReLU, then a
		// dropout-regularised 128-unit head. A forward pass is 11.5 M
		// multiply-adds; a second 32-channel convolution at full
		// resolution would add 7.2 M, as much as the two at 14×14 cost
		// together, and a training step would take 1.6 times as long.
		"cnn": {Input: mnist, Layers: []spec.Layer{
			{Type: spec.Conv2D, Out: 32, Kernel: 3, Pad: 1}, {Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2},
			{Type: spec.Conv2D, Out: 64, Kernel: 3, Pad: 1}, {Type: spec.ReLU},
			{Type: spec.Conv2D, Out: 64, Kernel: 3, Pad: 1}, {Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2},
			{Type: spec.Flatten}, {Type: spec.Dropout, P: 0.25},
			{Type: spec.Linear, Out: 128}, {Type: spec.ReLU}, {Type: spec.Dropout, P: 0.5},
			{Type: spec.Linear, Out: 10},
		}},
		// LeNet-5 with ReLU and max pooling, the common modern reading.
		"lenet5": {Input: mnist, Layers: []spec.Layer{
			{Type: spec.Conv2D, Out: 6, Kernel: 5, Pad: 2}, {Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2},
			{Type: spec.Conv2D, Out: 16, Kernel: 5}, {Type: spec.ReLU},
			{Type: spec.MaxPool2D, Kernel: 2},
			{Type: spec.Flatten},
			{Type: spec.Linear, Out: 120}, {Type: spec.ReLU},
			{Type: spec.Linear, Out: 84}, {Type: spec.ReLU},
			{Type: spec.Linear, Out: 10},
		}},
	}
}

// PresetNames lists the named architectures.
func PresetNames() []string {
	var names []string
	for n := range presets() {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Preset returns the spec of a named architecture.
func Preset(name string) (spec.Model, error) {
	m, ok := presets()[name]
	if !ok {
		return spec.Model{}, fmt.Errorf("model: unknown preset %q (want %s)", name, strings.Join(PresetNames(), ", "))
	}
	return m, nil
}
