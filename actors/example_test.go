package actors_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/troupe-ml/troupe/actors"
	"github.com/troupe-ml/troupe/actors/core"
	"github.com/troupe-ml/troupe/engine/data"
	"github.com/troupe-ml/troupe/engine/spec"
)

// Training a job with two replicas and two parameter-server shards under
// bulk-synchronous updates, from a Go program.
func ExampleRun() {
	job := spec.Default()
	job.Epochs, job.Batch, job.Out = 2, 32, ""
	cfg := actors.Config{Job: job, Workers: 2, PSShards: 2, Sync: core.BSP}

	res, met, err := actors.Run(context.Background(), cfg, bands(640, 1), bands(200, 2))
	if err != nil {
		fmt.Println(err)
		return
	}
	last := res.Epochs[len(res.Epochs)-1]
	fmt.Println("epochs:", len(res.Epochs))
	fmt.Println("accuracy ≥ 0.9:", last.TestAccuracy >= 0.9)
	fmt.Println("samples trained:", met.Workers[0].Samples+met.Workers[1].Samples)
	// Output:
	// epochs: 2
	// accuracy ≥ 0.9: true
	// samples trained: 1280
}

// bands is a toy MNIST-shaped data set: the label is a bright band of rows.
func bands(n int, seed uint64) *data.Dataset {
	r := rand.New(rand.NewPCG(seed, 0))
	ds := &data.Dataset{Name: "bands", N: n, C: 1, H: 28, W: 28, Classes: 10, Mean: 0.1307, Std: 0.3081}
	for range n {
		c := r.IntN(10)
		ds.Labels = append(ds.Labels, int32(c))
		for p := range 28 * 28 {
			v := uint8(r.IntN(60))
			if row := p / 28; row >= 2*c+4 && row < 2*c+7 {
				v += 180
			}
			ds.Pixels = append(ds.Pixels, v)
		}
	}
	return ds
}
