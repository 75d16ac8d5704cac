package train

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/troupe-ml/troupe/engine/checkpoint"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/optim"
	"github.com/troupe-ml/troupe/engine/spec"
)

// Metadata keys of a troupe checkpoint.
const (
	metaFormat    = "format"
	metaModelSpec = "troupe.model_spec"
	metaJob       = "troupe.job"
	metaEpoch     = "troupe.epoch"
	metaStep      = "troupe.step"
	metaAccuracy  = "troupe.test_accuracy"
	metaLoss      = "troupe.train_loss"

	// optimPrefix marks optimizer-state tensors, kept beside the weights so
	// that a run can resume exactly.
	optimPrefix = "optimizer."
)

// State is the training state stored with a checkpoint.
type State struct {
	Job          spec.Job
	Epoch        int
	Step         int
	TestAccuracy float64
	TrainLoss    float64
}

// SaveCheckpoint writes the trainer's model and optimizer state atomically to
// path in safetensors form.
func SaveCheckpoint(path string, t *Trainer, st State) error {
	return saveCheckpoint(path, t.Model(), t.Optimizer().State(), st)
}

// SaveModel writes the model's weights and the training state atomically to
// path, without optimizer state: for callers whose optimizer state lives
// elsewhere, such as parameter-server shards. LoadCheckpoint reads it; a run
// resumed from it starts its optimizer afresh.
func SaveModel(path string, m *nn.Model, st State) error {
	return saveCheckpoint(path, m, nil, st)
}

// SaveCheckpointState writes a model and optimizer state kept outside a
// Trainer (e.g. on a GPU) in SaveCheckpoint's format.
func SaveCheckpointState(path string, m *nn.Model, opt []optim.StateTensor, st State) error {
	return saveCheckpoint(path, m, opt, st)
}

func saveCheckpoint(path string, m *nn.Model, opt []optim.StateTensor, st State) error {
	specJSON, err := json.Marshal(m.Spec())
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	jobJSON, err := json.Marshal(st.Job)
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	meta := map[string]string{
		metaFormat:    "pt",
		metaModelSpec: string(specJSON),
		metaJob:       string(jobJSON),
		metaEpoch:     strconv.Itoa(st.Epoch),
		metaStep:      strconv.Itoa(st.Step),
		metaAccuracy:  strconv.FormatFloat(st.TestAccuracy, 'g', -1, 64),
		metaLoss:      strconv.FormatFloat(st.TrainLoss, 'g', -1, 64),
	}
	var ts []checkpoint.Tensor
	for _, p := range m.Params() {
		ts = append(ts, checkpoint.Tensor{Name: p.Name, Shape: slices.Clone(p.T.Shape()), Data: p.T.Data})
	}
	for _, s := range opt {
		ts = append(ts, checkpoint.Tensor{Name: optimPrefix + s.Name, Shape: []int{len(s.Data)}, Data: s.Data})
	}
	return checkpoint.Write(path, ts, meta)
}

// Loaded is a model restored from a checkpoint.
type Loaded struct {
	Model *nn.Model
	State State
	// Optimizer is the optimizer state saved with the model (names without
	// the checkpoint's "optimizer." prefix); empty when none was saved.
	Optimizer []optim.StateTensor
	// HasJob reports whether the checkpoint carried the job it was trained with.
	HasJob bool
}

// LoadCheckpoint restores a model from path. The architecture comes from the
// checkpoint's metadata unless override is given; every parameter must be
// present with the model's shape.
func LoadCheckpoint(path string, override *spec.Model) (*Loaded, error) {
	ts, meta, err := checkpoint.Read(path)
	if err != nil {
		return nil, err
	}
	var ms spec.Model
	if override != nil {
		ms = *override
	} else {
		raw, ok := meta[metaModelSpec]
		if !ok {
			return nil, fmt.Errorf("%s: metadata has no %q: pass the model explicitly", path, metaModelSpec)
		}
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&ms); err != nil {
			return nil, fmt.Errorf("%s: metadata %q: %w", path, metaModelSpec, err)
		}
	}
	m, err := nn.Build(ms, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	byName := make(map[string]checkpoint.Tensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	for _, p := range m.Params() {
		t, ok := byName[p.Name]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q is missing", path, p.Name)
		}
		if !slices.Equal(t.Shape, p.T.Shape()) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the model wants %v", path, p.Name, t.Shape, p.T.Shape())
		}
		copy(p.T.Data, t.Data)
		delete(byName, p.Name)
	}
	l := &Loaded{Model: m}
	for name, t := range byName {
		rest, ok := strings.CutPrefix(name, optimPrefix)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q does not belong to the model", path, name)
		}
		l.Optimizer = append(l.Optimizer, optim.StateTensor{Name: rest, Data: t.Data})
	}
	// Map order is random; the optimizers look tensors up by name, but a
	// fixed order keeps errors and tests reproducible.
	slices.SortFunc(l.Optimizer, func(a, b optim.StateTensor) int { return strings.Compare(a.Name, b.Name) })
	if raw, ok := meta[metaJob]; ok {
		if err := json.Unmarshal([]byte(raw), &l.State.Job); err != nil {
			return nil, fmt.Errorf("%s: metadata %q: %w", path, metaJob, err)
		}
		l.HasJob = true
	}
	for key, dst := range map[string]*int{metaEpoch: &l.State.Epoch, metaStep: &l.State.Step} {
		if raw, ok := meta[key]; ok {
			v, err := strconv.Atoi(raw)
			if err != nil {
				return nil, fmt.Errorf("%s: metadata %q: %w", path, key, err)
			}
			*dst = v
		}
	}
	for key, dst := range map[string]*float64{metaAccuracy: &l.State.TestAccuracy, metaLoss: &l.State.TrainLoss} {
		if raw, ok := meta[key]; ok {
			v, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				return nil, fmt.Errorf("%s: metadata %q: %w", path, key, err)
			}
			*dst = v
		}
	}
	return l, nil
}
