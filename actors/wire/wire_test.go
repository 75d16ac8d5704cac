package wire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/troupe-ml/troupe/messages"
)

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a node certificate for 127.0.0.1 signed by ca, and ca's own
// certificate as the trust anchor, into a folder.
func (ca *testCA) issue(t *testing.T, node string) TLSFiles {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(mrand.Int64()), Subject: pkix.Name{CommonName: node},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := TLSFiles{Cert: filepath.Join(dir, "node.pem"), Key: filepath.Join(dir, "node.key"), CA: filepath.Join(dir, "ca.pem")}
	for path, data := range map[string][]byte{
		f.Cert: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		f.Key:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		f.CA:   ca.pem,
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// echoNode starts an actor system with a remote endpoint and an actor
// "echo" that answers every Hello with itself and counts what it got.
func echoNode(t *testing.T, c Config) (*actor.ActorSystem, *Node, *atomic.Int64) {
	t.Helper()
	if raceEnabled {
		t.Skip("several protoactor remotes in one process race inside gRPC's logger (see norace_test.go)")
	}
	sys := quietSystem()
	n, err := Start(sys, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Stop)
	var got atomic.Int64
	_, err = sys.Root.SpawnNamed(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *messages.Hello:
			got.Add(1)
			ctx.Respond(m)
		case *messages.NamedTensor:
			got.Add(1)
			ctx.Respond(&messages.Credit{Stage: m.GetName(), N: 1})
		}
	}), "echo")
	if err != nil {
		t.Fatal(err)
	}
	return sys, n, &got
}

// quietSystem is an actor system whose library logs are discarded.
func quietSystem() *actor.ActorSystem {
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}))
}

func ask(sys *actor.ActorSystem, addr string, msg any, timeout time.Duration) (any, error) {
	return sys.Root.RequestFuture(actor.NewPID(addr, "echo"), msg, timeout).Result()
}

