package active

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/troupe-ml/troupe/engine/data/datatest"
)

func quickConfig(s Strategy) Config {
	return Config{
		Model: smallModel(), Strategy: s, PerRound: 5, MaxLabels: 30, PoolSubset: 100,
		MCSamples: 4, DupCosine: 0.95, Seed: 3, Threads: 1, Workers: 2,
		Train: TrainConfig{Epochs: 5, MinSteps: 80, Batch: 16, LR: 3e-3},
	}
}

// Every strategy runs rounds of the promised sizes, never asks for a label
// twice, learns the easy synthetic task, and reads labels only from the
// oracle: a pool with its labels wiped gives the same run.
func TestRunEveryStrategy(t *testing.T) {
	pool, test := datatest.MNISTLike(300, 1), datatest.MNISTLike(200, 2)
	initial, err := BalancedInitial(pool.Labels, 10, 2, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	blind := *pool
	blind.Labels = make([]int32, pool.N)
	strategies := Strategies()
	if raceEnabled {
		// One of each kind of input: none, probabilities, Monte Carlo
		// samples, embeddings.
		strategies = []Strategy{Random, Entropy, BALD, Coreset}
	}
	for _, s := range strategies {
		t.Run(string(s), func(t *testing.T) {
			var asked []int
			oracle := OracleFunc(func(ctx context.Context, idx []int) ([]int32, error) {
				asked = append(asked, idx...)
				return HeldLabels(pool.Labels).Label(ctx, idx)
			})
			var reported []Round
			rounds, err := Run(t.Context(), quickConfig(s), &blind, test, initial, oracle, func(r Round) error {
				reported = append(reported, r)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var labels []int
			for _, r := range rounds {
				labels = append(labels, r.Labels)
			}
			if want := []int{20, 25, 30}; !slices.Equal(labels, want) {
				t.Fatalf("rounds at %v labels, want %v", labels, want)
			}
			if len(reported) != len(rounds) {
				t.Errorf("reported %d rounds, returned %d", len(reported), len(rounds))
			}
			seen := map[int]bool{}
			for _, i := range asked {
				if seen[i] {
					t.Fatalf("sample %d asked twice", i)
				}
				seen[i] = true
			}
			if len(asked) != 30 {
				t.Errorf("oracle asked for %d labels, want 30", len(asked))
			}
			t.Logf("%s: test errors %v", s, errs(rounds))
			if last := rounds[len(rounds)-1]; last.TestError > 0.3 {
				t.Errorf("test error %.3f after 30 labels, want ≤ 0.3 on the synthetic task", last.TestError)
			}
			again, err := Run(t.Context(), quickConfig(s), pool, test, initial, HeldLabels(pool.Labels), nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range again {
				if again[i].TestError != rounds[i].TestError || !slices.Equal(again[i].Acquired, rounds[i].Acquired) {
					t.Fatalf("round %d differs when the pool carries its labels: %+v vs %+v", i, again[i], rounds[i])
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	pool, test := datatest.MNISTLike(60, 1), datatest.MNISTLike(20, 2)
	bad := quickConfig(BALD)
	bad.MCSamples = 1
	if _, err := Run(t.Context(), bad, pool, test, []int{0}, HeldLabels(pool.Labels), nil); err == nil {
		t.Error("bald with 1 Monte Carlo sample accepted")
	}
	bad = quickConfig(Random)
	bad.TestMC = -1
	if _, err := Run(t.Context(), bad, pool, test, []int{0}, HeldLabels(pool.Labels), nil); err == nil {
		t.Error("-1 Monte Carlo test passes accepted")
	}
	bad = quickConfig(Random)
	bad.Train.Augment = "spin"
	if _, err := Run(t.Context(), bad, pool, test, []int{0}, HeldLabels(pool.Labels), nil); err == nil {
		t.Error("unknown augmentation accepted")
	}
	bad = quickConfig("nope")
	if _, err := Run(t.Context(), bad, pool, test, []int{0}, HeldLabels(pool.Labels), nil); err == nil {
		t.Error("unknown strategy accepted")
	}
	fail := errors.New("labeller went home")
	broken := OracleFunc(func(context.Context, []int) ([]int32, error) { return nil, fail })
	if _, err := Run(t.Context(), quickConfig(Entropy), pool, test, []int{0, 1}, broken, nil); !errors.Is(err, fail) {
		t.Errorf("oracle failure: %v, want it wrapped", err)
	}
	short := OracleFunc(func(context.Context, []int) ([]int32, error) { return []int32{1}, nil })
	if _, err := Run(t.Context(), quickConfig(Entropy), pool, test, []int{0, 1}, short, nil); err == nil {
		t.Error("oracle answering 1 label for 2 accepted")
	}
	stop := errors.New("stop")
	rounds, err := Run(t.Context(), quickConfig(Margin), pool, test, []int{0, 1}, HeldLabels(pool.Labels), func(Round) error { return stop })
	if !errors.Is(err, stop) || len(rounds) != 1 {
		t.Errorf("report error: %v after %d rounds, want it after 1", err, len(rounds))
	}
}

// The training options of the benchmark's recipe (augmentation, dense
// decay) and a Monte Carlo test still learn the easy
// synthetic task, and a run repeats exactly.
func TestRunRecipeOptions(t *testing.T) {
	pool, test := datatest.MNISTLike(300, 1), datatest.MNISTLike(200, 2)
	initial, err := BalancedInitial(pool.Labels, 10, 2, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := quickConfig(VarRatios)
	cfg.TestMC = 5
	// The synthetic classes are horizontal bands: a flip keeps them.
	cfg.Train.Augment, cfg.Train.DenseDecay = "hflip", 2
	rounds, err := Run(t.Context(), cfg, pool, test, initial, HeldLabels(pool.Labels), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("test errors %v", errs(rounds))
	if last := rounds[len(rounds)-1]; last.TestError > 0.3 {
		t.Errorf("test error %.3f after 30 labels, want ≤ 0.3 on the synthetic task", last.TestError)
	}
	again, err := Run(t.Context(), cfg, pool, test, initial, HeldLabels(pool.Labels), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(errs(again), errs(rounds)) {
		t.Errorf("test errors %v, then %v", errs(rounds), errs(again))
	}
}

func TestBalancedInitial(t *testing.T) {
	labels := []int32{0, 1, 2, 0, 1, 2, 0, 1, 2, 2}
	got, err := BalancedInitial(labels, 3, 2, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	count := make([]int, 3)
	for _, i := range got {
		count[labels[i]]++
	}
	if !slices.Equal(count, []int{2, 2, 2}) {
		t.Errorf("classes %v in the initial set, want 2 each", count)
	}
	if _, err := BalancedInitial(labels, 3, 4, rand.New(rand.NewPCG(1, 2))); err == nil {
		t.Error("4 per class of 3 available accepted")
	}
}

// GalModel cuts into the stages Monte Carlo dropout needs: everything up
// to the first dropout is computed once, and the embedding is the 128
// activations before the output layer.
func TestGalModelStages(t *testing.T) {
	m := buildModel(t, GalModel())
	st, err := splitModel(m)
	if err != nil {
		t.Fatal(err)
	}
	if st.hidden != 32*11*11 || st.embed != 128 || st.classes != 10 {
		t.Errorf("stages: hidden %d, embed %d, classes %d; want 3872, 128, 10", st.hidden, st.embed, st.classes)
	}
}

func errs(rs []Round) []float64 {
	var out []float64
	for _, r := range rs {
		out = append(out, r.TestError)
	}
	return out
}
