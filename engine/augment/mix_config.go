package augment

import "fmt"

// mixKinds lists the batch mixes. They share the Parse syntax and the
// parameter checks of the per-sample transforms but build a Mixer.
func mixKinds() []kind {
	return []kind{
		{
			name: "mixup", p: 1,
			doc: "batch mix: blend each image with a partner from the batch (Zhang et al. 2018)",
			params: []param{
				{name: "alpha", def: 0.2, min: 0, max: 100, minOpen: true, doc: "λ ~ Beta(alpha, alpha), the weight of the sample's own image and label"},
			},
			mixer: func(v map[string]float64) Mixer { return &Mixup{Alpha: v["alpha"]} },
		},
		{
			name: "cutmix", p: 1,
			doc: "batch mix: paste a box of a partner from the batch into each image (Yun et al. 2019)",
			params: []param{
				{name: "alpha", def: 1, min: 0, max: 100, minOpen: true, doc: "box area / image area ≈ 1 − λ₀ with λ₀ ~ Beta(alpha, alpha)"},
			},
			mixer: func(v map[string]float64) Mixer { return &CutMix{Alpha: v["alpha"]} },
		},
	}
}

// isMix reports whether name is a batch mix.
func isMix(name string) bool {
	k, ok := lookup(name)
	return ok && k.mixer != nil
}

// checkMixOrder reports c, the 1-based step following prev, when it breaks
// the rules of batch mixes: at most one per pipeline, and after every
// per-sample transform, which is where it runs.
func checkMixOrder(prev []Config, c Config, step int) *Error {
	for i, q := range prev {
		if !isMix(q.Name) {
			continue
		}
		reason := fmt.Sprintf("follows the batch mix %s (step %d); batch mixes run on whole batches after the per-sample transforms, so list them last", q.Name, i+1)
		if isMix(c.Name) {
			reason = fmt.Sprintf("a second batch mix after %s (step %d); a pipeline takes at most one, since a mixed sample carries two labels", q.Name, i+1)
		}
		return &Error{Offset: -1, Step: step, Transform: c.Name, Reason: reason}
	}
	return nil
}
