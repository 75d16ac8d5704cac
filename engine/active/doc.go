// Package active runs pool-based active learning: starting from a few
// labelled samples it trains a model, scores the unlabelled pool with an
// acquisition function, asks an [Oracle] for the labels of the best batch,
// and repeats, retraining from scratch each round (the protocol of Gal,
// Islam and Ghahramani 2017, whose network [GalModel] describes).
//
// Acquisition functions ([Strategy]): random, max entropy, margin, least
// confidence, BALD and variation ratios (the last two over Monte Carlo
// dropout samples), and core-set selection by k-center greedy on the
// penultimate layer's activations. A batch skips candidates whose input is
// a near-duplicate of one already chosen that round (see [SelectTop]).
//
// Each round trains a fresh model ([TrainConfig]) with Adam, optionally
// with Gal et al.'s data-size dependent L2 prior on the dense layers and
// with training-time augmentation from engine/augment.
//
// Scoring runs on several goroutines, each with its own copy of the model.
// Layers before the first dropout are deterministic, so a Monte Carlo pass
// computes them once per candidate and samples only the layers after.
//
// Not here: data loading, command-line parsing, plotting.
package active
