package active

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/tensor"
)

// stages is a trained model cut into three models of its own, with copies
// of its weights: trunk runs up to the first dropout layer (or the last
// linear layer, if that comes first), mid from there to the last linear
// layer, last the rest. A Monte Carlo dropout pass runs the trunk, which
// is deterministic, once, and samples mid and last; mid's output is the
// penultimate activation core-set selection measures distances in.
type stages struct {
	trunk, mid, last *nn.Model // mid is nil when empty
	hidden, embed    int       // per-sample sizes of trunk's and mid's outputs
	classes          int
}

func splitModel(m *nn.Model) (*stages, error) {
	ls := m.Spec().Layers
	lastLinear := -1
	for i, l := range ls {
		if l.Type == spec.Linear {
			lastLinear = i
		}
	}
	if lastLinear < 1 {
		return nil, fmt.Errorf("active: the model needs a linear output layer after at least one other layer")
	}
	cut := lastLinear
	for i, l := range ls[:lastLinear] {
		if l.Type == spec.Dropout {
			cut = i
			break
		}
	}
	var s stages
	var err error
	if s.trunk, err = subModel(m, 0, cut); err != nil {
		return nil, err
	}
	if cut < lastLinear {
		if s.mid, err = subModel(m, cut, lastLinear); err != nil {
			return nil, err
		}
	}
	if s.last, err = subModel(m, lastLinear, len(ls)); err != nil {
		return nil, err
	}
	s.hidden = tensor.Numel(s.trunk.OutputShape())
	s.embed = s.hidden
	if s.mid != nil {
		s.embed = tensor.Numel(s.mid.OutputShape())
	}
	s.classes = tensor.Numel(s.last.OutputShape())
	return &s, nil
}

// subModel builds layers [from, to) of m as a model of their own holding
// copies of m's weights.
func subModel(m *nn.Model, from, to int) (*nn.Model, error) {
	ms := m.Spec()
	in := ms.Input
	// Weights are overwritten below; the initialiser's draws do not matter.
	rng := rand.New(rand.NewPCG(0, 0))
	if from > 0 {
		pre, err := nn.Build(spec.Model{Input: ms.Input, Layers: ms.Layers[:from]}, rng)
		if err != nil {
			return nil, fmt.Errorf("active: layers [0, %d): %w", from, err)
		}
		in = pre.OutputShape()
	}
	sub, err := nn.Build(spec.Model{Input: in, Layers: ms.Layers[from:to]}, rng)
	if err != nil {
		return nil, fmt.Errorf("active: layers [%d, %d): %w", from, to, err)
	}
	byName := make(map[string]*tensor.Tensor, len(m.Params()))
	for _, p := range m.Params() {
		byName[p.Name] = p.T
	}
	for _, p := range sub.Params() {
		name, err := shiftName(p.Name, from)
		if err != nil {
			return nil, err
		}
		src, ok := byName[name]
		if !ok || src.Len() != p.T.Len() {
			return nil, fmt.Errorf("active: layers [%d, %d): parameter %s has no match %s in the model", from, to, p.Name, name)
		}
		copy(p.T.Data, src.Data)
	}
	return sub, nil
}

// shiftName maps "layers.3.weight" of a sub-model starting at layer from
// to the whole model's "layers.<3+from>.weight".
func shiftName(name string, from int) (string, error) {
	rest, ok := strings.CutPrefix(name, "layers.")
	idx, field, ok2 := strings.Cut(rest, ".")
	i, err := strconv.Atoi(idx)
	if !ok || !ok2 || err != nil {
		return "", fmt.Errorf("active: parameter name %q is not layers.<index>.<field>", name)
	}
	return "layers." + strconv.Itoa(i+from) + "." + field, nil
}
