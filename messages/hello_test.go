package messages

import (
	"strings"
	"testing"
)

func TestHelloCompatible(t *testing.T) {
	h := NewHello("worker", "v0.3.1")
	if h.GetProtoVersion() != ProtoVersion || h.GetRole() != "worker" || h.GetBuildVersion() != "v0.3.1" {
		t.Fatalf("NewHello = %v", h)
	}
	if err := h.Compatible(); err != nil {
		t.Fatalf("own Hello incompatible: %v", err)
	}

	h.ProtoVersion = "troupe.v1/0"
	err := h.Compatible()
	if err == nil {
		t.Fatal("older proto version accepted")
	}
	for _, want := range []string{`"troupe.v1/0"`, `"` + ProtoVersion + `"`, `"worker"`, `"v0.3.1"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %s", err, want)
		}
	}
	if err := (*Hello)(nil).Compatible(); err == nil {
		t.Error("nil Hello accepted")
	}
}
