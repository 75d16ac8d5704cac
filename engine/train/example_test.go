package train_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
	"github.com/troupe-ml/troupe/engine/train"
)

// A Go program builds a model from a job specification, runs training steps on
// its own batches and evaluates, without the command-line tool.
func Example() {
	job := spec.Default()
	job.ModelSpec = &spec.Model{Input: []int{1, 2, 2}, Layers: []spec.Layer{
		{Type: spec.Flatten}, {Type: spec.Linear, Out: 8}, {Type: spec.ReLU}, {Type: spec.Linear, Out: 2},
	}}
	job.Model = ""
	job.Epochs = 1
	job.LR = 0.1

	// A toy data set: class 1 images are bright, class 0 dark.
	r := rand.New(rand.NewPCG(1, 2))
	ds := &data.Dataset{Name: "toy", N: 256, C: 1, H: 2, W: 2, Classes: 2, Mean: 0.5, Std: 0.25}
	for i := 0; i < ds.N; i++ {
		label := int32(i % 2)
		for p := 0; p < 4; p++ {
			ds.Pixels = append(ds.Pixels, uint8(40+170*label)+uint8(r.IntN(40)))
		}
		ds.Labels = append(ds.Labels, label)
	}

	tr, err := train.Setup(job, 100, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := make([]float32, 32*4)
	y := make([]int32, 32)
	idx := make([]int, 32)
	for step := 0; step < 100; step++ {
		for i := range idx {
			idx[i] = r.IntN(ds.N)
		}
		ds.Fill(idx, x, y)
		if _, err := tr.Step(x, y, nil); err != nil {
			fmt.Println(err)
			return
		}
	}
	ev, err := train.NewEvaluator(nil).Evaluate(tr.Model(), ds, 64)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("accuracy %.2f after %d steps\n", ev.Accuracy, tr.StepCount())
	// Output: accuracy 1.00 after 100 steps
}
