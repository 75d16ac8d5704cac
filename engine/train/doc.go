// Package train runs training: one optimisation step ([Trainer.Step]) kept
// separate from the epoch loop ([Run]) so that the actor pipeline can drive
// steps itself, evaluation, and checkpoints of models in safetensors form.
//
// Everything here is deterministic for a given job seed and thread count: the
// data order comes from (seed, epoch), initialisation and dropout from the
// seed.
//
// Not here: command-line parsing, terminal output, actors.
package train
