package main

import (
	"context"
	"os"
	"os/signal"
)

// asTroupeEnv makes the test binary run as troupe itself (see TestMain),
// so that multi-process tests need no separate build: troupe launch
// re-executes whatever binary it runs as.
const asTroupeEnv = "TROUPE_TEST_AS_TROUPE"

// runAsTroupe is main's body.
func runAsTroupe() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return execute(ctx, os.Args[1:], os.Stdout, os.Stderr)
}
