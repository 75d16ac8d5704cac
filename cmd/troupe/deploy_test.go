package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// k8sObject is the part of a Kubernetes manifest the deployment test reads.
type k8sObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas    *int   `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Ports       []struct {
			Port int `yaml:"port"`
		} `yaml:"ports"`
		Template struct {
			Spec struct {
				Containers []struct {
					Args []string `yaml:"args"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
	Resources []string `yaml:"resources"` // kustomization
}

// TestDeployManifests keeps deploy/k8s in step with the command line: every
// manifest parses, the kustomization lists every file, every container's
// arguments are flags its troupe subcommand defines (--flag=value, or a
// boolean --flag), the coordinator waits
// for as many nodes as the StatefulSets run and places one replica per
// worker node and one shard per ps node, and the nodes join the
// coordinator's Service and advertise names under their headless Service.
func TestDeployManifests(t *testing.T) {
	dir := filepath.Join("..", "..", "deploy", "k8s")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in %s (err %v)", dir, err)
	}
	var objs []k8sObject
	var listed []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var o k8sObject
			err := dec.Decode(&o)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o.Kind == "Kustomization" {
				listed = o.Resources
				continue
			}
			if o.Kind == "" || o.Metadata.Name == "" {
				t.Fatalf("%s: an object without kind or name", f)
			}
			objs = append(objs, o)
		}
	}
	for _, f := range files {
		if base := filepath.Base(f); base != "kustomization.yaml" && !slices.Contains(listed, base) {
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}

	helps := map[string]string{}
	flagsOf := func(sub string) string {
		if h, ok := helps[sub]; ok {
			return h
		}
		code, _, stderr := run(t, sub, "--help")
		if code != 0 {
			t.Fatalf("troupe %s --help: exit %d", sub, code)
		}
		helps[sub] = stderr
		return stderr
	}
	type container struct {
		obj   k8sObject
		flags map[string]string
	}
	var containers []container
	for _, o := range objs {
		for _, c := range o.Spec.Template.Spec.Containers {
			if len(c.Args) == 0 {
				t.Fatalf("%s %s: a container without arguments", o.Kind, o.Metadata.Name)
			}
			sub, flags := c.Args[0], map[string]string{}
			help := flagsOf(sub)
			for _, a := range c.Args[1:] {
				name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
				if !strings.HasPrefix(a, "--") {
					t.Errorf("%s %s: argument %q, want --flag=value or a boolean --flag", o.Kind, o.Metadata.Name, a)
					continue
				}
				if !ok {
					value = "true"
				}
				if !strings.Contains(help, "  -"+name+" ") && !strings.Contains(help, "  -"+name+"\n") {
					t.Errorf("%s %s: troupe %s has no flag --%s", o.Kind, o.Metadata.Name, sub, name)
				}
				flags[name] = value
			}
			containers = append(containers, container{o, flags})
		}
	}

	intFlag := func(c container, name string) int {
		v, err := strconv.Atoi(c.flags[name])
		if err != nil {
			t.Fatalf("%s %s: --%s=%q, want an integer", c.obj.Kind, c.obj.Metadata.Name, name, c.flags[name])
		}
		return v
	}
	var coord *container
	replicas := map[string]int{}
	for i, c := range containers {
		switch {
		case c.obj.Kind == "Job":
			coord = &containers[i]
		case c.obj.Kind == "StatefulSet":
			if c.obj.Spec.Replicas == nil || c.obj.Spec.ServiceName == "" {
				t.Fatalf("StatefulSet %s: replicas and serviceName must be set", c.obj.Metadata.Name)
			}
			replicas[c.flags["role"]] += *c.obj.Spec.Replicas
		}
	}
	if coord == nil {
		t.Fatal("no coordinator Job")
	}
	if got, want := intFlag(*coord, "nodes"), replicas["worker"]+replicas["ps"]; got != want {
		t.Errorf("the coordinator waits for --nodes=%d, the StatefulSets run %d nodes", got, want)
	}
	if got := intFlag(*coord, "workers"); got != replicas["worker"] {
		t.Errorf("--workers=%d replicas for %d worker nodes", got, replicas["worker"])
	}
	if got := intFlag(*coord, "ps-shards"); got != replicas["ps"] {
		t.Errorf("--ps-shards=%d shards for %d ps nodes", got, replicas["ps"])
	}
	coordHost, coordPort, _ := strings.Cut(coord.flags["advertise"], ":")
	for _, c := range containers {
		if c.obj.Kind != "StatefulSet" {
			continue
		}
		if c.flags["join"] != coord.flags["advertise"] {
			t.Errorf("StatefulSet %s joins %q, the coordinator advertises %q", c.obj.Metadata.Name, c.flags["join"], coord.flags["advertise"])
		}
		if want := "." + c.obj.Spec.ServiceName + "."; !strings.Contains(c.flags["advertise"], want) {
			t.Errorf("StatefulSet %s advertises %q, not a name under its Service %s", c.obj.Metadata.Name, c.flags["advertise"], c.obj.Spec.ServiceName)
		}
	}
	found := false
	for _, o := range objs {
		if o.Kind == "Service" && strings.HasPrefix(coordHost, o.Metadata.Name+".") {
			found = len(o.Spec.Ports) == 1 && strconv.Itoa(o.Spec.Ports[0].Port) == coordPort
		}
	}
	if !found {
		t.Errorf("no Service with port %s for the coordinator's address %q", coordPort, coord.flags["advertise"])
	}
}
