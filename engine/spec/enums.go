package spec

import (
	"fmt"
	"strings"
)

// Optimizer names the parameter-update rule.
type Optimizer string

// Supported optimizers.
const (
	SGD   Optimizer = "sgd"
	Adam  Optimizer = "adam"
	AdamW Optimizer = "adamw"
)

// Optimizers lists every valid Optimizer, in documentation order.
func Optimizers() []Optimizer { return []Optimizer{SGD, Adam, AdamW} }

// Valid reports whether o is one of Optimizers.
func (o Optimizer) Valid() bool { return oneOf(o, Optimizers()) }

// ParseOptimizer returns the Optimizer spelled s; matching is exact so that a
// flag and a config file accept the same spellings.
func ParseOptimizer(s string) (Optimizer, error) { return parseEnum(Optimizer(s), Optimizers()) }

// Schedule names the learning-rate schedule.
type Schedule string

// Supported learning-rate schedules.
const (
	Constant Schedule = "constant"
	Step     Schedule = "step"
	Cosine   Schedule = "cosine"
)

// Schedules lists every valid Schedule.
func Schedules() []Schedule { return []Schedule{Constant, Step, Cosine} }

// Valid reports whether s is one of Schedules.
func (s Schedule) Valid() bool { return oneOf(s, Schedules()) }

// ParseSchedule returns the Schedule spelled s.
func ParseSchedule(s string) (Schedule, error) { return parseEnum(Schedule(s), Schedules()) }

// Sync names the parameter servers' consistency model.
type Sync string

// Supported consistency models.
const (
	BSP   Sync = "bsp"   // synchronous: the average of all workers' gradients per step
	Async Sync = "async" // every push applied at once
	SSP   Sync = "ssp"   // bounded staleness: no worker more than staleness steps ahead
)

// Syncs lists every valid Sync.
func Syncs() []Sync { return []Sync{BSP, Async, SSP} }

// Valid reports whether s is one of Syncs.
func (s Sync) Valid() bool { return oneOf(s, Syncs()) }

// ParseSync returns the Sync spelled s.
func ParseSync(s string) (Sync, error) { return parseEnum(Sync(s), Syncs()) }

// Selection names the online data-selection strategy.
type Selection string

// Supported selection strategies.
const (
	Uniform           Selection = "uniform"            // every sample, in the epoch's shuffled order
	SelectiveBackprop Selection = "selective-backprop" // Jiang et al. 2019: backward only for high-loss samples
	LossRank          Selection = "loss-rank"          // Loshchilov & Hutter 2015: batches drawn by loss rank
	Importance        Selection = "importance"         // Katharopoulos & Fleuret 2018: drawn by loss, re-weighted
)

// Selections lists every valid Selection.
func Selections() []Selection { return []Selection{Uniform, SelectiveBackprop, LossRank, Importance} }

// Valid reports whether s is one of Selections.
func (s Selection) Valid() bool { return oneOf(s, Selections()) }

// ParseSelection returns the Selection spelled s.
func ParseSelection(s string) (Selection, error) { return parseEnum(Selection(s), Selections()) }

// Device names where training runs.
type Device string

// Supported devices.
const (
	CPU  Device = "cpu"
	CUDA Device = "cuda" // an NVIDIA GPU through the CUDA driver
)

// Devices lists every valid Device.
func Devices() []Device { return []Device{CPU, CUDA} }

// Valid reports whether d is one of Devices.
func (d Device) Valid() bool { return oneOf(d, Devices()) }

// ParseDevice returns the Device spelled s.
func ParseDevice(s string) (Device, error) { return parseEnum(Device(s), Devices()) }

// LayerType names the kind of one Layer in a declarative model.
type LayerType string

// Supported layer types.
const (
	Linear    LayerType = "linear"
	Conv2D    LayerType = "conv2d"
	MaxPool2D LayerType = "maxpool2d"
	ReLU      LayerType = "relu"
	GELU      LayerType = "gelu"
	Tanh      LayerType = "tanh"
	Sigmoid   LayerType = "sigmoid"
	Dropout   LayerType = "dropout"
	LayerNorm LayerType = "layernorm"
	Flatten   LayerType = "flatten"
	Embedding LayerType = "embedding"
)

// LayerTypes lists every valid LayerType.
func LayerTypes() []LayerType {
	return []LayerType{Linear, Conv2D, MaxPool2D, ReLU, GELU, Tanh, Sigmoid, Dropout, LayerNorm, Flatten, Embedding}
}

// Valid reports whether t is one of LayerTypes.
func (t LayerType) Valid() bool { return oneOf(t, LayerTypes()) }

// ParseLayerType returns the LayerType spelled s.
func ParseLayerType(s string) (LayerType, error) { return parseEnum(LayerType(s), LayerTypes()) }

func oneOf[T ~string](v T, all []T) bool {
	for _, a := range all {
		if v == a {
			return true
		}
	}
	return false
}

func parseEnum[T ~string](v T, all []T) (T, error) {
	if oneOf(v, all) {
		return v, nil
	}
	return "", enumError(v, all)
}

// enumError lists the valid spellings, since a typo is the usual cause.
func enumError[T ~string](v T, all []T) error {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = string(a)
	}
	if v == "" {
		return fmt.Errorf("missing (want %s)", strings.Join(names, ", "))
	}
	return fmt.Errorf("unknown %q (want %s)", string(v), strings.Join(names, ", "))
}
