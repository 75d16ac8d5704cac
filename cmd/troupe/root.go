package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

const usage = `troupe — an actor-based concurrent training engine

Usage:
  troupe train [flags]              train a model (default: LeNet-300-100 on MNIST)
  troupe eval --checkpoint FILE     evaluate a saved model on the MNIST test set
  troupe bench train                time one epoch of training (samples/s, allocations per step)
  troupe bench augment              augmentation throughput per transform
  troupe augment preview --out F    draw original and augmented samples as a PNG grid
  troupe active-learn [flags]       pool-based active learning on MNIST (docs/selection.md)
  troupe node --role R --join ADDR  host model replicas or shards for a coordinator (docs/cluster.md)
  troupe launch --workers N --ps M -- [train flags]
                                    train on a cluster of local processes (docs/cluster.md)
  troupe help [command]             show help

Run "troupe help train" for the training flags.
`

// errUsage marks errors already explained to the user; the exit code is 2.
var errUsage = errors.New("usage")

// execute runs one command line and returns the process exit code. It never
// panics: an unexpected panic is reported as an internal error.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "troupe: internal error: %v\n", r)
			code = 70
		}
	}()
	err := dispatch(ctx, args, stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "troupe: %v\n", oneLine(err))
		return 2
	default:
		fmt.Fprintf(stderr, "troupe: %v\n", oneLine(err))
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("no command given: %w", errUsage)
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "train":
		return runTrain(ctx, rest, stdout, stderr)
	case "eval":
		return runEval(ctx, rest, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, stdout, stderr)
	case "active-learn":
		return runActive(ctx, rest, stdout, stderr)
	case "augment":
		return runAugment(ctx, rest, stdout, stderr)
	case "node":
		return runNode(ctx, rest, stdout, stderr)
	case "launch":
		return runLaunch(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		if len(rest) > 0 {
			return dispatch(ctx, []string{rest[0], "--help"}, stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q (want train, eval, bench, augment, active-learn, node, launch, help): %w", cmd, errUsage)
}

// oneLine joins a multi-line error so that every failure prints as one line.
func oneLine(err error) string {
	s := strings.TrimSuffix(err.Error(), ": "+errUsage.Error())
	return strings.ReplaceAll(s, "\n", "; ")
}

// parseFlags parses args into fs, turning flag errors into one-line usage
// errors instead of the flag package's usage dump.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		return err
	}
	if err != nil {
		return fmt.Errorf("%s: %v: %w", fs.Name(), err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q: %w", fs.Name(), fs.Arg(0), errUsage)
	}
	return nil
}
