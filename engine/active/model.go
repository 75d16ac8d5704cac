package active

import "github.com/troupe-ml/troupe/engine/spec"

// GalModel is the network of Gal, Islam and Ghahramani (2017), "Deep
// Bayesian Active Learning with Image Data", for 28×28 MNIST digits:
// conv(32, 4×4)-relu-conv(32, 4×4)-relu-maxpool(2)-dropout(0.25)-
// dense(128)-relu-dropout(0.5)-dense(10). Its two dropout layers are what
// the Monte Carlo dropout acquisition functions sample.
func GalModel() spec.Model {
	return spec.Model{Input: []int{1, 28, 28}, Layers: []spec.Layer{
		{Type: spec.Conv2D, Out: 32, Kernel: 4}, {Type: spec.ReLU},
		{Type: spec.Conv2D, Out: 32, Kernel: 4}, {Type: spec.ReLU},
		{Type: spec.MaxPool2D, Kernel: 2},
		{Type: spec.Dropout, P: 0.25},
		{Type: spec.Flatten},
		{Type: spec.Linear, Out: 128}, {Type: spec.ReLU},
		{Type: spec.Dropout, P: 0.5},
		{Type: spec.Linear, Out: 10},
	}}
}
