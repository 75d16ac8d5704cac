// Package train runs training: one optimisation step ([Trainer.Step]) kept
// separate from the epoch loop ([Run]) so that the actor pipeline can drive
// steps itself, evaluation, and checkpoints of models in safetensors form.
// A data-selection step that trains on some samples and only scores others
// can run both in one forward pass ([Trainer.GradientsScored]).
//
// Everything here is deterministic for a given job seed and thread count: the
// data order comes from (seed, epoch), initialisation and dropout from the
// seed.
//
// Not here: command-line parsing, terminal output, actors.
package train
