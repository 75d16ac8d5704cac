package main

import (
	"strings"
	"testing"
)

func TestClusterCommandsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"launch", "--workers", "0", "--ps", "0"}, "at least one node"},
		{[]string{"launch", "--workers", "x"}, "invalid value"},
		{[]string{"node", "--role", "gpu", "--join", "127.0.0.1:1"}, "role"},
		{[]string{"node", "--role", "worker"}, "--join"},
	} {
		code, _, stderr := run(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("troupe %v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
