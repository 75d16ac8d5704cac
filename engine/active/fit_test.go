package active

import (
	"math"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/data/datatest"
	"github.com/troupe-ml/troupe/engine/nn"
	"github.com/troupe-ml/troupe/engine/tensor"
)

func TestTrainConfigValidate(t *testing.T) {
	good := DefaultTrain()
	if err := good.validate(); err != nil {
		t.Fatalf("DefaultTrain: %v", err)
	}
	for name, mod := range map[string]func(*TrainConfig){
		"epochs":      func(c *TrainConfig) { c.Epochs = 0 },
		"steps":       func(c *TrainConfig) { c.MinSteps = -1 },
		"batch":       func(c *TrainConfig) { c.Batch = 0 },
		"lr":          func(c *TrainConfig) { c.LR = math.NaN() },
		"decay":       func(c *TrainConfig) { c.WeightDecay = -1 },
		"dense decay": func(c *TrainConfig) { c.DenseDecay = math.NaN() },
		"augment":     func(c *TrainConfig) { c.Augment = "crop(pad=-1)" },
		"batch mix":   func(c *TrainConfig) { c.Augment = "affine,mixup" },
	} {
		c := good
		mod(&c)
		if err := c.validate(); err == nil {
			t.Errorf("%s: %+v accepted", name, c)
		}
	}
}

func TestTrainSteps(t *testing.T) {
	c := TrainConfig{Epochs: 10, MinSteps: 50, MaxSteps: 120, Batch: 32}
	for _, tc := range []struct{ n, want int }{
		{20, 50},   // 10 epochs of 1 batch, raised to the minimum
		{200, 70},  // 10 epochs of 7 batches
		{500, 120}, // 10 epochs of 16 batches, capped
	} {
		if got := c.steps(tc.n); got != tc.want {
			t.Errorf("%d labels: %d steps, want %d", tc.n, got, tc.want)
		}
	}
}

// DenseDecay decays the linear layers' weights only, by DenseDecay/n on
// top of WeightDecay; biases and convolutions are exempt.
func TestDecayedParams(t *testing.T) {
	m := buildSmall(t)
	ps, decay, err := decayedParams(m, TrainConfig{WeightDecay: 0.01, DenseDecay: 2}, 40)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.01 + 2.0/40; math.Abs(decay-want) > 1e-12 {
		t.Errorf("decay %v, want %v", decay, want)
	}
	var decayed []string
	for _, p := range ps {
		if !p.NoDecay {
			decayed = append(decayed, p.Name)
		}
	}
	// smallModel's linear layers are layers 5 and 8.
	if want := []string{"layers.5.weight", "layers.8.weight"}; !slices.Equal(decayed, want) {
		t.Errorf("decayed %v, want %v", decayed, want)
	}
	ps, decay, err = decayedParams(m, TrainConfig{WeightDecay: 0.01}, 40)
	if err != nil || decay != 0.01 {
		t.Fatalf("plain decay: %v, %v; want 0.01", decay, err)
	}
	for _, p := range ps {
		if p.NoDecay != (p.Name != "layers.0.weight" && p.Name != "layers.5.weight" && p.Name != "layers.8.weight") {
			t.Errorf("plain decay: %s NoDecay %v", p.Name, p.NoDecay)
		}
	}
}

// Training with a strong dense prior leaves the linear layers with
// smaller weights than training without.
func TestFitDenseDecayShrinksWeights(t *testing.T) {
	ds := datatest.MNISTLike(40, 1)
	norm := func(dd float64) float64 {
		c := TrainConfig{Epochs: 1, MinSteps: 40, Batch: 8, LR: 3e-3, DenseDecay: dd}
		m, err := fit(t.Context(), smallModel(), c, ds, 5, tensor.CPUBackend{})
		if err != nil {
			t.Fatal(err)
		}
		return paramNorm(t, m, "layers.5.weight")
	}
	free, decayed := norm(0), norm(400) // 400/40 = 10 per unit weight
	t.Logf("dense weight norm: %.3f free, %.3f decayed", free, decayed)
	if !(decayed < 0.5*free) {
		t.Errorf("dense weight norm %.3f with decay, %.3f without; want under half", decayed, free)
	}
}

func paramNorm(t *testing.T, m *nn.Model, name string) float64 {
	t.Helper()
	for _, p := range m.Params() {
		if p.Name == name {
			var s float64
			for _, v := range p.T.Data {
				s += float64(v) * float64(v)
			}
			return math.Sqrt(s)
		}
	}
	t.Fatalf("no parameter %s", name)
	return 0
}

// With random crops, each training image is its source moved by at most
// pad pixels along each axis, the vacated pixels black; without
// augmentation the batch is untouched.
func TestAugmenterCrop(t *testing.T) {
	ds := datatest.MNISTLike(8, 3)
	size := ds.SampleSize()
	x := make([]float32, ds.N*size)
	ds.Fill([]int{0, 1, 2, 3, 4, 5, 6, 7}, x, make([]int32, ds.N))
	none, err := newAugmenter("", []int{1, 28, 28}, ds, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := none.apply(x, 0); &got[0] != &x[0] {
		t.Error("no augmentation copied the batch")
	}
	if _, err := newAugmenter("crop(pad=2)", []int{784}, ds, 1); err == nil {
		t.Error("crop of flat input accepted")
	}
	const pad = 2
	a, err := newAugmenter("crop(pad=2)", []int{1, 28, 28}, ds, 1)
	if err != nil {
		t.Fatal(err)
	}
	out := a.apply(x, 3)
	black := -ds.Mean / ds.Std
	moved := 0
	for i := range ds.N {
		src, dst := x[i*size:(i+1)*size], out[i*size:(i+1)*size]
		found := false
		for dy := -pad; dy <= pad && !found; dy++ {
			for dx := -pad; dx <= pad && !found; dx++ {
				found = shiftedBy(src, dst, dx, dy, black)
				if found && (dx != 0 || dy != 0) {
					moved++
				}
			}
		}
		if !found {
			t.Errorf("image %d is not its source shifted by at most %d pixels", i, pad)
		}
	}
	if moved == 0 {
		t.Error("no image of 8 moved")
	}
}

func shiftedBy(src, dst []float32, dx, dy int, fill float32) bool {
	for y := range 28 {
		for x := range 28 {
			want := fill
			if sx, sy := x-dx, y-dy; sx >= 0 && sx < 28 && sy >= 0 && sy < 28 {
				want = src[sy*28+sx]
			}
			if dst[y*28+x] != want {
				return false
			}
		}
	}
	return true
}
