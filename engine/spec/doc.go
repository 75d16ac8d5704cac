// Package spec defines the job specification: the one schema that both the
// `troupe train` flags and a config file (YAML or JSON) fill in.
//
// It holds plain data (Job, Model, Layer and the enums they use), the
// defaults (Default), validation (Job.Validate) and config-file parsing
// (Parse, Load). Every error names the offending field by its config key
// (for example "model_spec.layers[3].kernel"), and parse errors also name the
// file and, where known, the line.
//
// What it does not do: it knows no model presets (any non-empty preset name
// is accepted; the model builder checks it), it does not infer tensor shapes
// through a custom model, and it does not read flags. A file only overrides
// the keys it mentions; everything else keeps its Default value. A file that
// sets model_spec need not clear model: the default preset is dropped
// whenever a custom architecture is given.
package spec