func TestPlainLoopback(t *testing.T) {
	sysA, _, _ := echoNode(t, Config{})
	_, b, got := echoNode(t, Config{})
	if !strings.HasPrefix(b.Addr, "127.0.0.1:") {
		t.Errorf("default listen address %s is not loopback", b.Addr)
	}
	r, err := ask(sysA, b.Addr, messages.NewHello("worker", "test"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := r.(*messages.Hello); !ok || h.GetRole() != "worker" || got.Load() != 1 {
		t.Fatalf("reply %v, %d received", r, got.Load())
	}
}

// TestMutualTLS: nodes with certificates from the cluster's CA talk; a node
// whose certificate another CA signed is refused and delivers nothing.
func TestMutualTLS(t *testing.T) {
	ca, rogue := newCA(t, "troupe test CA"), newCA(t, "rogue CA")
	sysA, _, _ := echoNode(t, Config{TLS: ca.issue(t, "a")})
	_, b, got := echoNode(t, Config{TLS: ca.issue(t, "b")})
	if _, err := ask(sysA, b.Addr, messages.NewHello("worker", "test"), 5*time.Second); err != nil {
		t.Fatalf("trusted node: %v", err)
	}
	// The rogue node trusts the cluster's CA (so it would accept the
	// server) but presents a certificate the cluster does not trust.
	rf := rogue.issue(t, "rogue")
	rf.CA = ca.issue(t, "x").CA
	sysR, _, _ := echoNode(t, Config{TLS: rf})
	before := got.Load()
	if _, err := ask(sysR, b.Addr, messages.NewHello("worker", "rogue"), 2*time.Second); err == nil {
		t.Fatal("a node with an untrusted certificate got an answer")
	}
	// A plaintext node is refused too.
	sysP, _, _ := echoNode(t, Config{})
	if _, err := ask(sysP, b.Addr, messages.NewHello("worker", "plain"), 2*time.Second); err == nil {
		t.Fatal("a plaintext node got an answer")
	}
	if d := got.Load() - before; d != 0 {
		t.Fatalf("untrusted nodes delivered %d messages", d)
	}
}

func TestBadTLSFiles(t *testing.T) {
	if raceEnabled {
		t.Skip("starts protoactor remotes (see norace_test.go)")
	}
	sys := quietSystem()
	if _, err := Start(sys, Config{TLS: TLSFiles{Cert: "x"}}); err == nil || !strings.Contains(err.Error(), "--tls-ca") {
		t.Errorf("incomplete TLS files: %v", err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	if _, err := Start(sys, Config{TLS: TLSFiles{Cert: bad, Key: bad, CA: bad}}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("garbage TLS files: %v", err)
	}
	if _, err := Start(sys, Config{Listen: "127.0.0.1:99999"}); err == nil {
		t.Error("port 99999 accepted")
	}
}

// TestLargeTensorAcrossNodes sends a 64 MiB tensor (beyond gRPC's default
// 4 MiB limit) as slices and checks every slice arrives.
func TestLargeTensorAcrossNodes(t *testing.T) {
	sysA, _, _ := echoNode(t, Config{})
	_, b, got := echoNode(t, Config{})
	data := make([]float32, 16<<20)
	for i := range data {
		data[i] = float32(i % 1000)
	}
	slices := Split("layers.0.weight", data, DefaultChunkBytes)
	if len(slices) != 16 {
		t.Fatalf("%d slices, want 16", len(slices))
	}
	futures := make([]*actor.Future, len(slices))
	for i, s := range slices {
		futures[i] = sysA.Root.RequestFuture(actor.NewPID(b.Addr, "echo"), s, 30*time.Second)
	}
	for i, f := range futures {
		if _, err := f.Result(); err != nil {
			t.Fatalf("slice %d: %v", i, err)
		}
	}
	if got.Load() != 16 {
		t.Fatalf("%d slices arrived, want 16", got.Load())
	}
}

func TestSplitAssemble(t *testing.T) {
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 1000, 4097} {
		data := make([]float32, n)
		for i := range data {
			data[i] = rng.Float32()
		}
		parts := Split("w", data, 4*100)
		if want := max(1, (n+99)/100); len(parts) != want {
			t.Fatalf("n=%d: %d parts, want %d", n, len(parts), want)
		}
		rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
		dst := make([]float32, n)
		a := NewAssembler("w", dst)
		for i, p := range parts {
			done, err := a.Add(p)
			if err != nil {
				t.Fatal(err)
			}
			if done != (i == len(parts)-1) {
				t.Fatalf("n=%d: done=%v after %d of %d parts", n, done, i+1, len(parts))
			}
		}
		for i := range data {
			if dst[i] != data[i] {
				t.Fatalf("n=%d: element %d = %v, want %v", n, i, dst[i], data[i])
			}
		}
	}
}

func TestAssemblerRejects(t *testing.T) {
	dst := make([]float32, 10)
	a := NewAssembler("w", dst)
	ok := &messages.NamedTensor{Name: "w", Offset: 2, Tensor: messages.FromFloat32([]float32{1, 2, 3}, []int{3})}
	if _, err := a.Add(ok); err != nil {
		t.Fatal(err)
	}
	for name, nt := range map[string]*messages.NamedTensor{
		"other name": {Name: "v", Offset: 0, Tensor: messages.FromFloat32([]float32{1}, []int{1})},
		"overlap":    {Name: "w", Offset: 4, Tensor: messages.FromFloat32([]float32{1, 2}, []int{2})},
		"past end":   {Name: "w", Offset: 9, Tensor: messages.FromFloat32([]float32{1, 2}, []int{2})},
		"huge off":   {Name: "w", Offset: 1 << 62, Tensor: messages.FromFloat32([]float32{1}, []int{1})},
		"not f32":    {Name: "w", Offset: 0, Tensor: &messages.Tensor{Dtype: messages.DType_I8, Shape: []int64{1}, Data: []byte{1}}},
		"no tensor":  {Name: "w", Offset: 0},
		"empty":      {Name: "w", Offset: 0, Tensor: messages.FromFloat32(nil, []int{0})},
	} {
		before := append([]float32(nil), dst...)
		if _, err := a.Add(nt); err == nil {
			t.Errorf("%s: accepted", name)
		}
		for i := range dst {
			if dst[i] != before[i] {
				t.Fatalf("%s: element %d changed on error", name, i)
			}
		}
	}
}

// FuzzAssemble feeds two arbitrary slices: whatever is accepted lies
// inside the tensor and never overlaps, so the count of received elements
// cannot exceed its size, and done means every element arrived.
func FuzzAssemble(f *testing.F) {
	f.Add(uint64(0), 3, uint8(1), uint64(3), 7)
	f.Fuzz(func(t *testing.T, off1 uint64, n1 int, dtype uint8, off2 uint64, n2 int) {
		if n1 < 0 || n1 > 64 || n2 < 0 || n2 > 64 {
			return
		}
		dst := make([]float32, 32)
		a := NewAssembler("w", dst)
		mk := func(off uint64, n int) *messages.NamedTensor {
			tn := messages.FromFloat32(make([]float32, n), []int{n})
			tn.Dtype = messages.DType(dtype % 6)
			return &messages.NamedTensor{Name: "w", Offset: off, Tensor: tn}
		}
		for _, p := range []*messages.NamedTensor{mk(off1, n1), mk(off2, n2)} {
			done, err := a.Add(p)
			if err != nil {
				continue
			}
			if p.GetOffset()+uint64(len(p.GetTensor().GetData())/4) > uint64(len(dst)) {
				t.Fatalf("accepted a slice past the end: offset %d", p.GetOffset())
			}
			if done != (a.received == len(dst)) || a.received > len(dst) {
				t.Fatalf("done=%v with %d of %d elements", done, a.received, len(dst))
			}
		}
	})
}
